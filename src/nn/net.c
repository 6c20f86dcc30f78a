/* Network graph: building from architecture JSON and running layers in
 * order (the backward pass is in training/net_backward.c). */
#include "nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"

static int shapes_equal(et_shape a, et_shape b)
{
    return a.c == b.c && a.h == b.h && a.w == b.w;
}

void *et_layer_state_new(et_layer *layer, size_t size)
{
    layer->state = calloc(1, size);
    if (!layer->state)
        et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    return layer->state;
}

et_param *et_layer_add_param(et_layer *layer, const char *name, int n, int c, int h, int w,
                             int trainable, int decay)
{
    if (layer->param_count >= ET_MAX_PARAMS)
        return NULL;
    et_param *p = &layer->params[layer->param_count];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->trainable = trainable;
    p->decay = decay;
    if (et_tensor_zeros(&p->value, n, c, h, w) != ET_OK)
        return NULL;
    if (trainable && et_tensor_zeros(&p->grad, n, c, h, w) != ET_OK) {
        et_tensor_free(&p->value);
        return NULL;
    }
    layer->param_count++;
    return p;
}

et_tensor *et_layer_input(et_net *net, et_layer *layer, int i)
{
    int src = layer->inputs[i];
    return src < 0 ? &net->input : &net->layers[src].out;
}

float *et_net_workspace(et_net *net, size_t count)
{
    /* Also when count is 0: callers take NULL for out of memory. */
    if (count > net->workspace_size || !net->workspace) {
        float *p = et_floats_alloc(count);
        if (!p)
            return NULL;
        et_floats_free(net->workspace);
        net->workspace = p;
        net->workspace_size = count;
    }
    return net->workspace;
}

int et_layer_prepare_output(et_layer *layer, et_net *net)
{
    return et_tensor_resize(&layer->out, net->rows, layer->out_shape.c, layer->out_shape.h,
                            layer->out_shape.w);
}

int et_config_ints(const et_json *config, const char *key, int *values, int count, int fallback)
{
    const et_json *v = et_json_get(config, key);
    if (!v) {
        for (int i = 0; i < count; i++)
            values[i] = fallback;
        return ET_OK;
    }
    if (v->type != ET_JSON_NUMBER && !(v->type == ET_JSON_ARRAY && v->count == count))
        return et_error_set(ET_ERR_FORMAT, "\"%s\" must be a number or a list of %d numbers", key, count);
    const et_json *e = v->type == ET_JSON_NUMBER ? v : v->child;
    for (int i = 0; i < count; i++) {
        /* Checked before the cast: a double out of int's range is undefined. */
        if (e->type != ET_JSON_NUMBER || !(fabs(e->number) <= ET_CONFIG_INT_MAX) || e->number != floor(e->number))
            return et_error_set(ET_ERR_FORMAT, "\"%s\" must hold whole numbers from -%d to %d", key,
                                ET_CONFIG_INT_MAX, ET_CONFIG_INT_MAX);
        values[i] = (int)e->number;
        if (v->type == ET_JSON_ARRAY)
            e = e->next;
    }
    return ET_OK;
}

int et_config_int(const et_json *config, const char *key, int fallback, int min, int max, int *value)
{
    int rc = et_config_ints(config, key, value, 1, fallback);
    if (rc == ET_OK && (*value < min || *value > max))
        rc = et_error_set(ET_ERR_FORMAT, "\"%s\" is %d, must be from %d to %d", key, *value, min, max);
    return rc;
}

/* 1 when the shape is within ET_MAX_SIDE and ET_MAX_VOLUME. */
static int shape_in_limits(et_shape s)
{
    return s.c <= ET_MAX_SIDE && s.h <= ET_MAX_SIDE && s.w <= ET_MAX_SIDE &&
           (size_t)s.c * s.h * s.w <= ET_MAX_VOLUME;
}

int et_net_find_layer(const et_net *net, const char *name)
{
    for (int i = 0; i < net->layer_count; i++)
        if (!strcmp(net->layers[i].name, name))
            return i;
    return -1;
}

et_tensor *et_net_output(et_net *net, int i)
{
    return &net->layers[net->outputs[i]].out;
}

int et_net_output_count(const et_net *net)
{
    return net->output_count;
}

et_shape et_net_output_shape(const et_net *net, int i)
{
    return net->layers[net->outputs[i]].out_shape;
}

et_tensor *et_net_input(et_net *net)
{
    return &net->input;
}

et_shape et_net_input_shape(const et_net *net)
{
    return net->input_shape;
}

et_shape et_net_layer_shape(const et_net *net, int layer)
{
    return net->layers[layer].out_shape;
}

const et_tensor *et_net_layer_output(const et_net *net, int layer)
{
    return &net->layers[layer].out;
}

const char *et_net_arch(const et_net *net)
{
    return net->arch;
}

static int layer_inputs_from_config(et_net *net, et_layer *layer, int index, const et_json *config)
{
    const et_json *in = et_json_get(config, "in");
    if (!in) {
        layer->inputs[0] = index - 1; /* previous layer, or -1 = net input */
        layer->input_count = 1;
    } else {
        if (in->type == ET_JSON_STRING) {
            layer->input_count = 1;
        } else if (in->type == ET_JSON_ARRAY && in->count >= 1 && in->count <= ET_MAX_INPUTS) {
            layer->input_count = in->count;
        } else {
            return et_error_set(ET_ERR_FORMAT, "layer '%s': \"in\" must name 1 to %d layers",
                                layer->name, ET_MAX_INPUTS);
        }
        for (int i = 0; i < layer->input_count; i++) {
            const et_json *e = in->type == ET_JSON_STRING ? in : et_json_at(in, i);
            if (e->type != ET_JSON_STRING)
                return et_error_set(ET_ERR_FORMAT, "layer '%s': \"in\" must hold names", layer->name);
            if (!strcmp(e->string, "input")) {
                layer->inputs[i] = -1;
                continue;
            }
            int src = -1;
            for (int j = 0; j < index; j++)
                if (!strcmp(net->layers[j].name, e->string))
                    src = j;
            if (src < 0)
                return et_error_set(ET_ERR_FORMAT, "layer '%s': input '%s' is not an earlier layer",
                                    layer->name, e->string);
            layer->inputs[i] = src;
        }
    }
    for (int i = 0; i < layer->input_count; i++)
        layer->in_shape[i] = layer->inputs[i] < 0 ? net->input_shape
                                                  : net->layers[layer->inputs[i]].out_shape;
    return ET_OK;
}

static int init_params(et_net *net)
{
    /* He-normal for weights (fan-in from the weight shape); the other
     * params keep what their layer's setup put there (zero by default). */
    for (int l = 0; l < net->layer_count; l++) {
        et_layer *layer = &net->layers[l];
        for (int p = 0; p < layer->param_count; p++) {
            et_param *param = &layer->params[p];
            et_tensor *t = &param->value;
            size_t count = et_tensor_count(t);
            if (param->decay) {
                size_t fan_in = (size_t)t->c * t->h * t->w;
                if (fan_in == 0)
                    fan_in = 1;
                double std = sqrt(2.0 / (double)fan_in);
                for (size_t i = 0; i < count; i++)
                    t->data[i] = (float)(std * et_rng_normal(&net->rng));
            }
        }
    }
    return ET_OK;
}

/* Builds the net; init: draw the weights (a loader overwrites them all). */
static int net_build(et_net **out, const char *arch_json, uint64_t seed, int init)
{
    *out = NULL;
    et_json *arch = NULL;
    int rc = et_json_parse(arch_json, strlen(arch_json), &arch);
    if (rc != ET_OK)
        return et_error_wrap(rc, "architecture: ");
    et_net *net = calloc(1, sizeof *net);
    if (!net) {
        et_json_free(arch);
        return et_error_set(ET_ERR_NOMEM, "architecture: out of memory");
    }
    et_rng_seed(&net->rng, seed);
    net->seq_len = 1;
    net->arch = strdup(arch_json);
    snprintf(net->name, sizeof net->name, "%s", et_json_get_string(arch, "name", "net"));

    const char *format = et_json_get_string(arch, "format", "");
    const et_json *input = et_json_get(arch, "input");
    const et_json *layers = et_json_get(arch, "layers");
    const et_json *outputs = et_json_get(arch, "outputs");
    int dims[3];
    if (strcmp(format, "emotrace-net-1") != 0) {
        rc = et_error_set(ET_ERR_FORMAT, "architecture: format is '%s', expected 'emotrace-net-1'", format);
        goto fail;
    }
    if (!input || et_config_ints(arch, "input", dims, 3, 0) != ET_OK || dims[0] < 1 || dims[1] < 1 || dims[2] < 1 ||
        !shape_in_limits((et_shape){dims[0], dims[1], dims[2]})) {
        rc = et_error_set(ET_ERR_FORMAT, "architecture: \"input\" must be [C, H, W] of positive sizes, at most %d "
                          "each and %d values in all", ET_MAX_SIDE, ET_MAX_VOLUME);
        goto fail;
    }
    net->input_shape = (et_shape){dims[0], dims[1], dims[2]};
    if (!layers || layers->type != ET_JSON_ARRAY || layers->count < 1) {
        rc = et_error_set(ET_ERR_FORMAT, "architecture: \"layers\" must be a non-empty list");
        goto fail;
    }
    net->layers = calloc((size_t)layers->count, sizeof *net->layers);
    if (!net->layers) {
        rc = et_error_set(ET_ERR_NOMEM, "architecture: out of memory");
        goto fail;
    }
    int index = 0;
    for (const et_json *config = layers->child; config; config = config->next, index++) {
        et_layer *layer = &net->layers[index];
        net->layer_count = index + 1;
        const char *name = et_json_get_string(config, "name", NULL);
        const char *type = et_json_get_string(config, "type", NULL);
        if (!name || !type || strlen(name) >= ET_NAME_SIZE) {
            rc = et_error_set(ET_ERR_FORMAT, "architecture: layer %d needs a \"name\" (under %d characters) and a \"type\"",
                              index, ET_NAME_SIZE);
            goto fail;
        }
        snprintf(layer->name, sizeof layer->name, "%s", name);
        if (et_net_find_layer(net, name) != index) {
            rc = et_error_set(ET_ERR_FORMAT, "architecture: layer name '%s' used twice", name);
            goto fail;
        }
        layer->type = et_layer_type_find(type);
        if (!layer->type) {
            rc = et_error_set(ET_ERR_FORMAT, "architecture: layer '%s' has unknown type '%s'", name, type);
            goto fail;
        }
        rc = layer_inputs_from_config(net, layer, index, config);
        if (rc != ET_OK)
            goto fail;
        rc = layer->type->setup(layer, config);
        if (rc != ET_OK)
            goto fail;
        if (layer->out_shape.c < 1 || layer->out_shape.h < 1 || layer->out_shape.w < 1 ||
            !shape_in_limits(layer->out_shape)) {
            rc = et_error_set(ET_ERR_FORMAT, "architecture: layer '%s' gives an output of %dx%dx%d, not from 1 to %d "
                              "per side and %d values", name, layer->out_shape.c, layer->out_shape.h,
                              layer->out_shape.w, ET_MAX_SIDE, ET_MAX_VOLUME);
            goto fail;
        }
    }
    if (!outputs || outputs->type != ET_JSON_ARRAY || outputs->count < 1 || outputs->count > ET_MAX_INPUTS) {
        rc = et_error_set(ET_ERR_FORMAT, "architecture: \"outputs\" must list 1 to %d layer names", ET_MAX_INPUTS);
        goto fail;
    }
    for (const et_json *o = outputs->child; o; o = o->next) {
        int found = o->type == ET_JSON_STRING ? et_net_find_layer(net, o->string) : -1;
        if (found < 0) {
            rc = et_error_set(ET_ERR_FORMAT, "architecture: output '%s' is not a layer",
                              o->type == ET_JSON_STRING ? o->string : "?");
            goto fail;
        }
        net->outputs[net->output_count++] = found;
    }
    if (init)
        init_params(net);
    et_json_free(arch);
    *out = net;
    return ET_OK;
fail:
    et_json_free(arch);
    et_net_free(net);
    return rc;
}

int et_net_create(et_net **out, const char *arch_json, uint64_t seed)
{
    return net_build(out, arch_json, seed, 1);
}

int et_net_create_uninitialized(et_net **out, const char *arch_json)
{
    return net_build(out, arch_json, 0, 0);
}

void et_net_freeze(et_net *net)
{
    net->frozen = 1;
}

void et_net_free(et_net *net)
{
    if (!net)
        return;
    for (int l = 0; l < net->layer_count; l++) {
        et_layer *layer = &net->layers[l];
        if (layer->type && layer->type->destroy)
            layer->type->destroy(layer);
        free(layer->state);
        for (int p = 0; p < layer->param_count; p++) {
            et_tensor_free(&layer->params[p].value);
            et_tensor_free(&layer->params[p].grad);
        }
        et_tensor_free(&layer->out);
        et_tensor_free(&layer->dout);
    }
    free(net->layers);
    et_tensor_free(&net->input);
    et_tensor_free(&net->dinput);
    et_floats_free(net->workspace);
    free(net->arch);
    free(net);
}

int et_net_prepare(et_net *net, int batch, int seq_len)
{
    if (batch < 1 || seq_len < 1)
        return et_error_set(ET_ERR_USAGE, "net '%s': batch and sequence length must be positive", net->name);
    net->seq_len = seq_len;
    net->rows = batch * seq_len;
    et_shape s = net->input_shape;
    int rc = et_tensor_resize(&net->input, net->rows, s.c, s.h, s.w);
    for (int l = 0; rc == ET_OK && l < net->layer_count; l++)
        rc = et_layer_prepare_output(&net->layers[l], net);
    return rc;
}

int et_net_consumers(const et_net *net, int l, int *last)
{
    int count = 0;
    for (int k = l + 1; k < net->layer_count; k++)
        for (int i = 0; i < net->layers[k].input_count; i++)
            if (net->layers[k].inputs[i] == l) {
                count++;
                *last = k;
            }
    return count;
}

int et_net_is_output(const et_net *net, int l)
{
    for (int o = 0; o < net->output_count; o++)
        if (net->outputs[o] == l)
            return 1;
    return 0;
}

int et_net_sole_consumer(const et_net *net, int l)
{
    int last = -1;
    return et_net_consumers(net, l, &last) == 1 && !et_net_is_output(net, l) ? last : -1;
}

int et_net_forward_layer(et_net *net, int l, int train)
{
    et_layer *layer = &net->layers[l];
    int rc = et_layer_prepare_output(layer, net);
    if (rc != ET_OK)
        return rc;
    if (layer->identity) {
        /* When only this layer reads the input, take its buffer over
         * (the producer refills its own on the next pass). */
        int src = layer->inputs[0];
        int last;
        if (src >= 0 && et_net_consumers(net, src, &last) == 1 && !et_net_is_output(net, src)) {
            et_tensor t = net->layers[src].out;
            net->layers[src].out = layer->out;
            layer->out = t;
            return ET_OK;
        }
        et_tensor *in = et_layer_input(net, layer, 0);
        memcpy(layer->out.data, in->data, et_tensor_count(in) * sizeof(float));
        return ET_OK;
    }
    rc = layer->type->forward(layer, net, train);
    if (rc != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer->name);
    return ET_OK;
}

int et_net_forward(et_net *net, int train)
{
    et_shape s = net->input_shape;
    if (net->input.c != s.c || net->input.h != s.h || net->input.w != s.w || net->input.n != net->rows)
        return et_error_set(ET_ERR_USAGE, "net '%s': input not prepared (call et_net_prepare)", net->name);
    for (int l = 0; l < net->layer_count; l++) {
        int rc = et_net_forward_layer(net, l, train);
        if (rc != ET_OK)
            return rc;
    }
    return ET_OK;
}

int et_net_copy_params(et_net *dst, const et_net *src)
{
    for (int l = 0; l < src->layer_count; l++) {
        const et_layer *from = &src->layers[l];
        if (from->param_count == 0)
            continue;
        int d = et_net_find_layer(dst, from->name);
        et_layer *to = d >= 0 ? &dst->layers[d] : NULL;
        if (!to || to->type != from->type || to->param_count != from->param_count)
            return et_error_set(ET_ERR_USAGE, "copy params: layer '%s' is %s in the target net", from->name,
                                to ? "another kind of layer" : "missing");
        for (int p = 0; p < from->param_count; p++) {
            const et_tensor *a = &from->params[p].value;
            et_tensor *b = &to->params[p].value;
            if (et_tensor_count(a) != et_tensor_count(b))
                return et_error_set(ET_ERR_USAGE, "copy params: '%s.%s' differs in size", from->name,
                                    from->params[p].name);
            memcpy(b->data, a->data, et_tensor_count(a) * sizeof(float));
        }
    }
    return ET_OK;
}

int et_layer_inputs_same_shape(const et_layer *layer)
{
    for (int i = 1; i < layer->input_count; i++)
        if (!shapes_equal(layer->in_shape[0], layer->in_shape[i]))
            return 0;
    return 1;
}

int et_window_from_config(et_window *win, const et_json *config, const char *layer_name, int stride_default)
{
    int k[2] = {0, 0}, s[2] = {1, 1}, pad[4] = {0, 0, 0, 0};
    int rc = et_config_ints(config, "kernel", k, 2, 0);
    if (rc == ET_OK)
        rc = et_config_ints(config, "stride", s, 2, stride_default > 0 ? stride_default : k[0]);
    if (rc == ET_OK)
        rc = et_config_ints(config, "pad", pad, 4, 0);
    if (rc != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer_name);
    if (k[0] < 1 || k[1] < 1 || s[0] < 1 || s[1] < 1 || pad[0] < 0 || pad[1] < 0 || pad[2] < 0 || pad[3] < 0 ||
        pad[0] >= k[0] || pad[2] >= k[0] || pad[1] >= k[1] || pad[3] >= k[1])
        return et_error_set(ET_ERR_FORMAT, "layer '%s': bad kernel/stride/pad", layer_name);
    *win = (et_window){k[0], k[1], s[0], s[1], pad[0], pad[1], pad[2], pad[3]};
    return ET_OK;
}

int et_window_setup(et_layer *layer, const et_json *config, et_window *win, int stride_default)
{
    int rc = et_window_from_config(win, config, layer->name, stride_default);
    if (rc != ET_OK)
        return rc;
    et_shape in = layer->in_shape[0];
    layer->out_shape.h = et_window_out(in.h, win->kh, win->sh, win->pt, win->pb);
    layer->out_shape.w = et_window_out(in.w, win->kw, win->sw, win->pl, win->pr);
    return ET_OK;
}
