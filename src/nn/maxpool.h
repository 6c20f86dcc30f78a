/* The maxpool layer: what its forward pass (maxpool.c) and its backward pass
 * (training/maxpool_backward.c) share. Private to src/nn. */
#ifndef EMOTRACE_NN_MAXPOOL_H
#define EMOTRACE_NN_MAXPOOL_H

#include "nn_internal.h"

typedef struct {
    et_window win;
    int *argmax; /* input offset (within the plane) of each output's winner */
    size_t argmax_size;
} maxpool_state;

/* Below this many outputs a pass is not worth waking other threads. */
#define POOL_PARALLEL_MIN 8192

typedef struct {
    const maxpool_state *s;
    const et_tensor *in;
    et_tensor *out;
    int *argmax; /* NULL at inference */
    const float *dout;
    float *din;
    int assign;
} pool_job;

static inline int is_2x2(const et_window *w)
{
    return w->kh == 2 && w->kw == 2 && w->sh == 2 && w->sw == 2 && !w->pt && !w->pl && !w->pb && !w->pr;
}

#endif
