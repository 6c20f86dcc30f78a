/* conv2d: im2col + sgemm.
 * Settings: out, kernel, stride (1), pad (0 or [t, l, b, r]), groups (1), bias (true).
 * Params: weight [out, in/groups, kh, kw], bias [out].
 *
 * Work is cut into tiles: one image, or a band of its output rows when its
 * im2col is large (the band's columns then stay in cache until the GEMM
 * reads them), or several whole images side by side in one GEMM (small
 * maps: the BLAS gets a wide enough matrix). Threads take whole images when
 * the batch has enough of them, else bands of the one image.
 *
 * Backward: the weight gradient is a GEMM of the output gradient with the
 * input's im2col; threads other than the first sum theirs into a buffer of
 * their own, added to the parameter's in thread order, so the result
 * depends only on the thread count. For stride 1 the input gradient is the
 * convolution of the output gradient with the flipped, transposed kernels
 * (a forward pass, written straight into the input gradient); other strides
 * use the adjoint of im2col (col2im). */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct {
    et_window win;
    int groups, has_bias;
    float *partial; /* weight/bias gradients of threads 1.. */
    size_t partial_size;
    float *flipped; /* backward: flipped, transposed weights */
    size_t flipped_size;
    float *winograd; /* frozen nets: the kernels transformed for Winograd */
    int winograd_m;  /* ... for F(m x m, 3x3) */
} conv2d_state;

static int conv2d_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    conv2d_state *s = calloc(1, sizeof *s);
    if (!s)
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    layer->state = s;
    int rc = et_window_from_config(&s->win, config, layer->name, 1);
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
    layer->out_shape.h = et_window_out(in.h, s->win.kh, s->win.sh, s->win.pt, s->win.pb);
    layer->out_shape.w = et_window_out(in.w, s->win.kw, s->win.sw, s->win.pl, s->win.pr);
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

/* One convolution: out = weight (*) in, NCHW, per group a GEMM of the
 * weights [og, kdim] with the input's im2col [kdim, columns]. */
typedef struct {
    et_window win;
    const float *in;
    int n, c, h, w;   /* input */
    float *out;
    int oc, oh, ow;   /* output */
    int groups, cg, og, spatial, kdim;
    int pointwise;    /* 1x1, stride 1, no padding: the input is its own im2col */
    int nb_max;       /* images per tile (1: tiles are bands of band_rows) */
    int band_rows;
    int dw_rows;      /* rows per weight-gradient tile (nb_max 1) */
    const float *weight, *bias;
    int relu;         /* fused ReLU on the output (inference after folding) */
    int accumulate;   /* add into out instead of writing it */
} conv_geom;

static void geom_init(conv_geom *p, const et_window *win, int groups, const float *in, int n, int c, int h, int w,
                      float *out, int oc, int oh, int ow)
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

/* Columns of a tile of nb images and band rows. */
static size_t tile_columns(const conv_geom *p, int nb, int rows)
{
    return nb > 1 ? (size_t)nb * p->spatial : (size_t)rows * p->ow;
}

/* Workspace floats forward_tile needs for tiles up to nb_max images or a band. */
static size_t tile_work(const conv_geom *p)
{
    size_t columns = tile_columns(p, p->nb_max, p->band_rows);
    size_t col = p->pointwise && p->nb_max == 1 ? 0 : (size_t)p->kdim * columns;
    return col + (p->nb_max > 1 ? (size_t)p->og * columns : 0);
}

/* Unfolds channels [c0, c0+cg) of images [n0, n0+nb), output rows [y0, y1),
 * into col: cg*kh*kw rows of nb*(y1-y0)*ow columns (image b's at
 * b*(y1-y0)*ow). */
static void im2col(const conv_geom *p, int c0, int n0, int nb, int y0, int y1, float *col)
{
    const et_window *win = &p->win;
    int h = p->h, w = p->w, ow = p->ow;
    size_t band = (size_t)(y1 - y0) * ow, columns = (size_t)nb * band;
    /* Stride 1 and rows as wide as the input: the taps of a row band are one
     * contiguous run of the input plane, with the padding columns to clear. */
    int runs = win->sh == 1 && win->sw == 1 && ow == w;
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

/* The adjoint of im2col for one image's whole output: adds col (rows of
 * stride ld) into din, the input gradient, image n, channels [c0, c0+cg). */
static void col2im(const conv_geom *p, int c0, int n, const float *col, size_t ld, float *din)
{
    const et_window *win = &p->win;
    int h = p->h, w = p->w, ow = p->ow;
    for (int c = 0; c < p->cg; c++) {
        float *plane = din + ((size_t)n * p->c + c0 + c) * h * w;
        for (int ky = 0; ky < win->kh; ky++)
            for (int kx = 0; kx < win->kw; kx++) {
                const float *src = col + ((size_t)(c * win->kh + ky) * win->kw + kx) * ld;
                int x0 = kx - win->pl;
                int lo = x0 < 0 ? (-x0 + win->sw - 1) / win->sw : 0;
                int hi = x0 < w ? (w - 1 - x0) / win->sw + 1 : 0;
                if (hi > ow)
                    hi = ow;
                for (int oy = 0; oy < p->oh; oy++, src += ow) {
                    int iy = oy * win->sh - win->pt + ky;
                    if (iy < 0 || iy >= h)
                        continue;
                    float *dst = plane + (size_t)iy * w;
                    if (win->sw == 1)
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox + x0] += src[ox];
                    else
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox * win->sw + x0] += src[ox];
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
            im2col(p, g * p->cg, n0, nb, y0, y1, work);
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
static void forward_images(const conv_geom *p, int begin, int end, float *work)
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

static size_t round_floats(size_t count)
{
    return (count + 15) / 16 * 16;
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
    forward_images(p, (int)begin, (int)end, work);
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
    geom_init(p, &s->win, s->groups, in->data, in->n, in->c, in->h, in->w, out->data, out->c, out->h, out->w);
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

/* --- backward --- */

typedef struct {
    conv_geom g;        /* the forward convolution (its im2col, for the weight gradient) */
    conv_geom back;     /* stride 1: the input gradient as a convolution of dout */
    int transposed;     /* back is used (else col2im) */
    const float *dout;
    float *din;         /* NULL when no input gradient is wanted */
    int din_assign;     /* din is not zeroed: write it rather than add */
    float *dweight, *dbias;
    float *partial;     /* per-thread weight gradients (threads 1..) */
    size_t partial_stride;
    float *work;
    size_t work_stride;
} backward_job;

/* Weight gradient of group g for images [n0, n0+nb): dW += dy x col^T,
 * by bands of dw_rows output rows when nb is 1. beta applies to the first
 * GEMM. */
static void weight_grad(const backward_job *j, int g, int n0, int nb, float *dweight, float beta, float *work)
{
    const conv_geom *p = &j->g;
    float *dw = dweight + (size_t)g * p->og * p->kdim;
    if (nb > 1) {
        size_t columns = (size_t)nb * p->spatial;
        float *dtmp = work, *col = dtmp + (size_t)p->og * columns;
        /* dtmp [og, columns]: the output gradient laid out like the GEMM result. */
        for (int b = 0; b < nb; b++)
            for (int o = 0; o < p->og; o++)
                memcpy(dtmp + (size_t)o * columns + (size_t)b * p->spatial,
                       j->dout + ((size_t)(n0 + b) * p->oc + (size_t)g * p->og + o) * p->spatial,
                       (size_t)p->spatial * sizeof(float));
        im2col(p, g * p->cg, n0, nb, 0, p->oh, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->og, p->kdim, (int)columns, 1.0f, dtmp,
                    (int)columns, col, (int)columns, beta, dw, p->kdim);
        return;
    }
    const float *dy = j->dout + ((size_t)n0 * p->oc + (size_t)g * p->og) * p->spatial;
    for (int y0 = 0; y0 < p->oh; y0 += p->dw_rows, beta = 1.0f) {
        int y1 = y0 + p->dw_rows < p->oh ? y0 + p->dw_rows : p->oh;
        size_t columns = (size_t)(y1 - y0) * p->ow;
        const float *b_mat = work;
        size_t ldb = columns;
        if (p->pointwise) {
            b_mat = p->in + ((size_t)n0 * p->c + (size_t)g * p->cg) * p->spatial + (size_t)y0 * p->ow;
            ldb = (size_t)p->spatial;
        } else {
            im2col(p, g * p->cg, n0, 1, y0, y1, work);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->og, p->kdim, (int)columns, 1.0f,
                    dy + (size_t)y0 * p->ow, p->spatial, b_mat, (int)ldb, beta, dw, p->kdim);
    }
}

/* Input gradient of images [n0, n0+nb) through col2im (strided convs). */
static void input_grad_col2im(const backward_job *j, int n0, int nb, float *work)
{
    const conv_geom *p = &j->g;
    size_t columns = (size_t)nb * p->spatial;
    float *dtmp = work, *dcol = dtmp + (nb > 1 ? (size_t)p->og * columns : 0);
    for (int g = 0; g < p->groups; g++) {
        const float *dy = j->dout + ((size_t)n0 * p->oc + (size_t)g * p->og) * p->spatial;
        size_t ldy = (size_t)p->spatial;
        if (nb > 1) {
            for (int b = 0; b < nb; b++)
                for (int o = 0; o < p->og; o++)
                    memcpy(dtmp + (size_t)o * columns + (size_t)b * p->spatial,
                           j->dout + ((size_t)(n0 + b) * p->oc + (size_t)g * p->og + o) * p->spatial,
                           (size_t)p->spatial * sizeof(float));
            dy = dtmp;
            ldy = columns;
        }
        const float *wg = p->weight + (size_t)g * p->og * p->kdim;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p->kdim, (int)columns, p->og, 1.0f, wg, p->kdim, dy,
                    (int)ldy, 0.0f, dcol, (int)columns);
        for (int b = 0; b < nb; b++) {
            /* With din not zeroed, clear these channels before adding every tap. */
            if (j->din_assign)
                memset(j->din + ((size_t)(n0 + b) * p->c + (size_t)g * p->cg) * p->h * p->w, 0,
                       (size_t)p->cg * p->h * p->w * sizeof(float));
            col2im(p, g * p->cg, n0 + b, dcol + (size_t)b * p->spatial, columns, j->din);
        }
    }
}

static void backward_part(void *ctx, int t, int threads)
{
    const backward_job *j = ctx;
    const conv_geom *p = &j->g;
    float *work = j->work + (size_t)t * j->work_stride;
    size_t begin, end;
    /* Bias gradient: channels split between threads, summed in image order. */
    if (j->dbias) {
        et_parallel_range((size_t)p->oc, t, threads, &begin, &end);
        for (size_t o = begin; o < end; o++) {
            float total = 0.0f;
            for (int n = 0; n < p->n; n++) {
                const float *src = j->dout + ((size_t)n * p->oc + o) * p->spatial;
                float sum = 0.0f;
                for (int i = 0; i < p->spatial; i++)
                    sum += src[i];
                total += sum;
            }
            j->dbias[o] += total;
        }
    }
    /* Thread 0 adds into the parameter's gradient; the others start their
     * buffers from their first tile. */
    float *dweight = t == 0 ? j->dweight : j->partial + (size_t)(t - 1) * j->partial_stride;
    float beta = t == 0 ? 1.0f : 0.0f;
    et_parallel_range((size_t)p->n, t, threads, &begin, &end);
    if (begin == end && t > 0)
        memset(dweight, 0, j->partial_stride * sizeof(float));
    for (int n0 = (int)begin; n0 < (int)end; n0 += p->nb_max, beta = 1.0f) {
        int nb = (int)end - n0 < p->nb_max ? (int)end - n0 : p->nb_max;
        for (int g = 0; g < p->groups; g++)
            weight_grad(j, g, n0, nb, dweight, beta, work);
        if (!j->din)
            continue;
        if (j->transposed)
            forward_images(&j->back, n0, n0 + nb, work);
        else
            input_grad_col2im(j, n0, nb, work);
    }
}

typedef struct {
    float *dst;
    const float *partial;
    size_t count, stride;
    int parts;
} reduce_job;

static void reduce_part(void *ctx, int t, int threads)
{
    const reduce_job *r = ctx;
    size_t begin, end;
    et_parallel_range(r->count, t, threads, &begin, &end);
    for (int k = 0; k < r->parts; k++) {
        const float *src = r->partial + (size_t)k * r->stride;
        for (size_t i = begin; i < end; i++)
            r->dst[i] += src[i];
    }
}

typedef struct {
    const float *weight;
    float *flipped;
    int groups, og, cg, kh, kw;
} flip_job;

/* flipped[g][c][o][ky][kx] = weight[g*og + o][c][kh-1-ky][kw-1-kx]: the
 * kernels of the convolution that maps dout to din (stride 1). */
static void flip_part(void *ctx, int t, int threads)
{
    const flip_job *f = ctx;
    size_t taps = (size_t)f->kh * f->kw, begin, end;
    et_parallel_range((size_t)f->groups * f->cg, t, threads, &begin, &end);
    for (size_t gc = begin; gc < end; gc++) {
        size_t g = gc / (size_t)f->cg, c = gc % (size_t)f->cg;
        float *dst = f->flipped + gc * (size_t)f->og * taps;
        for (int o = 0; o < f->og; o++) {
            const float *src = f->weight + ((g * f->og + (size_t)o) * f->cg + c) * taps;
            for (size_t k = 0; k < taps; k++)
                dst[(size_t)o * taps + k] = src[taps - 1 - k];
        }
    }
}

static int grow(float **buf, size_t *size, size_t need)
{
    if (need <= *size)
        return 1;
    et_floats_free(*buf);
    *buf = et_floats_alloc(need);
    *size = *buf ? need : 0;
    return *buf != NULL;
}

static int conv2d_backward(et_layer *layer, et_net *net)
{
    conv2d_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    const et_tensor *dout = &layer->dout;
    backward_job j = {0};
    conv_geom *p = &j.g;
    geom_init(p, &s->win, s->groups, in->data, in->n, in->c, in->h, in->w, NULL, dout->c, dout->h, dout->w);
    p->weight = layer->params[0].value.data;
    j.dout = dout->data;
    j.din = din ? din->data : NULL;
    j.din_assign = din && et_layer_input_grad_assign(net, layer, 0);
    j.dweight = layer->params[0].grad.data;
    j.dbias = layer->param_count > 1 ? layer->params[1].grad.data : NULL;
    int threads = et_nn_threads();
    if (threads > p->n)
        threads = p->n;

    size_t columns = tile_columns(p, p->nb_max, p->dw_rows);
    size_t work = (size_t)p->kdim * columns + (p->nb_max > 1 ? (size_t)p->og * columns : 0);
    const et_window *w = &s->win;
    j.transposed = j.din && w->sh == 1 && w->sw == 1;
    if (j.transposed) {
        /* din = dout (*) flipped kernels, padded by kernel - 1 - pad. */
        et_window bw = {w->kh, w->kw, 1, 1, w->kh - 1 - w->pt, w->kw - 1 - w->pl, w->kh - 1 - w->pb,
                        w->kw - 1 - w->pr};
        geom_init(&j.back, &bw, s->groups, dout->data, dout->n, dout->c, dout->h, dout->w, din->data, in->c,
                  in->h, in->w);
        j.back.accumulate = !j.din_assign;
        j.back.nb_max = p->nb_max; /* the same image chunks as the weight gradient */
        if (j.back.nb_max > 1)
            j.back.band_rows = j.back.oh;
        size_t need = et_tensor_count(&layer->params[0].value);
        if (!grow(&s->flipped, &s->flipped_size, need))
            return et_error_set(ET_ERR_NOMEM, "out of memory for convolution gradients");
        flip_job f = {p->weight, s->flipped, s->groups, p->og, p->cg, w->kh, w->kw};
        et_parallel_run(need >= 16384 ? threads : 1, flip_part, &f);
        j.back.weight = s->flipped;
        size_t back = tile_work(&j.back);
        if (back > work)
            work = back;
    } else if (j.din) {
        size_t whole = (size_t)p->nb_max * p->spatial;
        size_t need = (size_t)p->kdim * whole + (p->nb_max > 1 ? (size_t)p->og * whole : 0);
        if (need > work)
            work = need;
    }
    j.work_stride = round_floats(work);
    j.partial_stride = et_tensor_count(&layer->params[0].grad);
    if (threads > 1) {
        if (!grow(&s->partial, &s->partial_size, j.partial_stride * (size_t)(threads - 1)))
            return et_error_set(ET_ERR_NOMEM, "out of memory for convolution gradients");
        j.partial = s->partial;
    }
    j.work = et_net_workspace(net, j.work_stride * (size_t)threads);
    if (!j.work)
        return et_error_set(ET_ERR_NOMEM, "out of memory for convolution workspace");
    int used = et_parallel_run(threads, backward_part, &j);
    if (used > 1) {
        reduce_job r = {j.dweight, j.partial, j.partial_stride, j.partial_stride, used - 1};
        et_parallel_run(j.partial_stride >= 16384 ? 0 : 1, reduce_part, &r);
    }
    return ET_OK;
}

const et_layer_type et_layer_conv2d = {"conv2d", conv2d_setup, conv2d_forward, conv2d_backward, conv2d_destroy};
