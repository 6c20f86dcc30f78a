/* conv2d: im2col + sgemm.
 * Settings: out, kernel, stride (1), pad (0 or [t, l, b, r]), groups (1), bias (true).
 * Params: weight [out, in/groups, kh, kw], bias [out].
 *
 * Work is cut into tiles: one image, or a band of its output rows when its
 * im2col is large (the band's columns then stay in cache until the GEMM
 * reads them), or several whole images side by side in one GEMM (small
 * maps: the BLAS gets a wide enough matrix). Threads take whole images when
 * the batch has enough of them, else bands of the one image. The backward
 * pass is in training/conv2d_backward.c. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "conv2d.h"
#include "conv2d_winograd.h"
#include "emotrace/error.h"
#include "nn_internal.h"

/* Columns per GEMM when images are put side by side (small maps). */
#define CONV_IMAGE_COLUMNS 1024
/* An image whose im2col exceeds CONV_WHOLE_FLOATS (2 MB) is cut into bands
 * of rows of about CONV_BAND_FLOATS (128 KB, at least CONV_BAND_COLUMNS
 * columns), which stay in cache from im2col to the GEMM: 35% faster on the
 * 48x48x32 layer at batch 1. Smaller images go whole (bands measured
 * slower there, the GEMMs being narrower). */
#define CONV_WHOLE_FLOATS (512 * 1024)
#define CONV_BAND_FLOATS (32 * 1024)
#define CONV_BAND_COLUMNS 96
/* The weight gradient's GEMM sums over the columns: there bands (short
 * sums) measured slower, so images go whole up to this many floats. */
#define CONV_DW_WHOLE_FLOATS (4 * 1024 * 1024)

static int conv2d_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    conv2d_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    int rc = et_window_setup(layer, config, &s->win, 1);
    if (rc != ET_OK)
        return rc;
    int out = 0;
    if ((rc = et_config_int(config, "out", 0, 1, ET_MAX_SIDE, &out)) != ET_OK ||
        (rc = et_config_int(config, "groups", 1, 1, ET_MAX_SIDE, &s->groups)) != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer->name);
    s->has_bias = et_json_get_bool(config, "bias", 1);
    et_shape in = layer->in_shape[0];
    if (layer->input_count != 1 || out < 1 || s->groups < 1 || in.c % s->groups || out % s->groups)
        return et_error_set(ET_ERR_FORMAT, "layer '%s': conv2d needs one input and \"out\" divisible by groups",
                            layer->name);
    layer->out_shape.c = out;
    if (!et_layer_add_param(layer, "weight", out, in.c / s->groups, s->win.kh, s->win.kw, 1, 1))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    if (s->has_bias && !et_layer_add_param(layer, "bias", out, 1, 1, 1, 1, 0))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    return ET_OK;
}

static void conv2d_destroy(et_layer *layer)
{
    conv2d_state *s = layer->state;
    if (s) {
        et_floats_free(s->partial);
        et_floats_free(s->flipped);
        et_floats_free(s->winograd);
    }
}

void et_conv2d_geom_init(conv_geom *p, const et_window *win, int groups, const float *in, int n, int c, int h,
                         int w, float *out, int oc, int oh, int ow)
{
    memset(p, 0, sizeof *p);
    p->win = *win;
    p->in = in;
    p->n = n;
    p->c = c;
    p->h = h;
    p->w = w;
    p->out = out;
    p->oc = oc;
    p->oh = oh;
    p->ow = ow;
    p->groups = groups;
    p->cg = c / groups;
    p->og = oc / groups;
    p->spatial = oh * ow;
    p->kdim = p->cg * win->kh * win->kw;
    p->pointwise = win->kh == 1 && win->kw == 1 && win->sh == 1 && win->sw == 1 && !win->pt && !win->pl &&
                   !win->pb && !win->pr;
    /* Images side by side for small maps, else row bands. */
    p->nb_max = CONV_IMAGE_COLUMNS / (p->spatial > 0 ? p->spatial : 1);
    if (p->nb_max < 1)
        p->nb_max = 1;
    p->band_rows = p->oh;
    size_t per_row = (size_t)p->kdim * p->ow;
    if (p->nb_max == 1 && per_row * p->oh > CONV_WHOLE_FLOATS) {
        int rows = (int)(CONV_BAND_FLOATS / per_row);
        if (rows * p->ow < CONV_BAND_COLUMNS)
            rows = (CONV_BAND_COLUMNS + p->ow - 1) / p->ow;
        p->band_rows = rows < 1 ? 1 : rows < p->oh ? rows : p->oh;
    }
    p->dw_rows = per_row * p->oh > CONV_DW_WHOLE_FLOATS ? p->band_rows : p->oh;
}

/* Widest input row im2col_stride2 splits on the stack. */
#define STRIDE2_MAX_WIDTH 2048

/* et_conv2d_im2col for horizontal stride 2: each input row is split once
 * into its even and odd columns, then every kernel column's taps are one
 * contiguous copy from one half, where the strided gather ran element by
 * element (BlazeFace's 5x5 stride-2 first layer: its im2col took about a
 * third of that layer's 0.23 ms). Same values, same places. */
static void im2col_stride2(const conv_geom *p, int c0, int n0, int nb, int y0, int y1, float *col)
{
    const et_window *win = &p->win;
    int h = p->h, w = p->w, ow = p->ow, evens = (w + 1) / 2;
    size_t band = (size_t)(y1 - y0) * ow, columns = (size_t)nb * band;
    float halves[STRIDE2_MAX_WIDTH];
    for (int c = 0; c < p->cg; c++)
        for (int ky = 0; ky < win->kh; ky++)
            for (int b = 0; b < nb; b++) {
                const float *plane = p->in + ((size_t)(n0 + b) * p->c + c0 + c) * h * w;
                float *first_row = col + (size_t)(c * win->kh + ky) * win->kw * columns + (size_t)b * band;
                for (int oy = y0; oy < y1; oy++) {
                    int iy = oy * win->sh - win->pt + ky;
                    float *dst0 = first_row + (size_t)(oy - y0) * ow;
                    if (iy < 0 || iy >= h) {
                        for (int kx = 0; kx < win->kw; kx++)
                            memset(dst0 + (size_t)kx * columns, 0, (size_t)ow * sizeof(float));
                        continue;
                    }
                    const float *src = plane + (size_t)iy * w;
                    for (int x = 0; x < w; x++)
                        halves[(x & 1) * evens + x / 2] = src[x];
                    for (int kx = 0; kx < win->kw; kx++) {
                        float *dst = dst0 + (size_t)kx * columns;
                        int x0 = kx - win->pl;
                        /* Valid ox: 0 <= 2*ox + x0 < w; that column is
                         * half[ox + m] of the half of x0's parity. */
                        int lo = x0 < 0 ? (-x0 + 1) / 2 : 0;
                        int hi = x0 < w ? (w - 1 - x0) / 2 + 1 : 0;
                        hi = hi < ow ? hi : ow;
                        hi = hi > lo ? hi : lo;
                        int odd = x0 & 1, m = (x0 - odd) / 2;
                        for (int ox = 0; ox < lo; ox++)
                            dst[ox] = 0.0f;
                        memcpy(dst + lo, halves + odd * evens + lo + m, (size_t)(hi - lo) * sizeof(float));
                        for (int ox = hi; ox < ow; ox++)
                            dst[ox] = 0.0f;
                    }
                }
            }
}

/* Unfolds channels [c0, c0+cg) of images [n0, n0+nb), output rows [y0, y1),
 * into col: cg*kh*kw rows of nb*(y1-y0)*ow columns (image b's at
 * b*(y1-y0)*ow). */
void et_conv2d_im2col(const conv_geom *p, int c0, int n0, int nb, int y0, int y1, float *col)
{
    const et_window *win = &p->win;
    int h = p->h, w = p->w, ow = p->ow;
    size_t band = (size_t)(y1 - y0) * ow, columns = (size_t)nb * band;
    /* Stride 1 and rows as wide as the input: the taps of a row band are one
     * contiguous run of the input plane, with the padding columns to clear. */
    int runs = win->sh == 1 && win->sw == 1 && ow == w;
    if (win->sw == 2 && w <= STRIDE2_MAX_WIDTH) {
        im2col_stride2(p, c0, n0, nb, y0, y1, col);
        return;
    }
    for (int c = 0; c < p->cg; c++)
        for (int ky = 0; ky < win->kh; ky++)
            for (int kx = 0; kx < win->kw; kx++) {
                float *row = col + ((size_t)(c * win->kh + ky) * win->kw + kx) * columns;
                int x0 = kx - win->pl;
                /* Valid ox for stride sw: 0 <= ox*sw + x0 < w. */
                int lo = x0 < 0 ? (-x0 + win->sw - 1) / win->sw : 0;
                int hi = x0 < w ? (w - 1 - x0) / win->sw + 1 : 0;
                if (hi > ow)
                    hi = ow;
                if (hi < lo)
                    hi = lo;
                for (int b = 0; b < nb; b++) {
                    const float *plane = p->in + ((size_t)(n0 + b) * p->c + c0 + c) * h * w;
                    float *dst = row + (size_t)b * band;
                    if (runs) {
                        /* Output rows [oa, ob) read input rows oy - pt + ky. */
                        int oa = win->pt - ky > y0 ? win->pt - ky : y0;
                        int ob = h + win->pt - ky < y1 ? h + win->pt - ky : y1;
                        if (ob < oa)
                            ob = oa;
                        /* (memset calls cost more than the few rows they clear) */
                        if (oa > y0)
                            memset(dst, 0, (size_t)(oa - y0) * ow * sizeof(float));
                        if (y1 > ob)
                            memset(dst + (size_t)(ob - y0) * ow, 0, (size_t)(y1 - ob) * ow * sizeof(float));
                        float *d = dst + (size_t)(oa - y0) * ow;
                        if (hi == lo)
                            memset(d, 0, (size_t)(ob - oa) * ow * sizeof(float));
                        if (ob == oa || hi == lo)
                            continue;
                        const float *src = plane + (size_t)(oa - win->pt + ky) * w;
                        /* From row oa's first valid column to row ob-1's last. */
                        size_t first = (size_t)lo, last = (size_t)(ob - oa - 1) * w + hi;
                        memcpy(d + first, src + first + x0, (last - first) * sizeof(float));
                        /* Column by column: per-row loops would become a
                         * memset call for every one or two floats. */
                        size_t rows = (size_t)(ob - oa);
                        for (int ox = 0; ox < lo; ox++)
                            for (size_t r = 0; r < rows; r++)
                                d[r * ow + ox] = 0.0f;
                        for (int ox = hi; ox < ow; ox++)
                            for (size_t r = 0; r < rows; r++)
                                d[r * ow + ox] = 0.0f;
                        continue;
                    }
                    for (int oy = y0; oy < y1; oy++, dst += ow) {
                        int iy = oy * win->sh - win->pt + ky;
                        if (iy < 0 || iy >= h) {
                            memset(dst, 0, (size_t)ow * sizeof(float));
                            continue;
                        }
                        const float *src = plane + (size_t)iy * w;
                        for (int ox = 0; ox < lo; ox++)
                            dst[ox] = 0.0f;
                        if (win->sw == 1)
                            for (int ox = lo; ox < hi; ox++)
                                dst[ox] = src[ox + x0];
                        else
                            for (int ox = lo; ox < hi; ox++)
                                dst[ox] = src[ox * win->sw + x0];
                        for (int ox = hi; ox < ow; ox++)
                            dst[ox] = 0.0f;
                    }
                }
            }
}

/* Bias and fused ReLU over rows of an output tile. */
static void epilogue(float *dst, size_t ld, int rows, size_t len, const float *bias, int relu)
{
    for (int o = 0; o < rows; o++) {
        float *row = dst + (size_t)o * ld;
        if (bias) {
            float bv = bias[o];
            if (relu)
                for (size_t i = 0; i < len; i++) {
                    float v = row[i] + bv;
                    row[i] = v > 0.0f ? v : 0.0f;
                }
            else
                for (size_t i = 0; i < len; i++)
                    row[i] += bv;
        } else if (relu) {
            for (size_t i = 0; i < len; i++)
                row[i] = row[i] > 0.0f ? row[i] : 0.0f;
        }
    }
}

/* Forward for one tile: images [n0, n0+nb), output rows [y0, y1) (all rows
 * when nb > 1). work holds tile_work(p) floats. */
static void forward_tile(const conv_geom *p, int n0, int nb, int y0, int y1, float *work)
{
    size_t band = (size_t)(y1 - y0) * p->ow, columns = (size_t)nb * band;
    for (int g = 0; g < p->groups; g++) {
        const float *wg = p->weight + (size_t)g * p->og * p->kdim;
        const float *bg = p->bias ? p->bias + (size_t)g * p->og : NULL;
        const float *b_mat = work;
        size_t ldb = columns;
        if (p->pointwise && nb == 1) {
            b_mat = p->in + ((size_t)n0 * p->c + (size_t)g * p->cg) * p->spatial + (size_t)y0 * p->ow;
            ldb = (size_t)p->spatial;
        } else {
            et_conv2d_im2col(p, g * p->cg, n0, nb, y0, y1, work);
        }
        if (nb == 1) {
            float *dst = p->out + ((size_t)n0 * p->oc + (size_t)g * p->og) * p->spatial + (size_t)y0 * p->ow;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->og, (int)columns, p->kdim, 1.0f, wg,
                        p->kdim, b_mat, (int)ldb, p->accumulate ? 1.0f : 0.0f, dst, p->spatial);
            epilogue(dst, (size_t)p->spatial, p->og, columns, bg, p->relu);
            continue;
        }
        float *tmp = work + (size_t)p->kdim * columns;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->og, (int)columns, p->kdim, 1.0f, wg, p->kdim,
                    b_mat, (int)ldb, 0.0f, tmp, (int)columns);
        for (int b = 0; b < nb; b++)
            for (int o = 0; o < p->og; o++) {
                float bv = bg ? bg[o] : 0.0f;
                const float *src = tmp + (size_t)o * columns + (size_t)b * band;
                float *dst = p->out + ((size_t)(n0 + b) * p->oc + (size_t)g * p->og + o) * p->spatial;
                if (p->accumulate)
                    for (size_t i = 0; i < band; i++)
                        dst[i] += src[i];
                else if (p->relu)
                    for (size_t i = 0; i < band; i++) {
                        float v = src[i] + bv;
                        dst[i] = v > 0.0f ? v : 0.0f;
                    }
                else
                    for (size_t i = 0; i < band; i++)
                        dst[i] = src[i] + bv;
            }
    }
}

/* Forward over images [begin, end): tiles of nb_max images or row bands. */
void et_conv2d_forward_images(const conv_geom *p, int begin, int end, float *work)
{
    for (int n0 = begin; n0 < end; n0 += p->nb_max) {
        int nb = end - n0 < p->nb_max ? end - n0 : p->nb_max;
        if (nb > 1) {
            forward_tile(p, n0, nb, 0, p->oh, work);
            continue;
        }
        for (int y0 = 0; y0 < p->oh; y0 += p->band_rows)
            forward_tile(p, n0, 1, y0, y0 + p->band_rows < p->oh ? y0 + p->band_rows : p->oh, work);
    }
}

typedef struct {
    conv_geom g;
    int split_rows; /* fewer images than threads: threads split each image's bands */
    float *work;
    size_t work_stride; /* floats of workspace per thread */
} forward_job;

static void forward_part(void *ctx, int t, int threads)
{
    const forward_job *j = ctx;
    const conv_geom *p = &j->g;
    float *work = j->work + (size_t)t * j->work_stride;
    size_t begin, end;
    if (j->split_rows) {
        int bands = (p->oh + p->band_rows - 1) / p->band_rows;
        et_parallel_range((size_t)bands, t, threads, &begin, &end);
        for (int n = 0; n < p->n; n++)
            for (size_t k = begin; k < end; k++) {
                int y0 = (int)k * p->band_rows, y1 = y0 + p->band_rows < p->oh ? y0 + p->band_rows : p->oh;
                forward_tile(p, n, 1, y0, y1, work);
            }
        return;
    }
    et_parallel_range((size_t)p->n, t, threads, &begin, &end);
    et_conv2d_forward_images(p, (int)begin, (int)end, work);
}

/* Winograd pays where the GEMMs are deep in input channels: on the emotion
 * CNN at batch 4, one thread, its 32- to 256-channel layers take 20-35%
 * less time (1.5 instead of 2.0 ms per crop in all, the 2-core AMD EPYC
 * machine), but the first layer (one input channel) 6 times more. */
#define WINOGRAD_MIN_CHANNELS 16
/* Maps at least this wide and high take 4x4 tiles, smaller ones 2x2. */
#define WINOGRAD_4X4_MIN_SIDE 12

static int winograd_fits(const conv2d_state *s, const et_tensor *in, const et_tensor *out)
{
    const et_window *w = &s->win;
    return s->groups == 1 && w->kh == 3 && w->kw == 3 && w->sh == 1 && w->sw == 1 &&
           out->h == in->h + w->pt + w->pb - 2 && out->w == in->w + w->pl + w->pr - 2 &&
           in->c >= WINOGRAD_MIN_CHANNELS;
}

typedef struct {
    et_winograd g;
    float *work;
    size_t work_stride;
} winograd_job;

/* Thread t's share of the tile rows of every image. */
static void winograd_part(void *ctx, int t, int threads)
{
    const winograd_job *j = ctx;
    size_t begin, end;
    et_parallel_range((size_t)j->g.n * j->g.th, t, threads, &begin, &end);
    if (begin < end)
        et_winograd_forward(&j->g, (int)begin, (int)end, j->work + (size_t)t * j->work_stride);
}

/* The forward pass by Winograd (frozen nets), kernels transformed once. */
static int conv2d_forward_winograd(et_layer *layer, et_net *net, const et_tensor *in)
{
    conv2d_state *s = layer->state;
    et_tensor *out = &layer->out;
    /* 4x4 tiles where the map holds whole ones; on smaller maps most of
     * their work would fall past the edge. */
    int m = out->h >= WINOGRAD_4X4_MIN_SIDE && out->w >= WINOGRAD_4X4_MIN_SIDE ? 4 : 2;
    if (!s->winograd || s->winograd_m != m) {
        et_floats_free(s->winograd);
        s->winograd = et_floats_alloc((size_t)(m + 2) * (m + 2) * out->c * in->c);
        if (!s->winograd)
            return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
        et_winograd_kernels(m, layer->params[0].value.data, out->c, in->c, s->winograd);
        s->winograd_m = m;
    }
    winograd_job j;
    j.g = (et_winograd){m, in->data, in->n, in->c, in->h, in->w, s->win.pt, s->win.pl, out->data, out->c, out->h,
                        out->w, s->winograd, layer->param_count > 1 ? layer->params[1].value.data : NULL,
                        layer->fused_relu, (out->h + m - 1) / m, (out->w + m - 1) / m};
    int threads = et_nn_threads(), units = in->n * j.g.th;
    threads = threads < units ? threads : units;
    j.work_stride = round_floats(et_winograd_work_floats(&j.g));
    j.work = et_net_workspace(net, j.work_stride * (size_t)threads);
    if (!j.work)
        return et_error_set(ET_ERR_NOMEM, "out of memory for convolution workspace");
    et_parallel_run(threads, winograd_part, &j);
    return ET_OK;
}

static int conv2d_forward(et_layer *layer, et_net *net, int train)
{
    conv2d_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *out = &layer->out;
    if (!train && net->frozen && winograd_fits(s, in, out))
        return conv2d_forward_winograd(layer, net, in);
    forward_job j = {0};
    conv_geom *p = &j.g;
    et_conv2d_geom_init(p, &s->win, s->groups, in->data, in->n, in->c, in->h, in->w, out->data, out->c, out->h,
                        out->w);
    p->weight = layer->params[0].value.data;
    /* A bias may also be added after setup (by et_net_fold_batchnorm). */
    p->bias = layer->param_count > 1 ? layer->params[1].value.data : NULL;
    p->relu = layer->fused_relu;
    int threads = et_nn_threads();
    if (p->n < threads) {
        if (p->n == 1 && p->oh > 1) {
            /* One image: bands split between threads. */
            p->nb_max = 1;
            int rows = (p->oh + threads - 1) / threads;
            if (rows < p->band_rows || p->band_rows == p->oh)
                p->band_rows = rows;
            j.split_rows = 1;
        } else {
            threads = p->n;
        }
    }
    j.work_stride = round_floats(tile_work(p));
    j.work = et_net_workspace(net, j.work_stride * (size_t)threads);
    if (!j.work)
        return et_error_set(ET_ERR_NOMEM, "out of memory for convolution workspace");
    et_parallel_run(threads, forward_part, &j);
    return ET_OK;
}

const et_layer_type et_layer_conv2d = {"conv2d", conv2d_setup, conv2d_forward, conv2d_destroy};
