/* The relu layer: what its forward pass (relu.c) and its backward pass
 * (training/relu_backward.c) share. Private to src/nn. */
#ifndef EMOTRACE_NN_RELU_H
#define EMOTRACE_NN_RELU_H

#include <string.h>

#include "nn_internal.h"

/* Below this many values a pass is not worth waking other threads. */
#define RELU_PARALLEL_MIN 32768

typedef struct {
    const float *x, *y, *dy;
    float *out;
    size_t count;
    int assign;
} relu_job;

/* The batch norm this ReLU reads, when it applies the ReLU itself (see
 * et_layer.fused_relu). */
static inline et_layer *fused_source(et_net *net, et_layer *layer)
{
    int src = layer->inputs[0];
    if (src < 0 || !net->layers[src].fused_relu || net->layers[src].identity ||
        strcmp(net->layers[src].type->name, "batchnorm"))
        return NULL;
    return &net->layers[src];
}

#endif
