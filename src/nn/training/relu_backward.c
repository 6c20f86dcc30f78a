/* The backward pass of relu (its forward pass: ../relu.c). */
#include "../nn_internal.h"
#include "../relu.h"
#include "emotrace/error.h"
#include "layer_backward.h"

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

int et_relu_backward(et_layer *layer, et_net *net)
{
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din || fused_source(net, layer)) /* the batch norm's backward does it */
        return 0;
    relu_job j = {NULL, layer->out.data, layer->dout.data, din->data, et_tensor_count(&layer->out),
                  et_layer_input_grad_assign(net, layer, 0)};
    et_parallel_run(j.count >= RELU_PARALLEL_MIN ? 0 : 1, backward_part, &j);
    return 0;
}
