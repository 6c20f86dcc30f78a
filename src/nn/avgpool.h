/* The avgpool layer: what its forward pass (avgpool.c) and its backward pass
 * (training/avgpool_backward.c) share. Private to src/nn. */
#ifndef EMOTRACE_NN_AVGPOOL_H
#define EMOTRACE_NN_AVGPOOL_H

#include "nn_internal.h"

typedef struct {
    et_window win;
} avgpool_state;

/* The input rows [y0, y1) and columns [x0, x1) under output (oy, ox). */
static inline int window_at(const et_window *w, int in_h, int in_w, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
    *y0 = oy * w->sh - w->pt;
    *x0 = ox * w->sw - w->pl;
    *y1 = *y0 + w->kh < in_h ? *y0 + w->kh : in_h;
    *x1 = *x0 + w->kw < in_w ? *x0 + w->kw : in_w;
    if (*y0 < 0)
        *y0 = 0;
    if (*x0 < 0)
        *x0 = 0;
    return *y1 > *y0 && *x1 > *x0 ? (*y1 - *y0) * (*x1 - *x0) : 0;
}

#endif
