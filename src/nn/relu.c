/* ReLU: max(0, x). */
#include <string.h>

#include "nn_internal.h"

/* Below this many values a pass is not worth waking other threads. */
#define RELU_PARALLEL_MIN 32768

static int relu_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    (void)config;
    layer->out_shape = layer->in_shape[0];
    return 0;
}

typedef struct {
    const float *x, *y, *dy;
    float *out;
    size_t count;
    int assign;
} relu_job;

static void forward_part(void *ctx, int t, int threads)
{
    const relu_job *j = ctx;
    size_t begin, end;
    et_parallel_range(j->count, t, threads, &begin, &end);
    const float *x = j->x;
    float *y = j->out;
    /* Branch-free so it vectorises: signs of activations are unpredictable. */
    for (size_t i = begin; i < end; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static void backward_part(void *ctx, int t, int threads)
{
    const relu_job *j = ctx;
    size_t begin, end;
    et_parallel_range(j->count, t, threads, &begin, &end);
    const float *y = j->y, *dy = j->dy;
    float *dx = j->out;
    /* dy is read unconditionally so that the select vectorises. */
    if (j->assign)
        for (size_t i = begin; i < end; i++) {
            float g = dy[i];
            dx[i] = y[i] > 0.0f ? g : 0.0f;
        }
    else
        for (size_t i = begin; i < end; i++) {
            float g = dy[i];
            dx[i] += y[i] > 0.0f ? g : 0.0f;
        }
}

/* The batch norm this ReLU reads, when it applies the ReLU itself (see
 * et_layer.fused_relu). */
static et_layer *fused_source(et_net *net, et_layer *layer)
{
    int src = layer->inputs[0];
    if (src < 0 || !net->layers[src].fused_relu || net->layers[src].identity ||
        strcmp(net->layers[src].type->name, "batchnorm"))
        return NULL;
    return &net->layers[src];
}

static int relu_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    et_layer *bn = fused_source(net, layer);
    if (bn) { /* the values are there: take the buffer over */
        et_tensor t = bn->out;
        bn->out = layer->out;
        layer->out = t;
        return 0;
    }
    const et_tensor *in = et_layer_input(net, layer, 0);
    relu_job j = {in->data, NULL, NULL, layer->out.data, et_tensor_count(in), 0};
    et_parallel_run(j.count >= RELU_PARALLEL_MIN ? 0 : 1, forward_part, &j);
    return 0;
}

static int relu_backward(et_layer *layer, et_net *net)
{
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din || fused_source(net, layer)) /* the batch norm's backward does it */
        return 0;
    relu_job j = {NULL, layer->out.data, layer->dout.data, din->data, et_tensor_count(&layer->out),
                  et_layer_input_grad_assign(net, layer, 0)};
    et_parallel_run(j.count >= RELU_PARALLEL_MIN ? 0 : 1, backward_part, &j);
    return 0;
}

const et_layer_type et_layer_relu = {"relu", relu_setup, relu_forward, relu_backward, NULL};
