/* Zero rows and columns around each plane. face-api's dlib ResNet appends a
 * zero row and column to a strided branch that comes out one pixel smaller
 * than its pooled shortcut. Settings: pad (n or [top, left, bottom, right]). */
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "nn_internal.h"
#include "zero_pad.h"

static int zero_pad_setup(et_layer *layer, const et_json *config)
{
    zero_pad_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    int pad[4];
    int rc = et_config_ints(config, "pad", pad, 4, -1);
    if (rc != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer->name);
    if (layer->input_count != 1 || pad[0] < 0 || pad[1] < 0 || pad[2] < 0 || pad[3] < 0 || pad[0] > ET_MAX_SIDE ||
        pad[1] > ET_MAX_SIDE || pad[2] > ET_MAX_SIDE || pad[3] > ET_MAX_SIDE)
        return et_error_set(ET_ERR_FORMAT, "layer '%s': zero_pad needs one input and \"pad\" >= 0", layer->name);
    *s = (zero_pad_state){pad[0], pad[1], pad[2], pad[3]};
    et_shape in = layer->in_shape[0];
    layer->out_shape = (et_shape){in.c, in.h + pad[0] + pad[2], in.w + pad[1] + pad[3]};
    return ET_OK;
}

static int zero_pad_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const zero_pad_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *out = &layer->out;
    memset(out->data, 0, et_tensor_count(out) * sizeof(float));
    size_t planes = (size_t)in->n * in->c;
    for (size_t pl = 0; pl < planes; pl++)
        for (int y = 0; y < in->h; y++)
            memcpy(out->data + (pl * out->h + y + s->top) * out->w + s->left, in->data + (pl * in->h + y) * in->w,
                   (size_t)in->w * sizeof(float));
    return ET_OK;
}

const et_layer_type et_layer_zero_pad = {"zero_pad", zero_pad_setup, zero_pad_forward, NULL};
