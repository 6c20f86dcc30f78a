/* The backward pass of add (its forward pass: ../add.c). */
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_add_backward(et_layer *layer, et_net *net)
{
    size_t count = et_tensor_count(&layer->dout);
    const float *dy = layer->dout.data;
    for (int i = 0; i < layer->input_count; i++) {
        et_tensor *din = et_layer_input_grad(net, layer, i);
        if (!din)
            continue;
        for (size_t k = 0; k < count; k++)
            din->data[k] += dy[k];
    }
    return ET_OK;
}
