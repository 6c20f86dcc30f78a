/* Element-wise sum of two or more inputs of the same shape (residual
 * connections). */
#include <string.h>

#include "emotrace/error.h"
#include "nn_internal.h"

static int add_setup(et_layer *layer, const et_json *config)
{
    (void)config;
    if (layer->input_count < 2 || !et_layer_inputs_same_shape(layer))
        return et_error_set(ET_ERR_FORMAT, "layer '%s': add needs two or more inputs of the same shape",
                            layer->name);
    layer->out_shape = layer->in_shape[0];
    return ET_OK;
}

/* Inference may fold a following ReLU in (et_net_fold_batchnorm sets
 * fused_relu); training never does. */
static int add_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    float *restrict y = layer->out.data;
    size_t count = et_tensor_count(&layer->out);
    const float *restrict a = et_layer_input(net, layer, 0)->data, *restrict b = et_layer_input(net, layer, 1)->data;
    for (size_t k = 0; k < count; k++)
        y[k] = a[k] + b[k];
    for (int i = 2; i < layer->input_count; i++) {
        const float *restrict x = et_layer_input(net, layer, i)->data;
        for (size_t k = 0; k < count; k++)
            y[k] += x[k];
    }
    if (layer->fused_relu)
        for (size_t k = 0; k < count; k++)
            y[k] = y[k] > 0.0f ? y[k] : 0.0f;
    return ET_OK;
}

const et_layer_type et_layer_add = {"add", add_setup, add_forward, NULL};
