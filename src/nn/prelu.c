/* PReLU: x for x > 0, a_c * x otherwise, with a learned slope per channel.
 * Param: slope [C], starting at 0.25 (as in He et al. and PyTorch). It is not
 * called "weight" because the net's initialiser would set that to 1 (or
 * He-normal), and it takes no weight decay, which would pull it towards ReLU. */
#include "emotrace/error.h"
#include "nn_internal.h"

#define PRELU_INITIAL_SLOPE 0.25f

static int prelu_setup(et_layer *layer, const et_json *config)
{
    (void)config;
    if (layer->input_count != 1)
        return et_error_set(ET_ERR_FORMAT, "layer '%s': prelu needs one input", layer->name);
    layer->out_shape = layer->in_shape[0];
    et_param *slope = et_layer_add_param(layer, "slope", layer->in_shape[0].c, 1, 1, 1, 1, 0);
    if (!slope)
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    for (int c = 0; c < layer->in_shape[0].c; c++)
        slope->value.data[c] = PRELU_INITIAL_SLOPE;
    return ET_OK;
}

static int prelu_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const et_tensor *in = et_layer_input(net, layer, 0);
    const float *slope = layer->params[0].value.data;
    size_t spatial = (size_t)in->h * in->w;
    for (int n = 0; n < in->n; n++)
        for (int c = 0; c < in->c; c++) {
            size_t off = ((size_t)n * in->c + c) * spatial;
            const float *x = in->data + off;
            float *y = layer->out.data + off;
            float a = slope[c];
            for (size_t p = 0; p < spatial; p++)
                y[p] = x[p] > 0.0f ? x[p] : a * x[p];
        }
    return ET_OK;
}

const et_layer_type et_layer_prelu = {"prelu", prelu_setup, prelu_forward, NULL};
