/* depthwise_conv2d: each input channel convolved with its own kernels
 * (MobileNet/BlazeFace style), direct loops.
 * Settings: kernel, stride (1), pad (0 or [t, l, b, r]), multiplier (1),
 * bias (true). Output channel o reads input channel o / multiplier.
 * Params: weight [C * multiplier, 1, kh, kw], bias [C * multiplier].
 *
 * Forward reads each input plane in place (see plane_forward); the backward
 * pass is in training/depthwise_conv2d_backward.c. Planes are spread over
 * the engine's threads. */
#include <stdlib.h>
#include <string.h>

#include "depthwise_conv2d.h"
#include "emotrace/cpu_dispatch.h"
#include "emotrace/error.h"
#include "nn_internal.h"

static int depthwise_setup(et_layer *layer, const et_json *config)
{
    depthwise_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    int rc = et_window_setup(layer, config, &s->win, 1);
    if (rc != ET_OK)
        return rc;
    if ((rc = et_config_int(config, "multiplier", 1, 1, ET_MAX_SIDE, &s->multiplier)) != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer->name);
    s->has_bias = et_json_get_bool(config, "bias", 1);
    et_shape in = layer->in_shape[0];
    if (layer->input_count != 1 || s->multiplier < 1)
        return et_error_set(ET_ERR_FORMAT, "layer '%s': depthwise_conv2d needs one input and \"multiplier\" >= 1",
                            layer->name);
    int out = in.c * s->multiplier;
    layer->out_shape.c = out;
    if (!et_layer_add_param(layer, "weight", out, 1, s->win.kh, s->win.kw, 1, 1))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    if (s->has_bias && !et_layer_add_param(layer, "bias", out, 1, 1, 1, 1, 0))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    return ET_OK;
}

/* Outputs o in [*first, *last) whose tap k reads inside the input:
 * 0 <= o * stride + k - pad < in. */
static void tap_range(int k, int pad, int stride, int in, int out, int *first, int *last)
{
    int lo = pad - k, hi = in - 1 + pad - k;
    *first = lo <= 0 ? 0 : (lo + stride - 1) / stride;
    *last = hi < 0 ? 0 : hi / stride + 1;
    *last = *last < out ? *last : out;
    *first = *first < *last ? *first : *last;
}

/* Any kernel: the bias, then one pass per tap over the outputs that tap
 * reads inside the input (padding reads zeros, so it adds nothing); each
 * pass runs over contiguous output rows, which the compiler vectorises. */
static void plane_forward(const float *restrict x, int h, int w, const et_window *win, const float *restrict kernel,
                          float bias, float *restrict y, int oh, int ow)
{
    for (size_t i = 0; i < (size_t)oh * ow; i++)
        y[i] = bias;
    for (int ky = 0; ky < win->kh; ky++) {
        int oy0, oy1;
        tap_range(ky, win->pt, win->sh, h, oh, &oy0, &oy1);
        for (int kx = 0; kx < win->kw; kx++) {
            int ox0, ox1;
            tap_range(kx, win->pl, win->sw, w, ow, &ox0, &ox1);
            float k = kernel[ky * win->kw + kx];
            for (int oy = oy0; oy < oy1; oy++) {
                const float *src = x + (size_t)(oy * win->sh + ky - win->pt) * w + kx - win->pl;
                float *dst = y + (size_t)oy * ow;
                for (int ox = ox0; ox < ox1; ox++)
                    dst[ox] += k * src[ox * win->sw];
            }
        }
    }
}

/* Output ox of a 3x3 kernel over rows r[0..2] (NULL: padding), tap by tap,
 * skipping columns in the padding. */
static ET_VECTOR_INLINE float edge_output3(const float *const *r, const float *k, int w, int col, float bias)
{
    float acc = bias;
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
            if (r[ky] && col + kx >= 0 && col + kx < w)
                acc += k[3 * ky + kx] * r[ky][col + kx];
    return acc;
}

/* Outputs [first, last) of a 3x3 kernel row, all nine taps inside the
 * input (rows of padding point at zeros); stride is a parameter so that
 * each caller's constant specialises the loop for the vectoriser. */
static ET_VECTOR_INLINE void inner_outputs3(const float *restrict a, const float *restrict b, const float *restrict c,
                                            const float *restrict k, int first, int last, int pl, int stride,
                                            float bias, float *restrict dst)
{
    for (int ox = first; ox < last; ox++) {
        int col = ox * stride - pl;
        dst[ox] = bias + (k[0] * a[col] + k[1] * a[col + 1] + k[2] * a[col + 2]) +
                  (k[3] * b[col] + k[4] * b[col + 1] + k[5] * b[col + 2]) +
                  (k[6] * c[col] + k[7] * c[col + 1] + k[8] * c[col + 2]);
    }
}

/* Stride 1 outputs [ox, ox + 8) and [ox, ox + 4) as explicit vectors:
 * the sums of inner_outputs3 in the same order, so the same bits. */
typedef float et_v4 __attribute__((vector_size(16)));

#define INNER_VECTOR3(name, type)                                                                                   \
    static ET_VECTOR_INLINE type name##_load(const float *p)                                                        \
    {                                                                                                               \
        type v;                                                                                                     \
        memcpy(&v, p, sizeof v);                                                                                    \
        return v;                                                                                                   \
    }                                                                                                               \
    static ET_VECTOR_INLINE void name(const float *a, const float *b, const float *c, const float *k, int ox,      \
                                      int pl, float bias, float *dst)                                               \
    {                                                                                                               \
        a += ox - pl, b += ox - pl, c += ox - pl;                                                                   \
        type out = bias + (k[0] * name##_load(a) + k[1] * name##_load(a + 1) + k[2] * name##_load(a + 2)) +         \
                   (k[3] * name##_load(b) + k[4] * name##_load(b + 1) + k[5] * name##_load(b + 2)) +                \
                   (k[6] * name##_load(c) + k[7] * name##_load(c + 1) + k[8] * name##_load(c + 2));                 \
        memcpy(dst + ox, &out, sizeof out);                                                                         \
    }
INNER_VECTOR3(inner_vector3_4, et_v4)

/* Stride 1 on short rows (BlazeFace's 16- and 8-wide maps: 14 and 6
 * inner outputs), where the vectorised loop's scalar tail was most of the
 * row: vectors of 4, the last overlapping the one before (its outputs
 * computed again by the same sums). Long rows keep the vectorised loop. */
static ET_VECTOR_INLINE void inner_outputs3_s1(const float *a, const float *b, const float *c, const float *k,
                                               int first, int last, int pl, float bias, float *dst)
{
    int n = last - first;
    if (n < 4 || n >= 16) {
        inner_outputs3(a, b, c, k, first, last, pl, 1, bias, dst);
        return;
    }
    for (int ox = first; ox + 4 <= last; ox += 4)
        inner_vector3_4(a, b, c, k, ox, pl, bias, dst);
    if (n % 4)
        inner_vector3_4(a, b, c, k, last - 4, pl, bias, dst);
}

/* 3x3 kernels (all of BlazeFace's): one pass per output row over the three
 * input rows, the outputs summed in registers; the one or two outputs at
 * each end of a row that read padding, tap by tap. zeros: w zeros. */
ET_VECTOR_CLONES static void plane_forward3(const float *restrict x, int h, int w, const et_window *win,
                                            const float *restrict kernel, float bias, float *restrict y, int oh,
                                            int ow, const float *zeros)
{
    int first, last, a, b;
    tap_range(0, win->pl, win->sw, w, ow, &first, &last);
    tap_range(2, win->pl, win->sw, w, ow, &a, &b);
    first = a > first ? a : first;
    last = b < last ? b : last;
    last = last > first ? last : first;
    for (int oy = 0; oy < oh; oy++) {
        const float *r[3], *z[3];
        for (int ky = 0; ky < 3; ky++) {
            int row = oy * win->sh + ky - win->pt;
            r[ky] = row >= 0 && row < h ? x + (size_t)row * w : NULL;
            z[ky] = r[ky] ? r[ky] : zeros;
        }
        float *dst = y + (size_t)oy * ow;
        for (int ox = 0; ox < first; ox++)
            dst[ox] = edge_output3(r, kernel, w, ox * win->sw - win->pl, bias);
        if (win->sw == 1)
            inner_outputs3_s1(z[0], z[1], z[2], kernel, first, last, win->pl, bias, dst);
        else if (win->sw == 2)
            inner_outputs3(z[0], z[1], z[2], kernel, first, last, win->pl, 2, bias, dst);
        else
            inner_outputs3(z[0], z[1], z[2], kernel, first, last, win->pl, win->sw, bias, dst);
        for (int ox = last; ox < ow; ox++)
            dst[ox] = edge_output3(r, kernel, w, ox * win->sw - win->pl, bias);
    }
}

static void forward_part(void *ctx, int t, int threads)
{
    const depthwise_job *j = ctx;
    const depthwise_state *s = j->s;
    const et_tensor *in = j->in;
    et_tensor *out = j->out;
    size_t in_plane = (size_t)in->h * in->w, out_plane = (size_t)out->h * out->w;
    size_t ksize = (size_t)s->win.kh * s->win.kw, begin, end;
    et_parallel_range((size_t)in->n * in->c, t, threads, &begin, &end);
    for (size_t plane = begin; plane < end; plane++) {
        int n = (int)(plane / (size_t)in->c), c = (int)(plane % (size_t)in->c);
        for (int m = 0; m < s->multiplier; m++) {
            int o = c * s->multiplier + m;
            const float *x = in->data + plane * in_plane, *k = j->weight + (size_t)o * ksize;
            float bias = j->bias ? j->bias[o] : 0.0f, *y = out->data + ((size_t)n * out->c + o) * out_plane;
            if (s->win.kh == 3 && s->win.kw == 3)
                plane_forward3(x, in->h, in->w, &s->win, k, bias, y, out->h, out->w, j->scratch);
            else
                plane_forward(x, in->h, in->w, &s->win, k, bias, y, out->h, out->w);
        }
    }
}

static int depthwise_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    depthwise_state *s = layer->state;
    depthwise_job j = {.s = s, .in = et_layer_input(net, layer, 0), .out = &layer->out,
                       .weight = layer->params[0].value.data,
                       .bias = s->has_bias ? layer->params[1].value.data : NULL};
    /* One row of zeros, read (never written) by every thread as padding. */
    j.scratch = et_net_workspace(net, (size_t)j.in->w);
    if (!j.scratch)
        return et_error_set(ET_ERR_NOMEM, "out of memory for depthwise workspace");
    memset(j.scratch, 0, (size_t)j.in->w * sizeof(float));
    et_parallel_run(et_tensor_count(j.out) >= PARALLEL_MIN ? et_nn_threads() : 1, forward_part, &j);
    return ET_OK;
}

const et_layer_type et_layer_depthwise_conv2d = {"depthwise_conv2d", depthwise_setup, depthwise_forward, NULL};
