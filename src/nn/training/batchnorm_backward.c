/* The backward pass of batchnorm (its forward pass: ../batchnorm.c). */
#include "../batchnorm.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

/* dz where z > 0, else +0: the ReLU's backward, on the fly. */
static inline v4 relu_grad4(const float *z, const float *dz)
{
    v4i keep = load4(z) > splat4(0.0f);
    return (v4)(keep & (v4i)load4(dz));
}

static inline float relu_grad(float z, float dz)
{
    return z > 0.0f ? dz : 0.0f;
}

/* The gradient the sums take at i (4 lanes from i): dy, or with z (the fused
 * ReLU's output) the ReLU's input gradient, z > 0 ? dy : 0. */
static inline v4 grad4(const float *dy, const float *z, size_t i)
{
    return z ? relu_grad4(z + i, dy + i) : load4(dy + i);
}

static inline float grad1(const float *dy, const float *z, size_t i)
{
    return z ? relu_grad(z[i], dy[i]) : dy[i];
}

/* Sums of g and g*(x - mean) over n values, g as grad1 takes it. */
static inline void grad_sums(const float *x, const float *dy, const float *z, float mean, size_t n,
                             float *sum_out, float *dot_out)
{
    if (n < 16) {
        float sum = 0.0f, dot = 0.0f;
        for (size_t i = 0; i < n; i++) {
            float g = grad1(dy, z, i);
            sum += g;
            dot += g * (x[i] - mean);
        }
        *sum_out = sum;
        *dot_out = dot;
        return;
    }
    v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
    v4 m = splat4(mean);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v4 g0 = grad4(dy, z, i), g1 = grad4(dy, z, i + 4), g2 = grad4(dy, z, i + 8), g3 = grad4(dy, z, i + 12);
        s0 += g0;
        s1 += g1;
        s2 += g2;
        s3 += g3;
        d0 += g0 * (load4(x + i) - m);
        d1 += g1 * (load4(x + i + 4) - m);
        d2 += g2 * (load4(x + i + 8) - m);
        d3 += g3 * (load4(x + i + 12) - m);
    }
    for (; i + 4 <= n; i += 4) {
        v4 g0 = grad4(dy, z, i);
        s0 += g0;
        d0 += g0 * (load4(x + i) - m);
    }
    float sum = hsum(s0, s1, s2, s3), dot = hsum(d0, d1, d2, d3);
    for (; i < n; i++) {
        float g = grad1(dy, z, i);
        sum += g;
        dot += g * (x[i] - mean);
    }
    *sum_out = sum;
    *dot_out = dot;
}

/* dx (=, or += when add) ka*g + kb*(x - mean) + kc over n values, g as
 * grad1 takes it. */
static inline void grad_affine(const float *x, const float *dy, const float *z, float *dx, size_t n, float ka,
                               float kb, float kc, float mean, int add)
{
    v4 ka4 = splat4(ka), kb4 = splat4(kb), kc4 = splat4(kc), mean4 = splat4(mean);
    size_t p = 0;
    for (; p + 4 <= n; p += 4) {
        v4 v = ka4 * grad4(dy, z, p) + kb4 * (load4(x + p) - mean4) + kc4;
        store4(dx + p, add ? load4(dx + p) + v : v);
    }
    for (; p < n; p++) {
        float v = ka * grad1(dy, z, p) + kb * (x[p] - mean) + kc;
        dx[p] = add ? dx[p] + v : v;
    }
}

/* In training mode the statistics depend on the input, which adds the two
 * mean terms; with running statistics the layer is a per-channel affine map. */
static void backward_part(void *ctx, int t, int threads)
{
    const bn_job *j = ctx;
    batchnorm_state *s = j->s;
    const et_tensor *in = j->in;
    et_layer *layer = j->layer;
    const float *gamma = layer->params[0].value.data;
    float *dgamma = layer->params[0].grad.data, *dbeta = layer->params[1].grad.data;
    int channels = in->c, block = channel_block(in);
    size_t spatial = (size_t)in->h * in->w, count = (size_t)in->n * spatial;
    size_t begin, end;
    et_parallel_range((size_t)channels, t, threads, &begin, &end);
    for (int c0 = (int)begin; c0 < (int)end; c0 += block) {
        int c1 = c0 + block < (int)end ? c0 + block : (int)end;
        double sum_dy[BN_BLOCK_MAX] = {0}, sum_dy_xhat[BN_BLOCK_MAX] = {0};
        float ka[BN_BLOCK_MAX], kb[BN_BLOCK_MAX], kc[BN_BLOCK_MAX];
        if (spatial == 1)
            for (int n = 0; n < in->n; n++) {
                size_t off = (size_t)n * channels;
                const float *x = in->data + off, *dy = j->dy + off, *z = j->z ? j->z + off : NULL;
                for (int c = c0; c < c1; c++) {
                    float g = grad1(dy, z, (size_t)c);
                    sum_dy[c - c0] += g;
                    sum_dy_xhat[c - c0] += g * (x[c] - s->mean[c]);
                }
            }
        else
            for (int n = 0; n < in->n; n++)
                for (int c = c0; c < c1; c++) {
                    size_t off = ((size_t)n * channels + c) * spatial;
                    float a, b;
                    grad_sums(in->data + off, j->dy + off, j->z ? j->z + off : NULL, s->mean[c], spatial, &a, &b);
                    sum_dy[c - c0] += a;
                    sum_dy_xhat[c - c0] += b;
                }
        for (int c = c0; c < c1; c++) {
            float invstd = s->invstd[c];
            double sdx = sum_dy_xhat[c - c0] * invstd;
            dgamma[c] += (float)sdx;
            dbeta[c] += (float)sum_dy[c - c0];
            /* dx = k * (count*dy - mean_dy - xhat*mean_term), xhat = (x - mean)*invstd,
             * with the constants gathered: dx = ka*dy + kb*(x - mean) + kc. */
            float k = gamma[c] * invstd / (float)count;
            float mean_dy = s->trained ? (float)sum_dy[c - c0] : 0.0f;
            float mean_term = s->trained ? (float)sdx : 0.0f;
            ka[c - c0] = k * (float)count;
            kb[c - c0] = -k * mean_term * invstd;
            kc[c - c0] = -k * mean_dy;
        }
        if (!j->din)
            continue;
        if (spatial == 1) {
            for (int n = 0; n < in->n; n++) {
                size_t off = (size_t)n * channels;
                const float *x = in->data + off, *dy = j->dy + off, *z = j->z ? j->z + off : NULL;
                float *dx = j->din + off;
                for (int c = c0; c < c1; c++) {
                    float g = grad1(dy, z, (size_t)c);
                    float v = ka[c - c0] * g + kb[c - c0] * (x[c] - s->mean[c]) + kc[c - c0];
                    dx[c] = j->assign ? v : dx[c] + v;
                }
            }
            continue;
        }
        for (int n = 0; n < in->n; n++)
            for (int c = c0; c < c1; c++) {
                size_t off = ((size_t)n * channels + c) * spatial;
                grad_affine(in->data + off, j->dy + off, j->z ? j->z + off : NULL, j->din + off, spatial,
                            ka[c - c0], kb[c - c0], kc[c - c0], s->mean[c], !j->assign);
            }
    }
}

int et_batchnorm_backward(et_layer *layer, et_net *net)
{
    batchnorm_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    bn_job j = {s, layer, in, din ? din->data : NULL, s->trained, din && et_layer_input_grad_assign(net, layer, 0),
                0, layer->dout.data, NULL};
    if (layer->fused_relu) {
        et_layer *relu = et_batchnorm_relu_reader(net, layer);
        if (!relu)
            return et_error_set(ET_ERR_USAGE, "batch norm fused with a ReLU that is gone");
        j.dy = relu->dout.data;
        j.z = relu->out.data;
    }
    et_parallel_run(et_tensor_count(in) >= BN_PARALLEL_MIN ? 0 : 1, backward_part, &j);
    return ET_OK;
}

void et_net_set_batchnorm_momentum(et_net *net, float momentum)
{
    for (int l = 0; l < net->layer_count; l++)
        if (net->layers[l].type == &et_layer_batchnorm)
            ((batchnorm_state *)net->layers[l].state)->momentum = momentum;
}
