/* The upsample_bilinear layer: what its forward pass (upsample_bilinear.c)
 * and its backward pass (training/upsample_bilinear_backward.c) share.
 * Private to src/nn. */
#ifndef EMOTRACE_NN_UPSAMPLE_BILINEAR_H
#define EMOTRACE_NN_UPSAMPLE_BILINEAR_H

#include "nn_internal.h"

/* For each output row or column: the two source indices and the weight of
 * the second, fixed by the sizes (so computed once in setup). */
typedef struct {
    int lo, hi;
    float t;
} lerp_tap;

typedef struct {
    int scale;
    lerp_tap *rows, *cols;
} upsample_state;

#endif
