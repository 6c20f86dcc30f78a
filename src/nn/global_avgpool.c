/* Global average pooling: [C, H, W] -> [C, 1, 1]. */
#include "nn_internal.h"

static int global_avgpool_setup(et_layer *layer, const et_json *config)
{
    (void)config;
    layer->out_shape = (et_shape){layer->in_shape[0].c, 1, 1};
    return 0;
}

static int global_avgpool_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const et_tensor *in = et_layer_input(net, layer, 0);
    size_t planes = (size_t)in->n * in->c, spatial = (size_t)in->h * in->w;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *x = in->data + pl * spatial;
        float sum = 0.0f;
        for (size_t p = 0; p < spatial; p++)
            sum += x[p];
        layer->out.data[pl] = sum / (float)spatial;
    }
    return 0;
}

const et_layer_type et_layer_global_avgpool = {"global_avgpool", global_avgpool_setup, global_avgpool_forward, NULL};
