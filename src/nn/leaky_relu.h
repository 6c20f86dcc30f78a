/* The leaky_relu layer: what its forward pass (leaky_relu.c)
 * and its backward pass (training/leaky_relu_backward.c) share.
 * Private to src/nn. */
#ifndef EMOTRACE_NN_LEAKY_RELU_H
#define EMOTRACE_NN_LEAKY_RELU_H

#include "nn_internal.h"

typedef struct {
    float slope;
} leaky_relu_state;

#endif
