/* Which backward pass goes with which layer type: the types themselves
 * (src/nn) know only their forward pass, so run-time code never refers to
 * training code. */
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

static const struct {
    const et_layer_type *type;
    int (*backward)(et_layer *layer, et_net *net);
} backward_of[] = {
    {&et_layer_conv2d, et_conv2d_backward},
    {&et_layer_batchnorm, et_batchnorm_backward},
    {&et_layer_relu, et_relu_backward},
    {&et_layer_maxpool, et_maxpool_backward},
    {&et_layer_global_avgpool, et_global_avgpool_backward},
    {&et_layer_dense, et_dense_backward},
    {&et_layer_dropout, et_dropout_backward},
    {&et_layer_softmax, et_softmax_backward},
    {&et_layer_depthwise_conv2d, et_depthwise_conv2d_backward},
    {&et_layer_upsample_bilinear, et_upsample_bilinear_backward},
    {&et_layer_depth_to_space, et_depth_to_space_backward},
    {&et_layer_leaky_relu, et_leaky_relu_backward},
    {&et_layer_prelu, et_prelu_backward},
    {&et_layer_avgpool, et_avgpool_backward},
    {&et_layer_add, et_add_backward},
    {&et_layer_concat, et_concat_backward},
    {&et_layer_channel_pad, et_channel_pad_backward},
    {&et_layer_lstm, et_lstm_backward},
    {&et_layer_zero_pad, et_zero_pad_backward},
};

int et_layer_backward(et_layer *layer, et_net *net)
{
    for (size_t i = 0; i < sizeof backward_of / sizeof backward_of[0]; i++)
        if (backward_of[i].type == layer->type)
            return backward_of[i].backward(layer, net);
    return et_error_set(ET_ERR_USAGE, "layer '%s': type '%s' has no backward pass", layer->name, layer->type->name);
}
