/* The batchnorm layer: what its forward pass (batchnorm.c)
 * and its backward pass (training/batchnorm_backward.c) share.
 * Private to src/nn. */
#ifndef EMOTRACE_NN_BATCHNORM_H
#define EMOTRACE_NN_BATCHNORM_H

#include <string.h>

#include "nn_internal.h"

typedef struct {
    float eps, momentum;
    float *mean, *invstd; /* statistics used by the last forward pass */
    int trained;          /* the last forward pass used batch statistics */
} batchnorm_state;

/* Below this many values a pass is not worth waking other threads. */
#define BN_PARALLEL_MIN 32768
/* Partial sums in 4 x 4 float lanes (GCC/Clang vector extension, one SSE
 * register each): fixed lanes, so the result does not depend on the
 * instruction set the compiler picks. */
typedef float v4 __attribute__((vector_size(16)));

static inline v4 load4(const float *p)
{
    v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline v4 splat4(float x)
{
    v4 v = {x, x, x, x};
    return v;
}

typedef int v4i __attribute__((vector_size(16)));

static inline void store4(float *p, v4 v)
{
    memcpy(p, &v, sizeof v);
}

static inline float hsum(v4 a, v4 b, v4 c, v4 d)
{
    v4 v = (a + b) + (c + d);
    return (v[0] + v[2]) + (v[1] + v[3]);
}

typedef struct {
    batchnorm_state *s;
    et_layer *layer;
    const et_tensor *in;
    float *din;
    int train, assign;
    /* Fused ReLU: forward writes max(0, y); backward takes the gradient
     * (dy) and output (z) of the ReLU instead of its own dout. */
    int relu;
    const float *dy, *z;
} bn_job;

/* Channels are split between threads: every channel's statistics come from
 * one thread, in image order, whatever the thread count. */
/* Channels per block: the stats pass and the apply pass of a block run
 * back to back, its values (about 256 KB) still in cache; small maps take
 * several channels at once, so that the rows read are not just a few
 * floats each. Every channel's sums still go over the images in order. */
#define BN_BLOCK_MAX 16

static inline int channel_block(const et_tensor *in)
{
    size_t per_channel = (size_t)in->n * in->h * in->w;
    size_t cb = per_channel ? (64 * 1024) / per_channel : BN_BLOCK_MAX;
    return cb < 1 ? 1 : cb > BN_BLOCK_MAX ? BN_BLOCK_MAX : (int)cb;
}

/* The ReLU that alone reads this layer's output, if any: the two then make
 * one pass over the data each way instead of two. */
et_layer *et_batchnorm_relu_reader(et_net *net, et_layer *layer);

#endif
