/* Max pooling. Settings: kernel, stride (default: kernel), pad (0 or
 * [t, l, b, r]; padded positions never win). */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "maxpool.h"
#include "nn_internal.h"

static int maxpool_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    maxpool_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    layer->out_shape.c = layer->in_shape[0].c;
    return et_window_setup(layer, config, &s->win, 0);
}

static void maxpool_destroy(et_layer *layer)
{
    maxpool_state *s = layer->state;
    if (s)
        free(s->argmax);
}

/* 2x2 windows, stride 2: the first of equal values wins, as in the general loop. */
static void forward_plane_2x2(const float *x, int w, float *y, int *arg, int oh, int ow)
{
    for (int oy = 0; oy < oh; oy++) {
        const float *r0 = x + (size_t)2 * oy * w, *r1 = r0 + w;
        float *yr = y + (size_t)oy * ow;
        int base = 2 * oy * w;
        if (arg) {
            int *ar = arg + (size_t)oy * ow;
            /* Which value wins is unpredictable: the winner's index is
             * built with arithmetic on the comparisons (0 or 1), which
             * compilers keep free of branches. */
            for (int ox = 0; ox < ow; ox++) {
                float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
                int gb = b > a;
                float m = b > a ? b : a;
                int gc = c > m;
                m = c > m ? c : m;
                int gd = d > m;
                m = d > m ? d : m;
                int k = gb;
                k += gc * (2 - k);
                k += gd * (3 - k);
                yr[ox] = m;
                ar[ox] = base + 2 * ox + (k & 1) + (k >> 1) * w;
            }
        } else {
            for (int ox = 0; ox < ow; ox++) {
                float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
                float m = b > a ? b : a;
                m = c > m ? c : m;
                yr[ox] = d > m ? d : m;
            }
        }
    }
}

static void forward_plane(const et_window *w, const float *x, int ih, int iw, float *y, int *arg, int oh, int ow)
{
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            float best = -FLT_MAX;
            int best_at = -1;
            for (int ky = 0; ky < w->kh; ky++) {
                int iy = oy * w->sh - w->pt + ky;
                if (iy < 0 || iy >= ih)
                    continue;
                for (int kx = 0; kx < w->kw; kx++) {
                    int ix = ox * w->sw - w->pl + kx;
                    if (ix < 0 || ix >= iw)
                        continue;
                    float v = x[iy * iw + ix];
                    if (best_at < 0 || v > best) {
                        best = v;
                        best_at = iy * iw + ix;
                    }
                }
            }
            y[oy * ow + ox] = best_at < 0 ? 0.0f : best;
            if (arg)
                arg[oy * ow + ox] = best_at;
        }
}

static void forward_part(void *ctx, int t, int threads)
{
    const pool_job *j = ctx;
    const et_tensor *in = j->in;
    et_tensor *out = j->out;
    size_t per_in = (size_t)in->h * in->w, per_out = (size_t)out->h * out->w;
    size_t begin, end;
    et_parallel_range((size_t)in->n * in->c, t, threads, &begin, &end);
    int fast = is_2x2(&j->s->win);
    for (size_t pl = begin; pl < end; pl++) {
        const float *x = in->data + pl * per_in;
        float *y = out->data + pl * per_out;
        int *arg = j->argmax ? j->argmax + pl * per_out : NULL;
        if (fast)
            forward_plane_2x2(x, in->w, y, arg, out->h, out->w);
        else
            forward_plane(&j->s->win, x, in->h, in->w, y, arg, out->h, out->w);
    }
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
    pool_job j = {s, in, out, train ? s->argmax : NULL, NULL, NULL, 0};
    et_parallel_run(count >= POOL_PARALLEL_MIN ? 0 : 1, forward_part, &j);
    return ET_OK;
}

const et_layer_type et_layer_maxpool = {"maxpool", maxpool_setup, maxpool_forward, maxpool_destroy};
