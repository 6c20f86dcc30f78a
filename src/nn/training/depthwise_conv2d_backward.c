/* The backward pass of depthwise_conv2d (its forward pass:
 * ../depthwise_conv2d.c). It first copies each input plane into a
 * zero-padded scratch plane whose columns are split by phase (column %
 * stride_w), so that the taps of a strided row are contiguous: its inner
 * loops then run over fixed blocks of BLOCK outputs, which gcc vectorises
 * at -O2 (it leaves loops of unknown length alone there). */
#include <string.h>

#include "../depthwise_conv2d.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

#define BLOCK 8

static phased_plane plane_geometry(const et_window *w, int h, int wd)
{
    int padded_w = wd + w->pl + w->pr;
    return (phased_plane){h + w->pt + w->pb, (padded_w + w->sw - 1) / w->sw, w->sw};
}

/* Copies an h x w plane into the padded, phase-split layout (zeros around). */
static void plane_to_phased(const float *x, int h, int w, const et_window *win, phased_plane g, float *p)
{
    memset(p, 0, (size_t)g.phases * g.rows * g.cols * sizeof(float));
    if (g.phases == 1) {
        for (int y = 0; y < h; y++)
            memcpy(p + (size_t)(y + win->pt) * g.cols + win->pl, x + (size_t)y * w, (size_t)w * sizeof(float));
        return;
    }
    for (int y = 0; y < h; y++)
        for (int xi = 0; xi < w; xi++) {
            int col = xi + win->pl;
            p[((size_t)(col % g.phases) * g.rows + y + win->pt) * g.cols + col / g.phases] = x[(size_t)y * w + xi];
        }
}

/* The adjoint of plane_to_phased: adds the inner part back into dx. */
static void phased_to_plane_add(const float *p, int h, int w, const et_window *win, phased_plane g, float *dx)
{
    for (int y = 0; y < h; y++)
        for (int xi = 0; xi < w; xi++) {
            int col = xi + win->pl;
            dx[(size_t)y * w + xi] += p[((size_t)(col % g.phases) * g.rows + y + win->pt) * g.cols + col / g.phases];
        }
}

/* Gradients of one output plane: dkernel += correlation of dy with the
 * padded input; dp (padded layout) += kernel spread by dy. */
static void plane_backward(const float *restrict p, float *restrict dp, phased_plane g, const et_window *win,
                           const float *restrict kernel, float *restrict dkernel, const float *restrict dy,
                           int oh, int ow)
{
    for (int oy = 0; oy < oh; oy++) {
        const float *g_row = dy + (size_t)oy * ow;
        for (int ky = 0; ky < win->kh; ky++) {
            int row = oy * win->sh + ky;
            for (int kx = 0; kx < win->kw; kx++) {
                size_t at = ((size_t)(kx % g.phases) * g.rows + row) * g.cols + kx / g.phases;
                const float *src = p + at;
                float *dsrc = dp + at;
                float wv = kernel[ky * win->kw + kx];
                float sums[BLOCK] = {0};
                int ox = 0;
                for (; ox + BLOCK <= ow; ox += BLOCK)
                    for (int i = 0; i < BLOCK; i++) {
                        sums[i] += g_row[ox + i] * src[ox + i];
                        dsrc[ox + i] += wv * g_row[ox + i];
                    }
                float sum = 0.0f;
                for (; ox < ow; ox++) {
                    sum += g_row[ox] * src[ox];
                    dsrc[ox] += wv * g_row[ox];
                }
                for (int i = 0; i < BLOCK; i++)
                    sum += sums[i];
                dkernel[ky * win->kw + kx] += sum;
            }
        }
    }
}

/* Threads split the channels (not the images), so each kernel's gradient
 * has one writer. */
static void backward_part(void *ctx, int t, int threads)
{
    const depthwise_job *j = ctx;
    const depthwise_state *s = j->s;
    const et_tensor *in = j->in, *dout = j->dout;
    size_t pcount = j->scratch_size / 2;
    float *p = j->scratch + (size_t)t * j->scratch_size, *dp = p + pcount;
    size_t in_plane = (size_t)in->h * in->w, out_plane = (size_t)dout->h * dout->w;
    size_t ksize = (size_t)s->win.kh * s->win.kw, begin, end;
    et_parallel_range((size_t)in->c, t, threads, &begin, &end);
    for (int n = 0; n < in->n; n++)
        for (int c = (int)begin; c < (int)end; c++) {
            plane_to_phased(in->data + ((size_t)n * in->c + c) * in_plane, in->h, in->w, &s->win, j->g, p);
            memset(dp, 0, pcount * sizeof(float));
            for (int m = 0; m < s->multiplier; m++) {
                int o = c * s->multiplier + m;
                const float *dy = dout->data + ((size_t)n * dout->c + o) * out_plane;
                if (j->dbias) {
                    float sum = 0.0f;
                    for (size_t i = 0; i < out_plane; i++)
                        sum += dy[i];
                    j->dbias[o] += sum;
                }
                plane_backward(p, dp, j->g, &s->win, j->weight + (size_t)o * ksize, j->dweight + (size_t)o * ksize,
                               dy, dout->h, dout->w);
            }
            if (j->din)
                phased_to_plane_add(dp, in->h, in->w, &s->win, j->g,
                                    j->din->data + ((size_t)n * in->c + c) * in_plane);
        }
}

int et_depthwise_conv2d_backward(et_layer *layer, et_net *net)
{
    depthwise_state *s = layer->state;
    depthwise_job j = {.s = s, .in = et_layer_input(net, layer, 0), .dout = &layer->dout,
                       .din = et_layer_input_grad(net, layer, 0), .weight = layer->params[0].value.data,
                       .dweight = layer->params[0].grad.data,
                       .dbias = s->has_bias ? layer->params[1].grad.data : NULL};
    j.g = plane_geometry(&s->win, j.in->h, j.in->w);
    j.scratch_size = 2 * (size_t)j.g.phases * j.g.rows * j.g.cols;
    int threads = et_nn_threads();
    j.scratch = et_net_workspace(net, j.scratch_size * (size_t)threads);
    if (!j.scratch)
        return et_error_set(ET_ERR_NOMEM, "out of memory for depthwise workspace");
    et_parallel_run(et_tensor_count(j.dout) >= PARALLEL_MIN ? threads : 1, backward_part, &j);
    return ET_OK;
}
