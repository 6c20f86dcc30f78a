/* Max pooling. Settings: kernel, stride (default: kernel), pad (0 or
 * [t, l, b, r]; padded positions never win). */
#include <float.h>
#include <stdlib.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"

typedef struct {
    et_window win;
    int *argmax; /* input offset (within the plane) of each output's winner */
    size_t argmax_size;
} maxpool_state;

static int maxpool_setup(et_layer *layer, const et_json *config)
{
    maxpool_state *s = calloc(1, sizeof *s);
    if (!s)
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    layer->state = s;
    int rc = et_window_from_config(&s->win, config, layer->name, 0);
    if (rc != ET_OK)
        return rc;
    et_shape in = layer->in_shape[0];
    layer->out_shape.c = in.c;
    layer->out_shape.h = et_window_out(in.h, s->win.kh, s->win.sh, s->win.pt, s->win.pb);
    layer->out_shape.w = et_window_out(in.w, s->win.kw, s->win.sw, s->win.pl, s->win.pr);
    return ET_OK;
}

static void maxpool_destroy(et_layer *layer)
{
    maxpool_state *s = layer->state;
    if (s)
        free(s->argmax);
}

static int maxpool_forward(et_layer *layer, et_net *net, int train)
{
    maxpool_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *out = &layer->out;
    size_t count = et_tensor_count(out);
    if (train && count > s->argmax_size) {
        free(s->argmax);
        s->argmax = malloc(count * sizeof(int));
        s->argmax_size = s->argmax ? count : 0;
        if (!s->argmax)
            return et_error_set(ET_ERR_NOMEM, "out of memory");
    }
    const et_window *w = &s->win;
    size_t planes = (size_t)in->n * in->c;
    for (size_t pl = 0; pl < planes; pl++) {
        const float *x = in->data + pl * in->h * in->w;
        float *y = out->data + pl * out->h * out->w;
        int *arg = train ? s->argmax + pl * out->h * out->w : NULL;
        for (int oy = 0; oy < out->h; oy++)
            for (int ox = 0; ox < out->w; ox++) {
                float best = -FLT_MAX;
                int best_at = -1;
                for (int ky = 0; ky < w->kh; ky++) {
                    int iy = oy * w->sh - w->pt + ky;
                    if (iy < 0 || iy >= in->h)
                        continue;
                    for (int kx = 0; kx < w->kw; kx++) {
                        int ix = ox * w->sw - w->pl + kx;
                        if (ix < 0 || ix >= in->w)
                            continue;
                        float v = x[iy * in->w + ix];
                        if (best_at < 0 || v > best) {
                            best = v;
                            best_at = iy * in->w + ix;
                        }
                    }
                }
                y[oy * out->w + ox] = best_at < 0 ? 0.0f : best;
                if (arg)
                    arg[oy * out->w + ox] = best_at;
            }
    }
    return ET_OK;
}

static int maxpool_backward(et_layer *layer, et_net *net)
{
    maxpool_state *s = layer->state;
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    const et_tensor *dout = &layer->dout;
    size_t planes = (size_t)dout->n * dout->c, per_out = (size_t)dout->h * dout->w;
    size_t per_in = (size_t)din->h * din->w;
    for (size_t pl = 0; pl < planes; pl++)
        for (size_t i = 0; i < per_out; i++) {
            int at = s->argmax[pl * per_out + i];
            if (at >= 0)
                din->data[pl * per_in + (size_t)at] += dout->data[pl * per_out + i];
        }
    return ET_OK;
}

const et_layer_type et_layer_maxpool = {"maxpool", maxpool_setup, maxpool_forward, maxpool_backward,
                                        maxpool_destroy};
