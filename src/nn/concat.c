/* Concatenation of the inputs along channels; all must share h and w. */
#include <string.h>

#include "emotrace/error.h"
#include "nn_internal.h"

static int concat_setup(et_layer *layer, const et_json *config)
{
    (void)config;
    et_shape out = layer->in_shape[0];
    for (int i = 1; i < layer->input_count; i++) {
        et_shape in = layer->in_shape[i];
        if (in.h != out.h || in.w != out.w)
            return et_error_set(ET_ERR_FORMAT, "layer '%s': concat input %d is %dx%d, input 0 is %dx%d",
                                layer->name, i, in.h, in.w, out.h, out.w);
        out.c += in.c;
    }
    layer->out_shape = out;
    return ET_OK;
}

/* Each output row is the inputs' rows one after another (NCHW keeps each
 * sample's channels contiguous). */
static int concat_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    size_t row = et_tensor_sample_count(&layer->out), at = 0;
    for (int i = 0; i < layer->input_count; i++) {
        const et_tensor *in = et_layer_input(net, layer, i);
        size_t part = et_tensor_sample_count(in);
        for (int n = 0; n < in->n; n++)
            memcpy(layer->out.data + (size_t)n * row + at, in->data + (size_t)n * part, part * sizeof(float));
        at += part;
    }
    return ET_OK;
}

const et_layer_type et_layer_concat = {"concat", concat_setup, concat_forward, NULL};
