/* The backward pass of concat (its forward pass: ../concat.c). */
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_concat_backward(et_layer *layer, et_net *net)
{
    size_t row = et_tensor_sample_count(&layer->dout), at = 0;
    for (int i = 0; i < layer->input_count; i++) {
        et_tensor *din = et_layer_input_grad(net, layer, i);
        size_t part = (size_t)layer->in_shape[i].c * layer->in_shape[i].h * layer->in_shape[i].w;
        if (din)
            for (int n = 0; n < din->n; n++) {
                const float *dy = layer->dout.data + (size_t)n * row + at;
                float *dx = din->data + (size_t)n * part;
                for (size_t k = 0; k < part; k++)
                    dx[k] += dy[k];
            }
        at += part;
    }
    return ET_OK;
}
