/* The backward pass of softmax (its forward pass: ../softmax.c). */
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

/* dx_c = y_c (dy_c - sum_k y_k dy_k) */
int et_softmax_backward(et_layer *layer, et_net *net)
{
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return 0;
    const et_tensor *y = &layer->out;
    size_t spatial = (size_t)y->h * y->w;
    for (int n = 0; n < y->n; n++)
        for (size_t p = 0; p < spatial; p++) {
            size_t base = (size_t)n * y->c * spatial + p;
            float dot = 0.0f;
            for (int c = 0; c < y->c; c++)
                dot += y->data[base + c * spatial] * layer->dout.data[base + c * spatial];
            for (int c = 0; c < y->c; c++)
                din->data[base + c * spatial] +=
                    y->data[base + c * spatial] * (layer->dout.data[base + c * spatial] - dot);
        }
    return 0;
}
