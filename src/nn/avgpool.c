/* Average pooling. Settings: kernel, stride (default: kernel), pad (0 or
 * [t, l, b, r]). Padded positions are left out of the average (PyTorch's
 * count_include_pad=False), so border outputs are not pulled towards zero. */
#include <stdlib.h>

#include "avgpool.h"
#include "emotrace/error.h"
#include "nn_internal.h"

static int avgpool_setup(et_layer *layer, const et_json *config)
{
    avgpool_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    if (layer->input_count != 1)
        return et_error_set(ET_ERR_FORMAT, "layer '%s': avgpool needs one input", layer->name);
    layer->out_shape.c = layer->in_shape[0].c;
    return et_window_setup(layer, config, &s->win, 0);
}

static int avgpool_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const avgpool_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *out = &layer->out;
    size_t planes = (size_t)in->n * in->c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *x = in->data + pl * in->h * in->w;
        float *y = out->data + pl * out->h * out->w;
        for (int oy = 0; oy < out->h; oy++)
            for (int ox = 0; ox < out->w; ox++) {
                int y0, y1, x0, x1;
                int count = window_at(&s->win, in->h, in->w, oy, ox, &y0, &y1, &x0, &x1);
                float sum = 0.0f;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        sum += x[iy * in->w + ix];
                y[oy * out->w + ox] = count > 0 ? sum / (float)count : 0.0f;
            }
    }
    return ET_OK;
}

const et_layer_type et_layer_avgpool = {"avgpool", avgpool_setup, avgpool_forward, NULL};
