/* The backward pass of global_avgpool (its forward pass: ../global_avgpool.c). */
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_global_avgpool_backward(et_layer *layer, et_net *net)
{
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return 0;
    size_t planes = (size_t)din->n * din->c, spatial = (size_t)din->h * din->w;
    for (size_t pl = 0; pl < planes; pl++) {
        float g = layer->dout.data[pl] / (float)spatial;
        float *dx = din->data + pl * spatial;
        for (size_t p = 0; p < spatial; p++)
            dx[p] += g;
    }
    return 0;
}
