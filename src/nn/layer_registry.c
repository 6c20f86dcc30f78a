/* The table of layer types the architecture loader knows. */
#include <string.h>

#include "nn_internal.h"

static const et_layer_type *const layer_types[] = {
    &et_layer_conv2d,
    &et_layer_batchnorm,
    &et_layer_relu,
    &et_layer_maxpool,
    &et_layer_global_avgpool,
    &et_layer_dense,
    &et_layer_dropout,
    &et_layer_softmax,
    &et_layer_depthwise_conv2d,
    &et_layer_upsample_bilinear,
    &et_layer_depth_to_space,
    &et_layer_leaky_relu,
    &et_layer_prelu,
    &et_layer_avgpool,
    &et_layer_add,
    &et_layer_concat,
    &et_layer_channel_pad,
    &et_layer_lstm,
    &et_layer_zero_pad,
};

const et_layer_type *et_layer_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof layer_types / sizeof layer_types[0]; i++)
        if (!strcmp(layer_types[i]->name, name))
            return layer_types[i];
    return NULL;
}
