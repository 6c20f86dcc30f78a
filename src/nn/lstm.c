/* LSTM over time-major sequences: row t*batch + b of the input is step t of
 * sequence b (batch = net->rows / net->seq_len), the flattened sample is the
 * step's input x_t, and the output row is h_t. Gates in PyTorch's order:
 *   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o),
 *   a = W_ih x_t + W_hh h_{t-1} + bias,
 *   c_t = f * c_{t-1} + i * g,  h_t = o * tanh(c_t).
 * Settings: hidden (H). Params: weight_ih [4H, D], weight_hh [4H, H], bias [4H]
 * (PyTorch's bias_ih + bias_hh; the forget part starts at 1 so that early
 * training does not forget everything). Stacked lstm layers form a
 * multi-layer LSTM.
 *
 * Each pass starts from a zero state, or in streaming mode from the state the
 * previous pass ended in, kept per batch row; the et_net_state_* functions
 * below read and write that carried state. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "lstm.h"
#include "nn_internal.h"

#define LSTM_MAX_HIDDEN (1 << 16)

static int lstm_setup(et_layer *layer, const et_json *config)
{
    lstm_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    double hidden = et_json_get_number(config, "hidden", 0);
    if (layer->input_count != 1 || !(hidden >= 1 && hidden <= LSTM_MAX_HIDDEN))
        return et_error_set(ET_ERR_FORMAT, "layer '%s': lstm needs one input and \"hidden\" in 1..%d",
                            layer->name, LSTM_MAX_HIDDEN);
    int h = (int)hidden;
    et_shape in = layer->in_shape[0];
    s->hidden = h;
    layer->out_shape = (et_shape){h, 1, 1};
    /* Named weight_* so the net's initialiser gives them He-normal values. */
    if (!et_layer_add_param(layer, "weight_ih", 4 * h, in.c * in.h * in.w, 1, 1, 1, 1) ||
        !et_layer_add_param(layer, "weight_hh", 4 * h, h, 1, 1, 1, 1) ||
        !et_layer_add_param(layer, "bias", 4 * h, 1, 1, 1, 1, 0))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    float *bias = layer->params[2].value.data;
    for (int j = h; j < 2 * h; j++)
        bias[j] = 1.0f;
    return ET_OK;
}

static void lstm_destroy(et_layer *layer)
{
    lstm_state *s = layer->state;
    if (!s)
        return;
    float *buffers[] = {s->carry_h, s->carry_c, s->gates, s->cells, s->h0,
                        s->c0,      s->dgates,  s->hprev, s->dh,    s->dc};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++)
        et_floats_free(buffers[i]);
}

/* Replaces *p by a zeroed buffer of count floats. */
static int realloc_floats(float **p, size_t count)
{
    float *q = et_floats_alloc(count);
    if (!q)
        return ET_ERR_NOMEM;
    et_floats_free(*p);
    *p = q;
    return ET_OK;
}

/* Sizes the per-row and per-sequence buffers (contents not kept). */
static int lstm_reserve(lstm_state *s, size_t rows, size_t batch)
{
    size_t h = (size_t)s->hidden;
    if (rows > s->rows_capacity) {
        if (realloc_floats(&s->gates, rows * 4 * h) || realloc_floats(&s->cells, rows * h) ||
            realloc_floats(&s->dgates, rows * 4 * h) || realloc_floats(&s->hprev, rows * h))
            return et_error_set(ET_ERR_NOMEM, "lstm: out of memory for %zu rows", rows);
        s->rows_capacity = rows;
    }
    if (batch > s->batch_capacity) {
        if (realloc_floats(&s->h0, batch * h) || realloc_floats(&s->c0, batch * h) ||
            realloc_floats(&s->dh, batch * h) || realloc_floats(&s->dc, batch * h))
            return et_error_set(ET_ERR_NOMEM, "lstm: out of memory for %zu sequences", batch);
        s->batch_capacity = batch;
    }
    return ET_OK;
}

/* Resizes the carried state to batch rows: rows already there keep their
 * state, new rows start from zero. */
static int carry_resize(lstm_state *s, int batch)
{
    if (batch == s->carry_batch && s->carry_h)
        return ET_OK;
    size_t h = (size_t)s->hidden, keep = (size_t)(batch < s->carry_batch ? batch : s->carry_batch);
    float *nh = et_floats_alloc((size_t)batch * h), *nc = et_floats_alloc((size_t)batch * h);
    if (!nh || !nc) {
        et_floats_free(nh);
        et_floats_free(nc);
        return et_error_set(ET_ERR_NOMEM, "lstm: out of memory for the state of %d sequences", batch);
    }
    if (keep) {
        memcpy(nh, s->carry_h, keep * h * sizeof(float));
        memcpy(nc, s->carry_c, keep * h * sizeof(float));
    }
    et_floats_free(s->carry_h);
    et_floats_free(s->carry_c);
    s->carry_h = nh;
    s->carry_c = nc;
    s->carry_batch = batch;
    return ET_OK;
}

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static int lstm_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    lstm_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    int steps = net->seq_len, rows = in->n, h = s->hidden, g4 = 4 * s->hidden;
    int d = (int)et_tensor_sample_count(in);
    if (steps < 1 || rows % steps)
        return et_error_set(ET_ERR_USAGE, "%d rows do not split into sequences of %d steps", rows, steps);
    int batch = rows / steps;
    int rc = lstm_reserve(s, (size_t)rows, (size_t)batch);
    if (rc == ET_OK)
        rc = carry_resize(s, batch);
    if (rc != ET_OK)
        return rc;
    size_t state_bytes = (size_t)batch * h * sizeof(float);
    if (s->streaming) {
        memcpy(s->h0, s->carry_h, state_bytes);
        memcpy(s->c0, s->carry_c, state_bytes);
    } else {
        memset(s->h0, 0, state_bytes);
        memset(s->c0, 0, state_bytes);
    }
    const float *w_ih = layer->params[0].value.data, *w_hh = layer->params[1].value.data;
    const float *bias = layer->params[2].value.data;
    float *out = layer->out.data;
    /* The input projection of every step at once: one wide GEMM. */
    for (int r = 0; r < rows; r++)
        memcpy(s->gates + (size_t)r * g4, bias, (size_t)g4 * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, g4, d, 1.0f, in->data, d, w_ih, d, 1.0f, s->gates,
                g4);
    for (int t = 0; t < steps; t++) {
        size_t r0 = (size_t)t * batch;
        float *gates = s->gates + r0 * g4;
        const float *hprev = t ? out + (r0 - batch) * h : s->h0;
        const float *cprev = t ? s->cells + (r0 - batch) * h : s->c0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, g4, h, 1.0f, hprev, h, w_hh, h, 1.0f, gates,
                    g4);
        for (int b = 0; b < batch; b++) {
            float *a = gates + (size_t)b * g4;
            float *cell = s->cells + (r0 + b) * h, *hout = out + (r0 + b) * h;
            for (int j = 0; j < h; j++) {
                float i = sigmoid(a[j]), f = sigmoid(a[h + j]), g = tanhf(a[2 * h + j]);
                float o = sigmoid(a[3 * h + j]);
                a[j] = i;
                a[h + j] = f;
                a[2 * h + j] = g;
                a[3 * h + j] = o;
                cell[j] = f * cprev[(size_t)b * h + j] + i * g;
                hout[j] = o * tanhf(cell[j]);
            }
        }
    }
    size_t last = (size_t)(steps - 1) * batch * h;
    memcpy(s->carry_h, out + last, state_bytes);
    memcpy(s->carry_c, s->cells + last, state_bytes);
    return ET_OK;
}

const et_layer_type et_layer_lstm = {"lstm", lstm_setup, lstm_forward, lstm_destroy};

/* --- streaming state: the LSTM is the only layer that keeps state between passes --- */

static lstm_state *lstm_of(const et_layer *layer)
{
    return layer->type == &et_layer_lstm ? layer->state : NULL;
}

void et_net_set_streaming(et_net *net, int on)
{
    for (int l = 0; l < net->layer_count; l++) {
        lstm_state *s = lstm_of(&net->layers[l]);
        if (!s)
            continue;
        s->streaming = on != 0;
        if (s->carry_h) {
            memset(s->carry_h, 0, (size_t)s->carry_batch * s->hidden * sizeof(float));
            memset(s->carry_c, 0, (size_t)s->carry_batch * s->hidden * sizeof(float));
        }
    }
}

size_t et_net_state_size(const et_net *net)
{
    size_t total = 0;
    for (int l = 0; l < net->layer_count; l++) {
        const lstm_state *s = lstm_of(&net->layers[l]);
        if (s)
            total += 2 * (size_t)s->hidden;
    }
    return total;
}

/* Copies the state of batch row b to (dst) or from (src, NULL = zero) a
 * vector laid out as et_net_state_size describes. */
static int state_copy(et_net *net, int b, float *dst, const float *src, const char *what)
{
    int batch = net->seq_len > 0 ? net->rows / net->seq_len : 0;
    if (b < 0 || b >= batch)
        return et_error_set(ET_ERR_USAGE, "net '%s': %s: row %d is outside the prepared batch of %d", net->name,
                            what, b, batch);
    for (int l = 0; l < net->layer_count; l++) {
        lstm_state *s = lstm_of(&net->layers[l]);
        if (!s)
            continue;
        int rc = carry_resize(s, batch);
        if (rc != ET_OK)
            return et_error_wrap(rc, "net '%s': layer '%s': ", net->name, net->layers[l].name);
        size_t h = (size_t)s->hidden;
        float *ch = s->carry_h + (size_t)b * h, *cc = s->carry_c + (size_t)b * h;
        if (dst) {
            memcpy(dst, ch, h * sizeof(float));
            memcpy(dst + h, cc, h * sizeof(float));
            dst += 2 * h;
        } else if (src) {
            memcpy(ch, src, h * sizeof(float));
            memcpy(cc, src + h, h * sizeof(float));
            src += 2 * h;
        } else {
            memset(ch, 0, h * sizeof(float));
            memset(cc, 0, h * sizeof(float));
        }
    }
    return ET_OK;
}

int et_net_state_get(et_net *net, int b, float *dst)
{
    if (!dst)
        return et_error_set(ET_ERR_USAGE, "net '%s': state_get needs a destination", net->name);
    return state_copy(net, b, dst, NULL, "state_get");
}

int et_net_state_set(et_net *net, int b, const float *src)
{
    return state_copy(net, b, NULL, src, "state_set");
}
