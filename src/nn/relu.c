/* ReLU: max(0, x). */
#include "emotrace/nn.h"

static int relu_setup(et_layer *layer, const et_json *config)
{
    (void)config;
    layer->out_shape = layer->in_shape[0];
    return 0;
}

static int relu_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const et_tensor *in = et_layer_input(net, layer, 0);
    size_t count = et_tensor_count(in);
    const float *x = in->data;
    float *y = layer->out.data;
    /* Branch-free so it vectorises: signs of activations are unpredictable. */
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return 0;
}

static int relu_backward(et_layer *layer, et_net *net)
{
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return 0;
    size_t count = et_tensor_count(&layer->out);
    const float *y = layer->out.data, *dy = layer->dout.data;
    float *dx = din->data;
    for (size_t i = 0; i < count; i++)
        dx[i] += dy[i] * (float)(y[i] > 0.0f);
    return 0;
}

const et_layer_type et_layer_relu = {"relu", relu_setup, relu_forward, relu_backward, NULL};
