/* Batch normalisation over (rows, h, w) per channel. Training uses batch
 * statistics and updates running ones; inference uses the running ones.
 * Settings: eps (1e-5), momentum (0.1).
 * Params: weight (scale) [C], bias [C], running_mean [C], running_var [C]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batchnorm.h"
#include "emotrace/error.h"
#include "nn_internal.h"

static int batchnorm_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    batchnorm_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
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
et_layer *et_batchnorm_relu_reader(et_net *net, et_layer *layer)
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
    layer->fused_relu = et_batchnorm_relu_reader(net, layer) != NULL;
    bn_job j = {s, layer, in, NULL, train, 0, layer->fused_relu, NULL, NULL};
    et_parallel_run(et_tensor_count(in) >= BN_PARALLEL_MIN ? 0 : 1, forward_part, &j);
    return ET_OK;
}

const et_layer_type et_layer_batchnorm = {"batchnorm", batchnorm_setup, batchnorm_forward, batchnorm_destroy};
