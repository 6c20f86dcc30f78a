/* The zero_pad layer: what its forward pass (zero_pad.c) and its backward pass
 * (training/zero_pad_backward.c) share. Private to src/nn. */
#ifndef EMOTRACE_NN_ZERO_PAD_H
#define EMOTRACE_NN_ZERO_PAD_H

#include "nn_internal.h"

typedef struct {
    int top, left, bottom, right;
} zero_pad_state;

#endif
