/* The depthwise_conv2d layer: what its forward pass (depthwise_conv2d.c)
 * and its backward pass (training/depthwise_conv2d_backward.c) share.
 * Private to src/nn. */
#ifndef EMOTRACE_NN_DEPTHWISE_CONV2D_H
#define EMOTRACE_NN_DEPTHWISE_CONV2D_H

#include "nn_internal.h"

typedef struct {
    et_window win;
    int multiplier, has_bias;
} depthwise_state;

/* Geometry of the padded, phase-split plane: phases planes of rows x cols. */
typedef struct {
    int rows, cols, phases;
} phased_plane;

/* Work shared by the threads of one pass: each takes a contiguous share of
 * the planes, with its own scratch plane(s) at scratch + t * scratch_size. */
typedef struct {
    const depthwise_state *s;
    const et_tensor *in, *dout;
    et_tensor *out, *din;
    const float *weight, *bias;
    float *dweight, *dbias;
    phased_plane g;
    float *scratch;
    size_t scratch_size;
} depthwise_job;

/* Enough output values per pass to be worth waking the other threads. */
#define PARALLEL_MIN 32768

#endif
