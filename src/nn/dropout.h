/* The dropout layer: what its forward pass (dropout.c) and its backward pass
 * (training/dropout_backward.c) share. Private to src/nn. */
#ifndef EMOTRACE_NN_DROPOUT_H
#define EMOTRACE_NN_DROPOUT_H

#include "nn_internal.h"

typedef struct {
    float rate;
    float *mask; /* 0 or 1/(1-rate) per value of the last training pass */
    size_t mask_size;
    int masked;  /* the last forward pass applied the mask */
} dropout_state;

#endif
