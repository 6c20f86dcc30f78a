/* Dense (fully connected) layer over the flattened sample.
 * Settings: out, bias (true). Params: weight [out, in], bias [out]. */
#include <cblas.h>

#include "emotrace/error.h"
#include "nn_internal.h"

static int dense_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    int out = 0, rc = et_config_int(config, "out", 0, 1, ET_MAX_SIDE, &out);
    if (rc != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer->name);
    int has_bias = et_json_get_bool(config, "bias", 1);
    et_shape in = layer->in_shape[0];
    if (layer->input_count != 1 || out < 1)
        return et_error_set(ET_ERR_FORMAT, "layer '%s': dense needs one input and \"out\" >= 1", layer->name);
    layer->out_shape = (et_shape){out, 1, 1};
    if (!et_layer_add_param(layer, "weight", out, in.c * in.h * in.w, 1, 1, 1, 1) ||
        (has_bias && !et_layer_add_param(layer, "bias", out, 1, 1, 1, 1, 0)))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    return ET_OK;
}

/* Below this many multiply-adds a GEMM is not worth splitting. */
#define DENSE_PARALLEL_MIN (1 << 20)

typedef struct {
    et_layer *layer;
    const float *x, *dy;
    float *dx;
    int rows, features, out, relu, assign;
} dense_job;

/* Threads take columns of the output (a multiple of 16 each). */
static void split16(int count, int t, int threads, int *begin, int *end)
{
    int blocks = (count + 15) / 16;
    size_t b, e;
    et_parallel_range((size_t)blocks, t, threads, &b, &e);
    *begin = (int)b * 16 < count ? (int)b * 16 : count;
    *end = (int)e * 16 < count ? (int)e * 16 : count;
}

static void forward_part(void *ctx, int t, int threads)
{
    const dense_job *j = ctx;
    et_layer *layer = j->layer;
    float *y = layer->out.data;
    int o0, o1;
    split16(j->out, t, threads, &o0, &o1);
    if (o1 <= o0)
        return;
    int has_bias = layer->param_count > 1;
    if (has_bias) {
        const float *bias = layer->params[1].value.data;
        for (int r = 0; r < j->rows; r++)
            for (int o = o0; o < o1; o++)
                y[(size_t)r * j->out + o] = bias[o];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->rows, o1 - o0, j->features, 1.0f, j->x, j->features,
                layer->params[0].value.data + (size_t)o0 * j->features, j->features, has_bias ? 1.0f : 0.0f, y + o0,
                j->out);
    if (j->relu)
        for (int r = 0; r < j->rows; r++)
            for (int o = o0; o < o1; o++) {
                float v = y[(size_t)r * j->out + o];
                y[(size_t)r * j->out + o] = v > 0.0f ? v : 0.0f;
            }
}

static int dense_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const et_tensor *in = et_layer_input(net, layer, 0);
    dense_job j = {layer, in->data, NULL, NULL, in->n, (int)et_tensor_sample_count(in), layer->out.c,
                   layer->fused_relu, 0};
    double work = (double)j.rows * j.out * j.features;
    et_parallel_run(work >= DENSE_PARALLEL_MIN ? 0 : 1, forward_part, &j);
    return ET_OK;
}

static void backward_part(void *ctx, int t, int threads)
{
    const dense_job *j = ctx;
    et_layer *layer = j->layer;
    /* Weight gradient: rows [o0, o1) of dW. */
    int o0, o1;
    split16(j->out, t, threads, &o0, &o1);
    if (o1 > o0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, j->features, j->rows, 1.0f, j->dy + o0, j->out,
                    j->x, j->features, 1.0f, layer->params[0].grad.data + (size_t)o0 * j->features, j->features);
        if (layer->param_count > 1) {
            float *dbias = layer->params[1].grad.data;
            for (int o = o0; o < o1; o++) {
                float sum = 0.0f;
                for (int r = 0; r < j->rows; r++)
                    sum += j->dy[(size_t)r * j->out + o];
                dbias[o] += sum;
            }
        }
    }
    if (!j->dx)
        return;
    /* Input gradient: columns [f0, f1) of dX. */
    int f0, f1;
    split16(j->features, t, threads, &f0, &f1);
    if (f1 > f0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->rows, f1 - f0, j->out, 1.0f, j->dy, j->out,
                    layer->params[0].value.data + f0, j->features, j->assign ? 0.0f : 1.0f, j->dx + f0,
                    j->features);
}

static int dense_backward(et_layer *layer, et_net *net)
{
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    dense_job j = {layer, in->data, layer->dout.data, din ? din->data : NULL, in->n,
                   (int)et_tensor_sample_count(in), layer->out.c, 0,
                   din && et_layer_input_grad_assign(net, layer, 0)};
    double work = (double)j.rows * j.out * j.features;
    et_parallel_run(work >= DENSE_PARALLEL_MIN ? 0 : 1, backward_part, &j);
    return ET_OK;
}

const et_layer_type et_layer_dense = {"dense", dense_setup, dense_forward, dense_backward, NULL};
