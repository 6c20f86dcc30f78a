/* Inverted dropout: in training, zeroes each value with probability rate
 * and scales the rest by 1/(1-rate); at inference it passes values through.
 * Settings: rate (0.5). */
#include <stdlib.h>
#include <string.h>

#include "dropout.h"
#include "emotrace/error.h"
#include "nn_internal.h"

static int dropout_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    dropout_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    s->rate = (float)et_json_get_number(config, "rate", 0.5);
    if (!(s->rate >= 0.0f && s->rate < 1.0f))
        return et_error_set(ET_ERR_FORMAT, "layer '%s': dropout rate must be in [0, 1)", layer->name);
    layer->out_shape = layer->in_shape[0];
    return ET_OK;
}

static void dropout_destroy(et_layer *layer)
{
    dropout_state *s = layer->state;
    if (s)
        et_floats_free(s->mask);
}

static int dropout_forward(et_layer *layer, et_net *net, int train)
{
    dropout_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    size_t count = et_tensor_count(in);
    s->masked = train && s->rate > 0.0f;
    if (!s->masked) {
        memcpy(layer->out.data, in->data, count * sizeof(float));
        return ET_OK;
    }
    if (count > s->mask_size) {
        et_floats_free(s->mask);
        s->mask = et_floats_alloc(count);
        s->mask_size = s->mask ? count : 0;
        if (!s->mask)
            return et_error_set(ET_ERR_NOMEM, "out of memory");
    }
    float keep_scale = 1.0f / (1.0f - s->rate);
    for (size_t i = 0; i < count; i++) {
        s->mask[i] = et_rng_uniform(&net->rng) < s->rate ? 0.0f : keep_scale;
        layer->out.data[i] = in->data[i] * s->mask[i];
    }
    return ET_OK;
}

const et_layer_type et_layer_dropout = {"dropout", dropout_setup, dropout_forward, dropout_destroy};
