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

static int count_param(const et_param_ref *param, void *ctx)
{
    if (param->trainable)
        ((et_optimizer *)ctx)->count++;
    return ET_OK;
}

static int alloc_param_state(const et_param_ref *param, void *ctx)
{
    init_ctx *c = ctx;
    if (!param->trainable)
        return ET_OK;
    size_t n = et_tensor_count(param->value);
    c->opt->sizes[c->index] = n;
    c->opt->m[c->index] = et_floats_alloc(n);
    if (c->opt->kind == ET_OPTIMIZER_ADAMW)
        c->opt->v[c->index] = et_floats_alloc(n);
    if (!c->opt->m[c->index] || (c->opt->kind == ET_OPTIMIZER_ADAMW && !c->opt->v[c->index]))
        return et_error_set(ET_ERR_NOMEM, "optimizer: out of memory for '%s.%s'", param->layer, param->name);
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
    et_param_ref *params; /* trainable params, in optimizer order */
    float lr;
} step_job;

/* Below this many values a parameter is updated by the first thread alone. */
#define OPT_SPLIT_MIN 4096

/* Every thread updates its share of each large parameter (the updates are
 * elementwise, so the split does not change the result). */
static void step_part(void *ctx, int t, int threads)
{
    const step_job *j = ctx;
    et_optimizer *o = j->opt;
    for (int i = 0; i < o->count; i++) {
        const et_param_ref *param = &j->params[i];
        size_t n = o->sizes[i], begin = 0, end = n;
        if (n >= OPT_SPLIT_MIN)
            et_parallel_range(n, t, threads, &begin, &end);
        else if (t != 0)
            continue;
        if (end <= begin)
            continue;
        float decay = param->decay ? o->weight_decay : 0.0f;
        if (o->kind == ET_OPTIMIZER_SGD)
            et_sgd_update(param->value->data + begin, param->grad->data + begin, o->m[i] + begin, end - begin, j->lr,
                          o->momentum, o->nesterov, decay);
        else
            et_adamw_update(param->value->data + begin, param->grad->data + begin, o->m[i] + begin,
                            o->v[i] + begin, end - begin, j->lr, o->beta1, o->beta2, o->eps, decay, o->step);
    }
}

typedef struct {
    et_param_ref *params;
    int index, capacity;
} collect_ctx;

static int collect_param(const et_param_ref *param, void *ctx)
{
    collect_ctx *c = ctx;
    if (param->trainable) {
        if (c->index < c->capacity)
            c->params[c->index] = *param;
        c->index++;
    }
    return ET_OK;
}

int et_optimizer_step(et_optimizer *opt, et_net *net, float lr)
{
    opt->step++;
    et_param_ref *params = malloc(((size_t)opt->count + 1) * sizeof *params);
    if (!params)
        return et_error_set(ET_ERR_NOMEM, "optimizer: out of memory");
    collect_ctx c = {params, 0, opt->count};
    et_net_visit_params(net, collect_param, &c);
    if (c.index != opt->count) {
        free(params);
        return et_error_set(ET_ERR_USAGE, "optimizer: the net has %d trainable parameters, the optimizer %d",
                            c.index, opt->count);
    }
    step_job j = {opt, params, lr};
    et_parallel_run(0, step_part, &j);
    free(params);
    return ET_OK;
}

void et_optimizer_free(et_optimizer *opt)
{
    if (!opt)
        return;
    for (int i = 0; i < opt->count; i++) {
        if (opt->m)
            et_floats_free(opt->m[i]);
        if (opt->v)
            et_floats_free(opt->v[i]);
        if (opt->average)
            et_floats_free(opt->average[i]);
    }
    free(opt->m);
    free(opt->v);
    free(opt->average);
    free(opt->sizes);
    memset(opt, 0, sizeof *opt);
}
