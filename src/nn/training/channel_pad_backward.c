/* The backward pass of channel_pad (its forward pass: ../channel_pad.c). */
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_channel_pad_backward(et_layer *layer, et_net *net)
{
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    size_t part = et_tensor_sample_count(din), row = et_tensor_sample_count(&layer->dout);
    for (int n = 0; n < din->n; n++) {
        const float *dy = layer->dout.data + (size_t)n * row;
        float *dx = din->data + (size_t)n * part;
        for (size_t k = 0; k < part; k++)
            dx[k] += dy[k];
    }
    return ET_OK;
}
