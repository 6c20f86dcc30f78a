/* The backward pass of dropout (its forward pass: ../dropout.c). */
#include <string.h>

#include "../dropout.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_dropout_backward(et_layer *layer, et_net *net)
{
    dropout_state *s = layer->state;
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    size_t count = et_tensor_count(&layer->dout);
    const float *dy = layer->dout.data;
    float *dx = din->data;
    if (et_layer_input_grad_assign(net, layer, 0)) {
        if (s->masked)
            for (size_t i = 0; i < count; i++)
                dx[i] = dy[i] * s->mask[i];
        else
            memcpy(dx, dy, count * sizeof(float));
    } else if (s->masked) {
        for (size_t i = 0; i < count; i++)
            dx[i] += dy[i] * s->mask[i];
    } else {
        for (size_t i = 0; i < count; i++)
            dx[i] += dy[i];
    }
    return ET_OK;
}
