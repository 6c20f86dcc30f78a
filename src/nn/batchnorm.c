/* Batch normalisation over (rows, h, w) per channel. Training uses batch
 * statistics and updates running ones; inference uses the running ones.
 * Settings: eps (1e-5), momentum (0.1).
 * Params: weight (scale) [C], bias [C], running_mean [C], running_var [C]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"

typedef struct {
    float eps, momentum;
    float *mean, *invstd; /* statistics used by the last forward pass */
    int trained;          /* the last forward pass used batch statistics */
} batchnorm_state;

static int batchnorm_setup(et_layer *layer, const et_json *config)
{
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
    if (!s->mean || !s->invstd || !et_layer_add_param(layer, "weight", c, 1, 1, 1, 1, 0) ||
        !et_layer_add_param(layer, "bias", c, 1, 1, 1, 1, 0) ||
        !et_layer_add_param(layer, "running_mean", c, 1, 1, 1, 0, 0) ||
        !et_layer_add_param(layer, "running_var", c, 1, 1, 1, 0, 0))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
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

static int batchnorm_forward(et_layer *layer, et_net *net, int train)
{
    batchnorm_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    float *gamma = layer->params[0].value.data, *beta = layer->params[1].value.data;
    float *rmean = layer->params[2].value.data, *rvar = layer->params[3].value.data;
    int channels = in->c;
    size_t spatial = (size_t)in->h * in->w, count = (size_t)in->n * spatial;
    s->trained = train;
    for (int c = 0; c < channels; c++) {
        float mean, invstd;
        if (train) {
            double sum = 0.0, sq = 0.0;
            for (int n = 0; n < in->n; n++) {
                const float *x = in->data + ((size_t)n * channels + c) * spatial;
                float ps = 0.0f, pq = 0.0f;
                for (size_t p = 0; p < spatial; p++) {
                    ps += x[p];
                    pq += x[p] * x[p];
                }
                sum += ps;
                sq += pq;
            }
            double m = sum / (double)count;
            double var = sq / (double)count - m * m;
            if (var < 0)
                var = 0;
            mean = (float)m;
            invstd = (float)(1.0 / sqrt(var + s->eps));
            s->mean[c] = mean;
            s->invstd[c] = invstd;
            double unbiased = count > 1 ? var * (double)count / (double)(count - 1) : var;
            rmean[c] = (1.0f - s->momentum) * rmean[c] + s->momentum * mean;
            rvar[c] = (1.0f - s->momentum) * rvar[c] + s->momentum * (float)unbiased;
        } else {
            mean = rmean[c];
            invstd = 1.0f / sqrtf(rvar[c] + s->eps);
            s->mean[c] = mean;
            s->invstd[c] = invstd;
        }
        float scale = gamma[c] * invstd, shift = beta[c] - mean * scale;
        for (int n = 0; n < in->n; n++) {
            const float *x = in->data + ((size_t)n * channels + c) * spatial;
            float *y = layer->out.data + ((size_t)n * channels + c) * spatial;
            for (size_t p = 0; p < spatial; p++)
                y[p] = x[p] * scale + shift;
        }
    }
    return ET_OK;
}

/* In training mode the statistics depend on the input, which adds the two
 * mean terms; with running statistics the layer is a per-channel affine map. */
static int batchnorm_backward(et_layer *layer, et_net *net)
{
    batchnorm_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    const float *gamma = layer->params[0].value.data;
    float *dgamma = layer->params[0].grad.data, *dbeta = layer->params[1].grad.data;
    int channels = in->c;
    size_t spatial = (size_t)in->h * in->w, count = (size_t)in->n * spatial;
    for (int c = 0; c < channels; c++) {
        float mean = s->mean[c], invstd = s->invstd[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < in->n; n++) {
            size_t off = ((size_t)n * channels + c) * spatial;
            const float *x = in->data + off, *dy = layer->dout.data + off;
            float a = 0.0f, b = 0.0f;
            for (size_t p = 0; p < spatial; p++) {
                a += dy[p];
                b += dy[p] * (x[p] - mean);
            }
            sum_dy += a;
            sum_dy_xhat += b;
        }
        sum_dy_xhat *= invstd;
        dgamma[c] += (float)sum_dy_xhat;
        dbeta[c] += (float)sum_dy;
        if (!din)
            continue;
        float k = gamma[c] * invstd / (float)count;
        float mean_dy = s->trained ? (float)sum_dy : 0.0f;
        float mean_term = s->trained ? (float)sum_dy_xhat : 0.0f;
        for (int n = 0; n < in->n; n++) {
            size_t off = ((size_t)n * channels + c) * spatial;
            const float *x = in->data + off, *dy = layer->dout.data + off;
            float *dx = din->data + off;
            for (size_t p = 0; p < spatial; p++) {
                float xhat = (x[p] - mean) * invstd;
                dx[p] += k * ((float)count * dy[p] - mean_dy - xhat * mean_term);
            }
        }
    }
    return ET_OK;
}

const et_layer_type et_layer_batchnorm = {"batchnorm", batchnorm_setup, batchnorm_forward, batchnorm_backward,
                                          batchnorm_destroy};
