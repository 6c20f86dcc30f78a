/* The backward pass of prelu (its forward pass: ../prelu.c). */
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_prelu_backward(et_layer *layer, et_net *net)
{
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    const float *slope = layer->params[0].value.data;
    float *dslope = layer->params[0].grad.data;
    size_t spatial = (size_t)in->h * in->w;
    for (int n = 0; n < in->n; n++)
        for (int c = 0; c < in->c; c++) {
            size_t off = ((size_t)n * in->c + c) * spatial;
            const float *x = in->data + off, *dy = layer->dout.data + off;
            float a = slope[c], da = 0.0f;
            for (size_t p = 0; p < spatial; p++)
                if (x[p] <= 0.0f)
                    da += dy[p] * x[p];
            dslope[c] += da;
            if (!din)
                continue;
            float *dx = din->data + off;
            for (size_t p = 0; p < spatial; p++)
                dx[p] += x[p] > 0.0f ? dy[p] : a * dy[p];
        }
    return ET_OK;
}
