/* Optimizer state (one buffer per trainable parameter) and the update rules. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/train_ops.h"

void et_sgd_update(float *w, const float *grad, float *buf, size_t n, float lr, float momentum, int nesterov,
                   float weight_decay)
{
    for (size_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * w[i];
        buf[i] = momentum * buf[i] + g;
        w[i] -= lr * (nesterov ? g + momentum * buf[i] : buf[i]);
    }
}

void et_adamw_update(float *w, const float *grad, float *m, float *v, size_t n, float lr, float beta1,
                     float beta2, float eps, float weight_decay, long t)
{
    float c1 = 1.0f - powf(beta1, (float)t), c2 = 1.0f - powf(beta2, (float)t);
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * grad[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * grad[i] * grad[i];
        float mhat = m[i] / c1, vhat = v[i] / c2;
        w[i] -= lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * w[i]);
    }
}

typedef struct {
    et_optimizer *opt;
    int index;
} init_ctx;

static int count_param(et_layer *layer, et_param *param, void *ctx)
{
    (void)layer;
    if (param->trainable)
        ((et_optimizer *)ctx)->count++;
    return ET_OK;
}

static int alloc_param_state(et_layer *layer, et_param *param, void *ctx)
{
    init_ctx *c = ctx;
    if (!param->trainable)
        return ET_OK;
    size_t n = et_tensor_count(&param->value);
    c->opt->sizes[c->index] = n;
    c->opt->m[c->index] = et_floats_alloc(n);
    if (c->opt->kind == ET_OPTIMIZER_ADAMW)
        c->opt->v[c->index] = et_floats_alloc(n);
    if (!c->opt->m[c->index] || (c->opt->kind == ET_OPTIMIZER_ADAMW && !c->opt->v[c->index]))
        return et_error_set(ET_ERR_NOMEM, "optimizer: out of memory for '%s.%s'", layer->name, param->name);
    c->index++;
    return ET_OK;
}

int et_optimizer_init(et_optimizer *opt, et_net *net, et_optimizer_kind kind)
{
    memset(opt, 0, sizeof *opt);
    opt->kind = kind;
    opt->momentum = 0.9f;
    opt->nesterov = 1;
    opt->beta1 = 0.9f;
    opt->beta2 = 0.999f;
    opt->eps = 1e-8f;
    et_net_visit_params(net, count_param, opt);
    opt->m = calloc((size_t)opt->count + 1, sizeof *opt->m);
    opt->v = calloc((size_t)opt->count + 1, sizeof *opt->v);
    opt->sizes = calloc((size_t)opt->count + 1, sizeof *opt->sizes);
    if (!opt->m || !opt->v || !opt->sizes) {
        et_optimizer_free(opt);
        return et_error_set(ET_ERR_NOMEM, "optimizer: out of memory");
    }
    init_ctx ctx = {opt, 0};
    int rc = et_net_visit_params(net, alloc_param_state, &ctx);
    if (rc != ET_OK)
        et_optimizer_free(opt);
    return rc;
}

typedef struct {
    et_optimizer *opt;
    int index;
    float lr;
} step_ctx;

static int step_param(et_layer *layer, et_param *param, void *ctx)
{
    (void)layer;
    step_ctx *c = ctx;
    if (!param->trainable)
        return ET_OK;
    et_optimizer *o = c->opt;
    size_t n = o->sizes[c->index];
    float decay = param->decay ? o->weight_decay : 0.0f;
    if (o->kind == ET_OPTIMIZER_SGD)
        et_sgd_update(param->value.data, param->grad.data, o->m[c->index], n, c->lr, o->momentum, o->nesterov,
                      decay);
    else
        et_adamw_update(param->value.data, param->grad.data, o->m[c->index], o->v[c->index], n, c->lr, o->beta1,
                        o->beta2, o->eps, decay, o->step);
    c->index++;
    return ET_OK;
}

int et_optimizer_step(et_optimizer *opt, et_net *net, float lr)
{
    opt->step++;
    step_ctx ctx = {opt, 0, lr};
    return et_net_visit_params(net, step_param, &ctx);
}

void et_optimizer_free(et_optimizer *opt)
{
    for (int i = 0; i < opt->count; i++) {
        if (opt->m)
            et_floats_free(opt->m[i]);
        if (opt->v)
            et_floats_free(opt->v[i]);
    }
    free(opt->m);
    free(opt->v);
    free(opt->sizes);
    memset(opt, 0, sizeof *opt);
}
