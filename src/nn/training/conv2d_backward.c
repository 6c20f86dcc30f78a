/* The backward pass of conv2d (its forward pass: ../conv2d.c).
 *
 * The weight gradient is a GEMM of the output gradient with the input's
 * im2col; threads other than the first sum theirs into a buffer of their
 * own, added to the parameter's in thread order, so the result depends
 * only on the thread count. For stride 1 the input gradient is the
 * convolution of the output gradient with the flipped, transposed kernels
 * (a forward pass, written straight into the input gradient); other strides
 * use the adjoint of im2col (col2im). */
#include <cblas.h>
#include <string.h>

#include "../conv2d.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

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
        et_conv2d_im2col(p, g * p->cg, n0, nb, 0, p->oh, col);
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
            et_conv2d_im2col(p, g * p->cg, n0, 1, y0, y1, work);
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
            et_conv2d_forward_images(&j->back, n0, n0 + nb, work);
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

int et_conv2d_backward(et_layer *layer, et_net *net)
{
    conv2d_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    const et_tensor *dout = &layer->dout;
    backward_job j = {0};
    conv_geom *p = &j.g;
    et_conv2d_geom_init(p, &s->win, s->groups, in->data, in->n, in->c, in->h, in->w, NULL, dout->c, dout->h,
                        dout->w);
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
        et_conv2d_geom_init(&j.back, &bw, s->groups, dout->data, dout->n, dout->c, dout->h, dout->w, din->data,
                            in->c, in->h, in->w);
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
