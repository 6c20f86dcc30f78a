/* Zero channels appended up to "out" channels, so that a residual shortcut
 * can be added to a wider branch (BlazeFace). Settings: out (>= input channels). */
#include <string.h>

#include "emotrace/error.h"
#include "nn_internal.h"

static int channel_pad_setup(et_layer *layer, const et_json *config)
{
    double out = et_json_get_number(config, "out", 0);
    et_shape in = layer->in_shape[0];
    if (layer->input_count != 1 || !(out >= in.c && out <= 1 << 20))
        return et_error_set(ET_ERR_FORMAT, "layer '%s': channel_pad needs one input and \"out\" >= its %d channels",
                            layer->name, in.c);
    layer->out_shape = (et_shape){(int)out, in.h, in.w};
    return ET_OK;
}

static int channel_pad_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const et_tensor *in = et_layer_input(net, layer, 0);
    size_t part = et_tensor_sample_count(in), row = et_tensor_sample_count(&layer->out);
    for (int n = 0; n < in->n; n++) {
        float *y = layer->out.data + (size_t)n * row;
        memcpy(y, in->data + (size_t)n * part, part * sizeof(float));
        memset(y + part, 0, (row - part) * sizeof(float));
    }
    return ET_OK;
}

const et_layer_type et_layer_channel_pad = {"channel_pad", channel_pad_setup, channel_pad_forward, NULL};
