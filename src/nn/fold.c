/* Folding inference-mode batch norm into the conv2d or dense layer before it:
 * bn(W x + b) = s * (W x + b - mean) + beta with s = gamma / sqrt(var + eps),
 * which is (s W) x + (s (b - mean) + beta), one layer instead of two. */
#include <math.h>
#include <string.h>

#include "emotrace/error.h"
#include "nn_internal.h"

/* batchnorm.c's default; the layer keeps its eps private, so read it from
 * the architecture the net was built from. */
#define FOLD_DEFAULT_EPS 1e-5

static double batchnorm_eps(const et_json *arch, const char *name)
{
    const et_json *layers = et_json_get(arch, "layers");
    for (const et_json *config = layers ? layers->child : NULL; config; config = config->next)
        if (!strcmp(et_json_get_string(config, "name", ""), name))
            return et_json_get_number(config, "eps", FOLD_DEFAULT_EPS);
    return FOLD_DEFAULT_EPS;
}

/* The layer's output feeds only consumer and is not a net output. */
static int feeds_only(const et_net *net, int layer, int consumer)
{
    for (int o = 0; o < net->output_count; o++)
        if (net->outputs[o] == layer)
            return 0;
    for (int l = 0; l < net->layer_count; l++)
        for (int i = 0; i < net->layers[l].input_count; i++)
            if (net->layers[l].inputs[i] == layer && l != consumer)
                return 0;
    return 1;
}

static int fold_one(et_net *net, et_layer *prev, et_layer *bn, double eps)
{
    int channels = bn->out_shape.c;
    const float *gamma = bn->params[0].value.data, *beta = bn->params[1].value.data;
    const float *mean = bn->params[2].value.data, *var = bn->params[3].value.data;
    et_tensor *weight = &prev->params[0].value;
    if (weight->n != channels)
        return et_error_set(ET_ERR_USAGE, "net '%s': cannot fold '%s' into '%s': %d channels but %d outputs",
                            net->name, bn->name, prev->name, channels, weight->n);
    /* conv2d and dense both use params[1] as the bias whenever it exists. */
    if (prev->param_count < 2 && !et_layer_add_param(prev, "bias", channels, 1, 1, 1, 1, 0))
        return et_error_set(ET_ERR_NOMEM, "net '%s': out of memory folding '%s'", net->name, bn->name);
    float *bias = prev->params[1].value.data;
    size_t per_output = et_tensor_sample_count(weight);
    for (int c = 0; c < channels; c++) {
        double scale = gamma[c] / sqrt((double)var[c] + eps);
        float *w = weight->data + (size_t)c * per_output;
        for (size_t k = 0; k < per_output; k++)
            w[k] = (float)(w[k] * scale);
        bias[c] = (float)(((double)bias[c] - mean[c]) * scale + beta[c]);
    }
    bn->identity = 1;
    bn->fused_relu = 0; /* its own ReLU fusion (training) no longer applies */
    return ET_OK;
}

/* A ReLU whose input is a conv2d/dense (directly or through a folded batch
 * norm) or an add (residual blocks), read by nothing else, becomes part of
 * that layer's output pass. */
static void fuse_relus(et_net *net)
{
    for (int l = 0; l < net->layer_count; l++) {
        et_layer *relu = &net->layers[l];
        if (relu->identity || strcmp(relu->type->name, "relu") || relu->input_count != 1 || relu->inputs[0] < 0)
            continue;
        int src = relu->inputs[0];
        if (!feeds_only(net, src, l))
            continue;
        et_layer *producer = &net->layers[src];
        if (producer->identity) { /* a folded batch norm: its input feeds only it */
            if (producer->input_count != 1 || producer->inputs[0] < 0)
                continue;
            producer = &net->layers[producer->inputs[0]];
        }
        if (producer->identity || producer->fused_relu ||
            (strcmp(producer->type->name, "conv2d") && strcmp(producer->type->name, "dense") &&
             strcmp(producer->type->name, "add")))
            continue;
        producer->fused_relu = 1;
        relu->identity = 1;
    }
}

int et_net_fold_batchnorm(et_net *net)
{
    et_json *arch = NULL;
    int rc = et_json_parse(net->arch, strlen(net->arch), &arch);
    if (rc != ET_OK)
        return et_error_wrap(rc, "net '%s': architecture: ", net->name);
    for (int l = 0; l < net->layer_count && rc == ET_OK; l++) {
        et_layer *bn = &net->layers[l];
        if (bn->identity || strcmp(bn->type->name, "batchnorm") || bn->input_count != 1 || bn->inputs[0] < 0)
            continue;
        et_layer *prev = &net->layers[bn->inputs[0]];
        if (prev->identity || (strcmp(prev->type->name, "conv2d") && strcmp(prev->type->name, "dense")) ||
            !feeds_only(net, bn->inputs[0], l))
            continue;
        rc = fold_one(net, prev, bn, batchnorm_eps(arch, bn->name));
    }
    et_json_free(arch);
    if (rc == ET_OK)
        fuse_relus(net);
    return rc;
}
