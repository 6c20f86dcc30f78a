/* The backward pass of zero_pad (its forward pass: ../zero_pad.c). */
#include "../nn_internal.h"
#include "../zero_pad.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_zero_pad_backward(et_layer *layer, et_net *net)
{
    const zero_pad_state *s = layer->state;
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    const et_tensor *dout = &layer->dout;
    size_t planes = (size_t)din->n * din->c;
    for (size_t pl = 0; pl < planes; pl++)
        for (int y = 0; y < din->h; y++) {
            const float *dy = dout->data + (pl * dout->h + y + s->top) * dout->w + s->left;
            float *dx = din->data + (pl * din->h + y) * din->w;
            for (int x = 0; x < din->w; x++)
                dx[x] += dy[x];
        }
    return ET_OK;
}
