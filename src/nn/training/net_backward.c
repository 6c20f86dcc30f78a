/* The backward pass through a net: the gradients the layers read and
 * write, zeroing them, and running each layer's backward from the last to
 * the first. Run-time code never calls into this file. */
#include <string.h>

#include "../nn_internal.h"
#include "emotrace/error.h"
#include "emotrace/nn_train.h"

et_tensor *et_layer_input_grad(et_net *net, et_layer *layer, int i)
{
    int src = layer->inputs[i];
    if (src < 0)
        return net->need_input_grad ? &net->dinput : NULL;
    return &net->layers[src].dout;
}

int et_layer_input_grad_assign(const et_net *net, const et_layer *layer, int i)
{
    int src = layer->inputs[i];
    return src >= 0 && net->layers[src].grad_assign;
}

et_tensor *et_net_output_grad(et_net *net, int i)
{
    et_layer *layer = &net->layers[net->outputs[i]];
    const et_tensor *out = &layer->out;
    if (et_tensor_resize(&layer->dout, out->n, out->c, out->h, out->w) != ET_OK)
        return NULL;
    return &layer->dout;
}

et_rng *et_net_rng(et_net *net)
{
    return &net->rng;
}

/* Each thread clears its share of every parameter gradient. */
static void zero_grad_part(void *ctx, int t, int threads)
{
    et_net *net = ctx;
    for (int l = 0; l < net->layer_count; l++) {
        et_layer *layer = &net->layers[l];
        for (int p = 0; p < layer->param_count; p++)
            if (layer->params[p].trainable) {
                size_t begin, end;
                et_parallel_range(et_tensor_count(&layer->params[p].grad), t, threads, &begin, &end);
                memset(layer->params[p].grad.data + begin, 0, (end - begin) * sizeof(float));
            }
    }
}

void et_net_zero_grad(et_net *net)
{
    et_parallel_run(et_net_param_count(net) >= 65536 ? 0 : 1, zero_grad_part, net);
}

typedef struct {
    float *data;
    size_t count;
} zero_job;

static void zero_part(void *ctx, int t, int threads)
{
    const zero_job *z = ctx;
    size_t begin, end;
    et_parallel_range(z->count, t, threads, &begin, &end);
    memset(z->data + begin, 0, (end - begin) * sizeof(float));
}

static int zero_tensor(et_tensor *t, int n, et_shape s)
{
    int rc = et_tensor_resize(t, n, s.c, s.h, s.w);
    if (rc != ET_OK)
        return rc;
    zero_job z = {t->data, et_tensor_count(t)};
    if (z.count)
        et_parallel_run(z.count >= 65536 ? 0 : 1, zero_part, &z);
    return ET_OK;
}

int et_net_backward_begin(et_net *net)
{
    /* Output layers' dout is set by the loss. Every other gradient is
     * accumulated by the layers that consume it, so it starts from zero,
     * unless a single consumer that can write it (rather than add to it)
     * reads it: then that consumer fills it. */
    for (int l = 0; l < net->layer_count; l++) {
        et_layer *layer = &net->layers[l];
        layer->grad_assign = 0;
        int output = et_net_is_output(net, l);
        if (output && layer->dout.n == net->rows)
            continue;
        int consumer = -1;
        if (!output && et_net_consumers(net, l, &consumer) == 1 && net->layers[consumer].assigns_input_grad) {
            layer->grad_assign = 1;
            int rc = et_tensor_resize(&layer->dout, net->rows, layer->out_shape.c, layer->out_shape.h,
                                      layer->out_shape.w);
            if (rc != ET_OK)
                return rc;
            continue;
        }
        int rc = zero_tensor(&layer->dout, net->rows, layer->out_shape);
        if (rc != ET_OK)
            return rc;
    }
    if (net->need_input_grad) {
        int rc = zero_tensor(&net->dinput, net->rows, net->input_shape);
        if (rc != ET_OK)
            return rc;
    }
    return ET_OK;
}

int et_net_backward(et_net *net)
{
    int rc = et_net_backward_begin(net);
    if (rc != ET_OK)
        return rc;
    for (int l = net->layer_count - 1; l >= 0; l--) {
        et_layer *layer = &net->layers[l];
        if (layer->identity)
            return et_error_set(ET_ERR_USAGE, "net '%s': cannot train a net with folded batch norm", net->name);
        int rc = et_layer_backward(layer, net);
        if (rc != ET_OK)
            return et_error_wrap(rc, "layer '%s' backward: ", layer->name);
    }
    return ET_OK;
}
