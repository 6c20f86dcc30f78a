/* conv2d: im2col + sgemm. Several images share one GEMM (their columns side
 * by side) so that small feature maps still give the BLAS wide matrices.
 * Settings: out, kernel, stride (1), pad (0 or [t, l, b, r]), groups (1), bias (true).
 * Params: weight [out, in/groups, kh, kw], bias [out]. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"

/* Columns per GEMM we aim for: wide enough for BLAS efficiency, small
 * enough for the columns to stay in cache-friendly sizes. */
#define CONV_TARGET_COLUMNS 8192

typedef struct {
    et_window win;
    int groups, has_bias;
} conv2d_state;

static int conv2d_setup(et_layer *layer, const et_json *config)
{
    conv2d_state *s = calloc(1, sizeof *s);
    if (!s)
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    layer->state = s;
    int rc = et_window_from_config(&s->win, config, layer->name, 1);
    if (rc != ET_OK)
        return rc;
    int out = (int)et_json_get_number(config, "out", 0);
    s->groups = (int)et_json_get_number(config, "groups", 1);
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

/* Unfolds channels [c0, c0+cg) of images [n0, n0+nb) into col, a matrix of
 * cg*kh*kw rows and nb*oh*ow columns (image b's outputs at b*oh*ow). */
static void im2col(const float *in, int c0, int cg, int h, int w, const et_window *win, int oh, int ow,
                   int n0, int nb, int channels, float *col)
{
    size_t columns = (size_t)nb * oh * ow;
    for (int c = 0; c < cg; c++)
        for (int ky = 0; ky < win->kh; ky++)
            for (int kx = 0; kx < win->kw; kx++) {
                float *row = col + ((size_t)(c * win->kh + ky) * win->kw + kx) * columns;
                for (int b = 0; b < nb; b++) {
                    const float *plane = in + ((size_t)(n0 + b) * channels + c0 + c) * h * w;
                    float *dst = row + (size_t)b * oh * ow;
                    for (int oy = 0; oy < oh; oy++, dst += ow) {
                        int iy = oy * win->sh - win->pt + ky;
                        if (iy < 0 || iy >= h) {
                            memset(dst, 0, (size_t)ow * sizeof(float));
                            continue;
                        }
                        const float *src = plane + (size_t)iy * w;
                        int x0 = kx - win->pl;
                        if (win->sw == 1) {
                            /* Valid ox: 0 <= ox + x0 < w. */
                            int lo = x0 < 0 ? -x0 : 0;
                            int hi = w - x0 < ow ? w - x0 : ow;
                            if (hi < lo)
                                hi = lo;
                            memset(dst, 0, (size_t)lo * sizeof(float));
                            memcpy(dst + lo, src + lo + x0, (size_t)(hi - lo) * sizeof(float));
                            memset(dst + hi, 0, (size_t)(ow - hi) * sizeof(float));
                        } else {
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * win->sw + x0;
                                dst[ox] = ix >= 0 && ix < w ? src[ix] : 0.0f;
                            }
                        }
                    }
                }
            }
}

/* The adjoint of im2col: adds col back into the input gradient. */
static void col2im(const float *col, int c0, int cg, int h, int w, const et_window *win, int oh, int ow,
                   int n0, int nb, int channels, float *din)
{
    size_t columns = (size_t)nb * oh * ow;
    for (int c = 0; c < cg; c++)
        for (int ky = 0; ky < win->kh; ky++)
            for (int kx = 0; kx < win->kw; kx++) {
                const float *row = col + ((size_t)(c * win->kh + ky) * win->kw + kx) * columns;
                for (int b = 0; b < nb; b++) {
                    float *plane = din + ((size_t)(n0 + b) * channels + c0 + c) * h * w;
                    const float *src = row + (size_t)b * oh * ow;
                    for (int oy = 0; oy < oh; oy++, src += ow) {
                        int iy = oy * win->sh - win->pt + ky;
                        if (iy < 0 || iy >= h)
                            continue;
                        float *dst = plane + (size_t)iy * w;
                        for (int ox = 0; ox < ow; ox++) {
                            int ix = ox * win->sw - win->pl + kx;
                            if (ix >= 0 && ix < w)
                                dst[ix] += src[ox];
                        }
                    }
                }
            }
}

static int images_per_gemm(int rows, int spatial)
{
    int nb = CONV_TARGET_COLUMNS / (spatial > 0 ? spatial : 1);
    if (nb < 1)
        nb = 1;
    return nb < rows ? nb : rows;
}

static int is_pointwise(const conv2d_state *s)
{
    const et_window *w = &s->win;
    return w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && !w->pt && !w->pl && !w->pb && !w->pr;
}

static int conv2d_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    conv2d_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *out = &layer->out;
    const float *weight = layer->params[0].value.data;
    /* A bias may also be added after setup (by et_net_fold_batchnorm). */
    const float *bias = layer->param_count > 1 ? layer->params[1].value.data : NULL;
    int g_count = s->groups, cg = in->c / g_count, og = out->c / g_count;
    int spatial = out->h * out->w, kdim = cg * s->win.kh * s->win.kw;
    int nb_max = images_per_gemm(in->n, spatial);
    int direct = nb_max == 1 || in->n == 1; /* GEMM straight into the output */
    size_t col_size = is_pointwise(s) && direct ? 0 : (size_t)kdim * nb_max * spatial;
    size_t tmp_size = direct ? 0 : (size_t)og * nb_max * spatial;
    float *col = et_net_workspace(net, col_size + tmp_size);
    if (!col)
        return et_error_set(ET_ERR_NOMEM, "out of memory for convolution workspace");
    float *tmp = col + col_size;
    for (int n0 = 0; n0 < in->n; n0 += nb_max) {
        int nb = in->n - n0 < nb_max ? in->n - n0 : nb_max;
        int columns = nb * spatial;
        for (int g = 0; g < g_count; g++) {
            const float *wg = weight + (size_t)g * og * kdim;
            const float *b_col = col;
            if (col_size)
                im2col(in->data, g * cg, cg, in->h, in->w, &s->win, out->h, out->w, n0, nb, in->c, col);
            else
                b_col = in->data + ((size_t)n0 * in->c + g * cg) * spatial;
            if (direct) {
                float *dst = out->data + ((size_t)n0 * out->c + g * og) * spatial;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, columns, kdim, 1.0f, wg, kdim,
                            b_col, columns, 0.0f, dst, columns);
                if (bias)
                    for (int o = 0; o < og; o++) {
                        float bv = bias[g * og + o];
                        float *row = dst + (size_t)o * spatial;
                        for (int p = 0; p < spatial; p++)
                            row[p] += bv;
                    }
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, og, columns, kdim, 1.0f, wg, kdim, b_col,
                        columns, 0.0f, tmp, columns);
            for (int b = 0; b < nb; b++)
                for (int o = 0; o < og; o++) {
                    float bv = bias ? bias[g * og + o] : 0.0f;
                    const float *src = tmp + (size_t)o * columns + (size_t)b * spatial;
                    float *dst = out->data + ((size_t)(n0 + b) * out->c + g * og + o) * spatial;
                    for (int p = 0; p < spatial; p++)
                        dst[p] = src[p] + bv;
                }
        }
    }
    return ET_OK;
}

static int conv2d_backward(et_layer *layer, et_net *net)
{
    conv2d_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    const et_tensor *dout = &layer->dout;
    const float *weight = layer->params[0].value.data;
    float *dweight = layer->params[0].grad.data;
    float *dbias = layer->param_count > 1 ? layer->params[1].grad.data : NULL;
    int g_count = s->groups, cg = in->c / g_count, og = dout->c / g_count;
    int spatial = dout->h * dout->w, kdim = cg * s->win.kh * s->win.kw;
    int nb_max = images_per_gemm(in->n, spatial);
    size_t col_size = (size_t)kdim * nb_max * spatial;
    size_t dtmp_size = (size_t)og * nb_max * spatial;
    float *col = et_net_workspace(net, 2 * col_size + dtmp_size);
    if (!col)
        return et_error_set(ET_ERR_NOMEM, "out of memory for convolution workspace");
    float *dcol = col + col_size, *dtmp = dcol + col_size;

    if (dbias)
        for (int n = 0; n < dout->n; n++)
            for (int o = 0; o < dout->c; o++) {
                const float *src = dout->data + ((size_t)n * dout->c + o) * spatial;
                float sum = 0.0f;
                for (int p = 0; p < spatial; p++)
                    sum += src[p];
                dbias[o] += sum;
            }
    for (int n0 = 0; n0 < in->n; n0 += nb_max) {
        int nb = in->n - n0 < nb_max ? in->n - n0 : nb_max;
        int columns = nb * spatial;
        for (int g = 0; g < g_count; g++) {
            /* dtmp [og, columns]: the output gradient laid out like the GEMM result. */
            for (int b = 0; b < nb; b++)
                for (int o = 0; o < og; o++)
                    memcpy(dtmp + (size_t)o * columns + (size_t)b * spatial,
                           dout->data + ((size_t)(n0 + b) * dout->c + g * og + o) * spatial,
                           (size_t)spatial * sizeof(float));
            im2col(in->data, g * cg, cg, in->h, in->w, &s->win, dout->h, dout->w, n0, nb, in->c, col);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, og, kdim, columns, 1.0f, dtmp, columns, col,
                        columns, 1.0f, dweight + (size_t)g * og * kdim, kdim);
            if (!din)
                continue;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kdim, columns, og, 1.0f,
                        weight + (size_t)g * og * kdim, kdim, dtmp, columns, 0.0f, dcol, columns);
            col2im(dcol, g * cg, cg, in->h, in->w, &s->win, dout->h, dout->w, n0, nb, in->c, din->data);
        }
    }
    return ET_OK;
}

const et_layer_type et_layer_conv2d = {"conv2d", conv2d_setup, conv2d_forward, conv2d_backward, NULL};
