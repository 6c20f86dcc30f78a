/* The backward pass of leaky_relu (its forward pass: ../leaky_relu.c). */
#include "../leaky_relu.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

/* Decides on the input's sign, not the output's: a negative slope would
 * make the output's sign lie. */
int et_leaky_relu_backward(et_layer *layer, et_net *net)
{
    const leaky_relu_state *s = layer->state;
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    const et_tensor *in = et_layer_input(net, layer, 0);
    size_t count = et_tensor_count(in);
    const float *x = in->data, *dy = layer->dout.data;
    float *dx = din->data;
    for (size_t i = 0; i < count; i++)
        dx[i] += x[i] > 0.0f ? dy[i] : s->slope * dy[i];
    return ET_OK;
}
