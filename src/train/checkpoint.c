#include "emotrace/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/safetensors.h"

#define NAME_MAX_LEN (2 * ET_NAME_SIZE + 32)

typedef struct {
    et_st_write_tensor *tensors;
    char (*names)[NAME_MAX_LEN];
    int count;
    const et_optimizer *opt;
    int opt_index;
} collect_ctx;

static void shape_of(const et_tensor *t, et_st_write_tensor *w)
{
    w->ndim = et_param_shape(t, w->shape);
}

static int collect(const et_param_ref *param, void *ctx)
{
    collect_ctx *c = ctx;
    snprintf(c->names[c->count], NAME_MAX_LEN, "%s.%s", param->layer, param->name);
    c->tensors[c->count].name = c->names[c->count];
    c->tensors[c->count].data = param->value->data;
    shape_of(param->value, &c->tensors[c->count]);
    c->count++;
    if (!param->trainable)
        return ET_OK;
    const char *suffix[3] = {"m", "v", "average"};
    float *state[3] = {c->opt->m[c->opt_index], c->opt->v[c->opt_index],
                       c->opt->averaged ? c->opt->average[c->opt_index] : NULL};
    for (int k = 0; k < 3; k++) {
        if (!state[k])
            continue;
        snprintf(c->names[c->count], NAME_MAX_LEN, "optimizer.%s.%s.%s", param->layer, param->name, suffix[k]);
        c->tensors[c->count].name = c->names[c->count];
        c->tensors[c->count].data = state[k];
        shape_of(param->value, &c->tensors[c->count]);
        c->count++;
    }
    c->opt_index++;
    return ET_OK;
}

static int count_param(const et_param_ref *param, void *ctx)
{
    (void)param;
    (*(int *)ctx)++;
    return ET_OK;
}

int et_checkpoint_save(const char *path, const et_net *net, const et_optimizer *opt, const et_checkpoint_info *info)
{
    int params = 0;
    et_net_visit_params((et_net *)net, count_param, &params);
    int capacity = params * 4 + 1;
    collect_ctx ctx = {calloc((size_t)capacity, sizeof(et_st_write_tensor)),
                       calloc((size_t)capacity, NAME_MAX_LEN), 0, opt, 0};
    if (!ctx.tensors || !ctx.names) {
        free(ctx.tensors);
        free(ctx.names);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    et_net_visit_params((et_net *)net, collect, &ctx);
    char epoch[32], step[32], rng[80], best[32], best_epoch[32], opt_step[32], position[96], averaged[32];
    snprintf(epoch, sizeof epoch, "%d", info->epoch);
    snprintf(position, sizeof position, "%d %.17g %ld %ld", info->position, info->partial_loss,
             info->partial_correct, info->partial_seen);
    snprintf(step, sizeof step, "%ld", info->step);
    snprintf(opt_step, sizeof opt_step, "%ld", opt->step);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, info->rng.s[0],
             info->rng.s[1], info->rng.s[2], info->rng.s[3]);
    snprintf(best, sizeof best, "%.17g", info->best_accuracy);
    snprintf(best_epoch, sizeof best_epoch, "%d", info->best_epoch);
    snprintf(averaged, sizeof averaged, "%ld", opt->averaged);
    const char *metadata[] = {"architecture", et_net_arch(net), "checkpoint_epoch", epoch, "checkpoint_step", step,
                              "optimizer_step", opt_step, "epoch_position", position, "rng", rng,
                              "best_accuracy", best, "best_epoch", best_epoch, "settings", info->settings,
                              "weight_average_count", averaged, NULL};
    int rc = et_safetensors_save(path, ctx.tensors, ctx.count, metadata);
    free(ctx.tensors);
    free(ctx.names);
    return rc;
}

typedef struct {
    const et_safetensors *st;
    et_optimizer *opt;
    int opt_index;
} restore_ctx;

static int restore(const et_param_ref *param, void *ctx)
{
    restore_ctx *c = ctx;
    char name[NAME_MAX_LEN];
    size_t count = et_tensor_count(param->value);
    snprintf(name, sizeof name, "%s.%s", param->layer, param->name);
    int rc = et_safetensors_load_f32(c->st, name, param->value->data, count);
    if (rc != ET_OK || !param->trainable)
        return rc;
    const char *suffix[3] = {"m", "v", "average"};
    float *state[3] = {c->opt->m[c->opt_index], c->opt->v[c->opt_index],
                       c->opt->averaged ? c->opt->average[c->opt_index] : NULL};
    for (int k = 0; k < 3 && rc == ET_OK; k++) {
        if (!state[k])
            continue;
        snprintf(name, sizeof name, "optimizer.%s.%s.%s", param->layer, param->name, suffix[k]);
        rc = et_safetensors_load_f32(c->st, name, state[k], count);
    }
    c->opt_index++;
    return rc;
}

int et_checkpoint_load(const char *path, et_net *net, et_optimizer *opt, et_checkpoint_info *info)
{
    et_safetensors st;
    int rc = et_safetensors_load(&st, path);
    if (rc != ET_OK)
        return rc;
    const char *arch = et_safetensors_meta(&st, "architecture");
    const char *epoch = et_safetensors_meta(&st, "checkpoint_epoch");
    const char *step = et_safetensors_meta(&st, "checkpoint_step");
    const char *opt_step = et_safetensors_meta(&st, "optimizer_step");
    const char *rng = et_safetensors_meta(&st, "rng");
    const char *best = et_safetensors_meta(&st, "best_accuracy");
    const char *best_epoch = et_safetensors_meta(&st, "best_epoch");
    const char *settings = et_safetensors_meta(&st, "settings");
    if (!arch || !epoch || !step || !opt_step || !rng || strlen(rng) != 64 || !best || !best_epoch || !settings) {
        et_safetensors_free(&st);
        return et_error_set(ET_ERR_FORMAT, "%s: not a training checkpoint (metadata missing)", path);
    }
    if (strcmp(arch, et_net_arch(net)) != 0) {
        et_safetensors_free(&st);
        return et_error_set(ET_ERR_FORMAT, "%s: checkpoint architecture differs from this run's", path);
    }
    memset(info, 0, sizeof *info);
    info->epoch = atoi(epoch);
    /* Checkpoints from the middle of an epoch say where (older ones: none). */
    const char *position = et_safetensors_meta(&st, "epoch_position");
    if (position && sscanf(position, "%d %lf %ld %ld", &info->position, &info->partial_loss, &info->partial_correct,
                           &info->partial_seen) != 4) {
        et_safetensors_free(&st);
        return et_error_set(ET_ERR_FORMAT, "%s: bad epoch_position metadata '%s'", path, position);
    }
    info->step = atol(step);
    info->best_accuracy = atof(best);
    info->best_epoch = atoi(best_epoch);
    snprintf(info->settings, sizeof info->settings, "%s", settings);
    for (int i = 0; i < 4; i++) {
        char word[17];
        memcpy(word, rng + 16 * i, 16);
        word[16] = '\0';
        info->rng.s[i] = strtoull(word, NULL, 16);
    }
    opt->step = atol(opt_step);
    /* A run that averages weights saves the mean once it has a snapshot. */
    const char *averaged = et_safetensors_meta(&st, "weight_average_count");
    opt->averaged = averaged ? atol(averaged) : 0;
    if (opt->averaged < 0 || (opt->averaged > 0 && !opt->average)) {
        et_safetensors_free(&st);
        return et_error_set(ET_ERR_FORMAT, "%s: checkpoint holds a weight average this run does not keep", path);
    }
    restore_ctx ctx = {&st, opt, 0};
    rc = et_net_visit_params(net, restore, &ctx);
    et_safetensors_free(&st);
    return rc;
}
