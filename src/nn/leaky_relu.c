/* Leaky ReLU: x for x > 0, slope * x otherwise. Settings: slope (0.01). */
#include <math.h>
#include <stdlib.h>

#include "emotrace/error.h"
#include "leaky_relu.h"
#include "nn_internal.h"

static int leaky_relu_setup(et_layer *layer, const et_json *config)
{
    leaky_relu_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    double slope = et_json_get_number(config, "slope", 0.01);
    if (layer->input_count != 1 || !isfinite(slope))
        return et_error_set(ET_ERR_FORMAT, "layer '%s': leaky_relu needs one input and a finite \"slope\"",
                            layer->name);
    s->slope = (float)slope;
    layer->out_shape = layer->in_shape[0];
    return ET_OK;
}

static int leaky_relu_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const leaky_relu_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    size_t count = et_tensor_count(in);
    const float *x = in->data;
    float *y = layer->out.data;
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0.0f ? x[i] : s->slope * x[i];
    return ET_OK;
}

const et_layer_type et_layer_leaky_relu = {"leaky_relu", leaky_relu_setup, leaky_relu_forward, NULL};
