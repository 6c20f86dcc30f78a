/* upsample_bilinear: enlarges each plane by an integer factor with bilinear
 * interpolation on half-pixel centres (TensorFlow's resize_bilinear with
 * half_pixel_centers=true, PyTorch's align_corners=false): output pixel o
 * samples input coordinate (o + 0.5) / scale - 0.5, clamped to the plane.
 * Settings: scale (2). No params. */
#include <math.h>
#include <stdlib.h>

#include "emotrace/error.h"
#include "nn_internal.h"
#include "upsample_bilinear.h"

static lerp_tap *taps_make(int in, int scale)
{
    int out = in * scale;
    lerp_tap *taps = malloc((size_t)out * sizeof *taps);
    if (!taps)
        return NULL;
    for (int o = 0; o < out; o++) {
        float src = ((float)o + 0.5f) / (float)scale - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        if (src > (float)(in - 1))
            src = (float)(in - 1);
        int lo = (int)floorf(src);
        taps[o].lo = lo;
        taps[o].hi = lo + 1 < in ? lo + 1 : lo;
        taps[o].t = src - (float)lo;
    }
    return taps;
}

static int upsample_setup(et_layer *layer, const et_json *config)
{
    upsample_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    int rc = et_config_int(config, "scale", 2, 1, 64, &s->scale);
    if (rc != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer->name);
    et_shape in = layer->in_shape[0];
    if (layer->input_count != 1 || s->scale < 1 || s->scale > 64)
        return et_error_set(ET_ERR_FORMAT, "layer '%s': upsample_bilinear needs one input and \"scale\" 1..64",
                            layer->name);
    layer->out_shape = (et_shape){in.c, in.h * s->scale, in.w * s->scale};
    s->rows = taps_make(in.h, s->scale);
    s->cols = taps_make(in.w, s->scale);
    if (!s->rows || !s->cols)
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    return ET_OK;
}

static void upsample_destroy(et_layer *layer)
{
    upsample_state *s = layer->state;
    if (s) {
        free(s->rows);
        free(s->cols);
    }
}

static int upsample_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    upsample_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *out = &layer->out;
    size_t planes = (size_t)in->n * in->c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *x = in->data + pl * in->h * in->w;
        float *y = out->data + pl * out->h * out->w;
        for (int oy = 0; oy < out->h; oy++) {
            lerp_tap r = s->rows[oy];
            const float *top = x + (size_t)r.lo * in->w, *bottom = x + (size_t)r.hi * in->w;
            float *dst = y + (size_t)oy * out->w;
            for (int ox = 0; ox < out->w; ox++) {
                lerp_tap c = s->cols[ox];
                float upper = top[c.lo] + c.t * (top[c.hi] - top[c.lo]);
                float lower = bottom[c.lo] + c.t * (bottom[c.hi] - bottom[c.lo]);
                dst[ox] = upper + r.t * (lower - upper);
            }
        }
    }
    return ET_OK;
}

const et_layer_type et_layer_upsample_bilinear = {"upsample_bilinear", upsample_setup, upsample_forward,
                                                  upsample_destroy};
