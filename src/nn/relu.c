/* ReLU: max(0, x). */
#include <string.h>

#include "nn_internal.h"
#include "relu.h"

static int relu_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    (void)config;
    layer->out_shape = layer->in_shape[0];
    return 0;
}

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

const et_layer_type et_layer_relu = {"relu", relu_setup, relu_forward, NULL};
