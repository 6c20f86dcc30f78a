/* Stochastic weight averaging (Izmailov et al., 2018): the mean of the
 * weights a run passes through at a constant or cyclic learning rate lies
 * nearer the middle of a wide minimum than any one of them. The mean is a
 * running one, kept as optimizer state. */
#include <stdlib.h>

#include "emotrace/error.h"
#include "emotrace/train_ops.h"

int et_optimizer_average_enable(et_optimizer *opt)
{
    if (opt->average)
        return ET_OK;
    opt->average = calloc((size_t)opt->count + 1, sizeof *opt->average);
    if (!opt->average)
        return et_error_set(ET_ERR_NOMEM, "optimizer: out of memory for the weight average");
    for (int i = 0; i < opt->count; i++)
        if (!(opt->average[i] = et_floats_alloc(opt->sizes[i])))
            return et_error_set(ET_ERR_NOMEM, "optimizer: out of memory for the weight average");
    opt->averaged = 0;
    return ET_OK;
}

typedef struct {
    const et_optimizer *opt;
    int index;
    int apply; /* 1: average -> weights; 0: weights -> average */
} average_ctx;

static int visit(const et_param_ref *param, void *ctx)
{
    average_ctx *c = ctx;
    if (!param->trainable)
        return ET_OK;
    if (c->index >= c->opt->count || c->opt->sizes[c->index] != et_tensor_count(param->value))
        return et_error_set(ET_ERR_USAGE, "weight average: '%s.%s' does not match the optimizer's parameters",
                            param->layer, param->name);
    float *w = param->value->data, *mean = c->opt->average[c->index];
    size_t n = c->opt->sizes[c->index];
    if (c->apply) {
        for (size_t i = 0; i < n; i++)
            w[i] = mean[i];
    } else {
        /* mean += (w - mean) / k for the k-th snapshot */
        float weight = 1.0f / (float)(c->opt->averaged + 1);
        for (size_t i = 0; i < n; i++)
            mean[i] += (w[i] - mean[i]) * weight;
    }
    c->index++;
    return ET_OK;
}

static int walk(const et_optimizer *opt, et_net *net, int apply)
{
    if (!opt->average)
        return et_error_set(ET_ERR_USAGE, "weight average: not enabled");
    average_ctx c = {opt, 0, apply};
    int rc = et_net_visit_params(net, visit, &c);
    if (rc == ET_OK && c.index != opt->count)
        rc = et_error_set(ET_ERR_USAGE, "weight average: the net has %d trainable parameters, the optimizer %d",
                          c.index, opt->count);
    return rc;
}

int et_optimizer_average_add(et_optimizer *opt, et_net *net)
{
    int rc = walk(opt, net, 0);
    if (rc == ET_OK)
        opt->averaged++;
    return rc;
}

int et_optimizer_average_apply(const et_optimizer *opt, et_net *net)
{
    if (opt->averaged == 0)
        return et_error_set(ET_ERR_USAGE, "weight average: no snapshot taken yet");
    return walk(opt, net, 1);
}
