/* Batch normalisation over (rows, h, w) per channel. Training uses batch
 * statistics and updates running ones; inference uses the running ones.
 * Settings: eps (1e-5), momentum (0.1).
 * Params: weight (scale) [C], bias [C], running_mean [C], running_var [C]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "nn_internal.h"

typedef struct {
    float eps, momentum;
    float *mean, *invstd; /* statistics used by the last forward pass */
    int trained;          /* the last forward pass used batch statistics */
} batchnorm_state;

static int batchnorm_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    batchnorm_state *s = calloc(1, sizeof *s);
    if (!s)
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    layer->state = s;
    s->eps = (float)et_json_get_number(config, "eps", 1e-5);
    s->momentum = (float)et_json_get_number(config, "momentum", 0.1);
    int c = layer->in_shape[0].c;
    layer->out_shape = layer->in_shape[0];
    s->mean = calloc((size_t)c, sizeof(float));
    s->invstd = calloc((size_t)c, sizeof(float));
    et_param *scale = NULL, *var = NULL;
    if (!s->mean || !s->invstd || !(scale = et_layer_add_param(layer, "weight", c, 1, 1, 1, 1, 0)) ||
        !et_layer_add_param(layer, "bias", c, 1, 1, 1, 1, 0) ||
        !et_layer_add_param(layer, "running_mean", c, 1, 1, 1, 0, 0) ||
        !(var = et_layer_add_param(layer, "running_var", c, 1, 1, 1, 0, 0)))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    /* "scale_init": 0 makes a residual branch start as nothing, so a block
     * added to a trained net leaves its function unchanged (Goyal et al. 2017). */
    float scale_init = (float)et_json_get_number(config, "scale_init", 1.0);
    for (int i = 0; i < c; i++) {
        scale->value.data[i] = scale_init;
        var->value.data[i] = 1.0f;
    }
    return ET_OK;
}

static void batchnorm_destroy(et_layer *layer)
{
    batchnorm_state *s = layer->state;
    if (s) {
        free(s->mean);
        free(s->invstd);
    }
}

/* Below this many values a pass is not worth waking other threads. */
#define BN_PARALLEL_MIN 32768
/* Partial sums in 4 x 4 float lanes (GCC/Clang vector extension, one SSE
 * register each): fixed lanes, so the result does not depend on the
 * instruction set the compiler picks. */
typedef float v4 __attribute__((vector_size(16)));

static inline v4 load4(const float *p)
{
    v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline v4 splat4(float x)
{
    v4 v = {x, x, x, x};
    return v;
}

typedef int v4i __attribute__((vector_size(16)));

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

static inline void store4(float *p, v4 v)
{
    memcpy(p, &v, sizeof v);
}

static inline float hsum(v4 a, v4 b, v4 c, v4 d)
{
    v4 v = (a + b) + (c + d);
    return (v[0] + v[2]) + (v[1] + v[3]);
}

/* Sums of x and x*x over n values. */
static inline void sums(const float *x, size_t n, float *sum_out, float *sq_out)
{
    if (n < 16) { /* short rows (small maps): not worth the vector set-up */
        float sum = 0.0f, sq = 0.0f;
        for (size_t i = 0; i < n; i++) {
            sum += x[i];
            sq += x[i] * x[i];
        }
        *sum_out = sum;
        *sq_out = sq;
        return;
    }
    v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v4 a = load4(x + i), b = load4(x + i + 4), c = load4(x + i + 8), d = load4(x + i + 12);
        s0 += a;
        s1 += b;
        s2 += c;
        s3 += d;
        q0 += a * a;
        q1 += b * b;
        q2 += c * c;
        q3 += d * d;
    }
    for (; i + 4 <= n; i += 4) {
        v4 a = load4(x + i);
        s0 += a;
        q0 += a * a;
    }
    float sum = hsum(s0, s1, s2, s3), sq = hsum(q0, q1, q2, q3);
    for (; i < n; i++) {
        sum += x[i];
        sq += x[i] * x[i];
    }
    *sum_out = sum;
    *sq_out = sq;
}

/* Sums of dy and dy*(x - mean) over n values; with z (the fused ReLU's
 * output), dy is the ReLU's input gradient: z > 0 ? dz : 0 with dz = dy. */
static inline void grad_sums(const float *x, const float *dy, const float *z, float mean, size_t n,
                             float *sum_out, float *dot_out)
{
    if (n < 16) {
        float sum = 0.0f, dot = 0.0f;
        for (size_t i = 0; i < n; i++) {
            float g = z ? relu_grad(z[i], dy[i]) : dy[i];
            sum += g;
            dot += g * (x[i] - mean);
        }
        *sum_out = sum;
        *dot_out = dot;
        return;
    }
    if (z) {
        v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
        v4 m = splat4(mean);
        size_t i = 0;
        for (; i + 16 <= n; i += 16) {
            v4 g0 = relu_grad4(z + i, dy + i), g1 = relu_grad4(z + i + 4, dy + i + 4);
            v4 g2 = relu_grad4(z + i + 8, dy + i + 8), g3 = relu_grad4(z + i + 12, dy + i + 12);
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
            v4 g0 = relu_grad4(z + i, dy + i);
            s0 += g0;
            d0 += g0 * (load4(x + i) - m);
        }
        float sum = hsum(s0, s1, s2, s3), dot = hsum(d0, d1, d2, d3);
        for (; i < n; i++) {
            float g = relu_grad(z[i], dy[i]);
            sum += g;
            dot += g * (x[i] - mean);
        }
        *sum_out = sum;
        *dot_out = dot;
        return;
    }
    v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, d0 = {0}, d1 = {0}, d2 = {0}, d3 = {0};
    v4 m = {mean, mean, mean, mean};
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v4 g0 = load4(dy + i), g1 = load4(dy + i + 4), g2 = load4(dy + i + 8), g3 = load4(dy + i + 12);
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
        v4 g0 = load4(dy + i);
        s0 += g0;
        d0 += g0 * (load4(x + i) - m);
    }
    float sum = hsum(s0, s1, s2, s3), dot = hsum(d0, d1, d2, d3);
    for (; i < n; i++) {
        sum += dy[i];
        dot += dy[i] * (x[i] - mean);
    }
    *sum_out = sum;
    *dot_out = dot;
}

typedef struct {
    batchnorm_state *s;
    et_layer *layer;
    const et_tensor *in;
    float *din;
    int train, assign;
    /* Fused ReLU: forward writes max(0, y); backward takes the gradient
     * (dy) and output (z) of the ReLU instead of its own dout. */
    int relu;
    const float *dy, *z;
} bn_job;

/* Channels are split between threads: every channel's statistics come from
 * one thread, in image order, whatever the thread count. */
/* Channels per block: the stats pass and the apply pass of a block run
 * back to back, its values (about 256 KB) still in cache; small maps take
 * several channels at once, so that the rows read are not just a few
 * floats each. Every channel's sums still go over the images in order. */
#define BN_BLOCK_MAX 16
static int channel_block(const et_tensor *in)
{
    size_t per_channel = (size_t)in->n * in->h * in->w;
    size_t cb = per_channel ? (64 * 1024) / per_channel : BN_BLOCK_MAX;
    return cb < 1 ? 1 : cb > BN_BLOCK_MAX ? BN_BLOCK_MAX : (int)cb;
}

/* y = x * scale + shift (then max(0, y) with relu) over n values. */
static inline void affine(const float *x, float *y, size_t n, float scale, float shift, int relu)
{
    v4 scale4 = splat4(scale), shift4 = splat4(shift), zero4 = splat4(0.0f);
    size_t p = 0;
    if (relu) {
        for (; p + 4 <= n; p += 4) {
            v4 v = load4(x + p) * scale4 + shift4;
            store4(y + p, (v4)((v4i)v & (v > zero4)));
        }
        for (; p < n; p++) {
            float v = x[p] * scale + shift;
            y[p] = v > 0.0f ? v : 0.0f;
        }
        return;
    }
    for (; p + 4 <= n; p += 4)
        store4(y + p, load4(x + p) * scale4 + shift4);
    for (; p < n; p++)
        y[p] = x[p] * scale + shift;
}

static void forward_part(void *ctx, int t, int threads)
{
    const bn_job *j = ctx;
    batchnorm_state *s = j->s;
    const et_tensor *in = j->in;
    et_layer *layer = j->layer;
    float *gamma = layer->params[0].value.data, *beta = layer->params[1].value.data;
    float *rmean = layer->params[2].value.data, *rvar = layer->params[3].value.data;
    int channels = in->c, block = channel_block(in);
    size_t spatial = (size_t)in->h * in->w, count = (size_t)in->n * spatial;
    size_t begin, end;
    et_parallel_range((size_t)channels, t, threads, &begin, &end);
    for (int c0 = (int)begin; c0 < (int)end; c0 += block) {
        int c1 = c0 + block < (int)end ? c0 + block : (int)end;
        double sum[BN_BLOCK_MAX] = {0}, sq[BN_BLOCK_MAX] = {0};
        float scale[BN_BLOCK_MAX], shift[BN_BLOCK_MAX];
        if (j->train && spatial == 1) /* after a dense layer: rows of channels */
            for (int n = 0; n < in->n; n++) {
                const float *x = in->data + (size_t)n * channels;
                for (int c = c0; c < c1; c++) {
                    sum[c - c0] += x[c];
                    sq[c - c0] += x[c] * x[c];
                }
            }
        else if (j->train)
            for (int n = 0; n < in->n; n++)
                for (int c = c0; c < c1; c++) {
                    float ps, pq;
                    sums(in->data + ((size_t)n * channels + c) * spatial, spatial, &ps, &pq);
                    sum[c - c0] += ps;
                    sq[c - c0] += pq;
                }
        for (int c = c0; c < c1; c++) {
            float mean, invstd;
            if (j->train) {
                double m = sum[c - c0] / (double)count;
                double var = sq[c - c0] / (double)count - m * m;
                if (var < 0)
                    var = 0;
                mean = (float)m;
                invstd = (float)(1.0 / sqrt(var + s->eps));
                double unbiased = count > 1 ? var * (double)count / (double)(count - 1) : var;
                rmean[c] = (1.0f - s->momentum) * rmean[c] + s->momentum * mean;
                rvar[c] = (1.0f - s->momentum) * rvar[c] + s->momentum * (float)unbiased;
            } else {
                mean = rmean[c];
                invstd = 1.0f / sqrtf(rvar[c] + s->eps);
            }
            s->mean[c] = mean;
            s->invstd[c] = invstd;
            scale[c - c0] = gamma[c] * invstd;
            shift[c - c0] = beta[c] - mean * scale[c - c0];
        }
        if (spatial == 1) {
            for (int n = 0; n < in->n; n++) {
                const float *x = in->data + (size_t)n * channels;
                float *y = layer->out.data + (size_t)n * channels;
                for (int c = c0; c < c1; c++) {
                    float v = x[c] * scale[c - c0] + shift[c - c0];
                    y[c] = j->relu && !(v > 0.0f) ? 0.0f : v;
                }
            }
            continue;
        }
        for (int n = 0; n < in->n; n++)
            for (int c = c0; c < c1; c++) {
                size_t off = ((size_t)n * channels + c) * spatial;
                affine(in->data + off, layer->out.data + off, spatial, scale[c - c0], shift[c - c0], j->relu);
            }
    }
}

/* The ReLU that alone reads this layer's output, if any: the two then make
 * one pass over the data each way instead of two. */
static et_layer *relu_reader(et_net *net, et_layer *layer)
{
    int reader = et_net_sole_consumer(net, (int)(layer - net->layers));
    if (reader < 0)
        return NULL;
    et_layer *r = &net->layers[reader];
    return r->identity || r->input_count != 1 || strcmp(r->type->name, "relu") ? NULL : r;
}

static int batchnorm_forward(et_layer *layer, et_net *net, int train)
{
    batchnorm_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    s->trained = train;
    layer->fused_relu = relu_reader(net, layer) != NULL;
    bn_job j = {s, layer, in, NULL, train, 0, layer->fused_relu, NULL, NULL};
    et_parallel_run(et_tensor_count(in) >= BN_PARALLEL_MIN ? 0 : 1, forward_part, &j);
    return ET_OK;
}

/* dx (=, or += when add) ka*g + kb*(x - mean) + kc over n values, where g
 * is dy, or with z the fused ReLU's input gradient (z > 0 ? dy : 0). */
static inline void grad_affine(const float *x, const float *dy, const float *z, float *dx, size_t n, float ka,
                               float kb, float kc, float mean, int add)
{
    v4 ka4 = splat4(ka), kb4 = splat4(kb), kc4 = splat4(kc), mean4 = splat4(mean);
    size_t p = 0;
    if (z) {
        for (; p + 4 <= n; p += 4) {
            v4 v = ka4 * relu_grad4(z + p, dy + p) + kb4 * (load4(x + p) - mean4) + kc4;
            store4(dx + p, add ? load4(dx + p) + v : v);
        }
        for (; p < n; p++) {
            float v = ka * relu_grad(z[p], dy[p]) + kb * (x[p] - mean) + kc;
            dx[p] = add ? dx[p] + v : v;
        }
        return;
    }
    for (; p + 4 <= n; p += 4) {
        v4 v = ka4 * load4(dy + p) + kb4 * (load4(x + p) - mean4) + kc4;
        store4(dx + p, add ? load4(dx + p) + v : v);
    }
    for (; p < n; p++) {
        float v = ka * dy[p] + kb * (x[p] - mean) + kc;
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
                    float g = z ? relu_grad(z[c], dy[c]) : dy[c];
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
                    float g = z ? relu_grad(z[c], dy[c]) : dy[c];
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

static int batchnorm_backward(et_layer *layer, et_net *net)
{
    batchnorm_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    bn_job j = {s, layer, in, din ? din->data : NULL, s->trained, din && et_layer_input_grad_assign(net, layer, 0),
                0, layer->dout.data, NULL};
    if (layer->fused_relu) {
        et_layer *relu = relu_reader(net, layer);
        if (!relu)
            return et_error_set(ET_ERR_USAGE, "batch norm fused with a ReLU that is gone");
        j.dy = relu->dout.data;
        j.z = relu->out.data;
    }
    et_parallel_run(et_tensor_count(in) >= BN_PARALLEL_MIN ? 0 : 1, backward_part, &j);
    return ET_OK;
}

const et_layer_type et_layer_batchnorm = {"batchnorm", batchnorm_setup, batchnorm_forward, batchnorm_backward,
                                          batchnorm_destroy};

void et_net_set_batchnorm_momentum(et_net *net, float momentum)
{
    for (int l = 0; l < net->layer_count; l++)
        if (net->layers[l].type == &et_layer_batchnorm)
            ((batchnorm_state *)net->layers[l].state)->momentum = momentum;
}
