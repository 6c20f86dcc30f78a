/* The backward pass of lstm (its forward pass: ../lstm.c). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "../lstm.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

/* Backpropagation through time from the last step to the first; the
 * initial state is a constant (zero, or carried from an earlier pass). */
int et_lstm_backward(et_layer *layer, et_net *net)
{
    lstm_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    int steps = net->seq_len, rows = in->n, h = s->hidden, g4 = 4 * s->hidden;
    int d = (int)et_tensor_sample_count(in), batch = rows / steps;
    if (rows > (int)s->rows_capacity || batch > (int)s->batch_capacity)
        return et_error_set(ET_ERR_USAGE, "backward without a matching forward pass");
    const float *w_ih = layer->params[0].value.data, *w_hh = layer->params[1].value.data;
    const float *dout = layer->dout.data, *out = layer->out.data;
    size_t state_bytes = (size_t)batch * h * sizeof(float);
    memset(s->dh, 0, state_bytes);
    memset(s->dc, 0, state_bytes);
    for (int t = steps - 1; t >= 0; t--) {
        size_t r0 = (size_t)t * batch;
        for (int b = 0; b < batch; b++) {
            size_t r = r0 + b;
            const float *a = s->gates + r * g4;
            const float *cell = s->cells + r * h;
            const float *cprev = t ? s->cells + (r - batch) * h : s->c0 + (size_t)b * h;
            float *da = s->dgates + r * g4, *dh = s->dh + (size_t)b * h, *dc = s->dc + (size_t)b * h;
            for (int j = 0; j < h; j++) {
                float i = a[j], f = a[h + j], g = a[2 * h + j], o = a[3 * h + j];
                float tc = tanhf(cell[j]);
                float dhj = dout[r * h + j] + dh[j];
                float dcj = dc[j] + dhj * o * (1.0f - tc * tc);
                da[j] = dcj * g * i * (1.0f - i);
                da[h + j] = dcj * cprev[j] * f * (1.0f - f);
                da[2 * h + j] = dcj * i * (1.0f - g * g);
                da[3 * h + j] = dhj * tc * o * (1.0f - o);
                dc[j] = dcj * f;
            }
        }
        /* dh_{t-1} = da_t W_hh, all sequences of the step in one GEMM. */
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, h, g4, 1.0f, s->dgates + r0 * g4, g4,
                        w_hh, h, 0.0f, s->dh, h);
    }
    /* The weight gradients over all steps at once: h_{t-1} of every row is
     * the initial state followed by the outputs shifted by one step. */
    memcpy(s->hprev, s->h0, state_bytes);
    memcpy(s->hprev + (size_t)batch * h, out, (size_t)(rows - batch) * h * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g4, h, rows, 1.0f, s->dgates, g4, s->hprev, h, 1.0f,
                layer->params[1].grad.data, h);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g4, d, rows, 1.0f, s->dgates, g4, in->data, d, 1.0f,
                layer->params[0].grad.data, d);
    float *dbias = layer->params[2].grad.data;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < g4; j++)
            dbias[j] += s->dgates[(size_t)r * g4 + j];
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, d, g4, 1.0f, s->dgates, g4, w_ih, d, 1.0f,
                    din->data, d);
    return ET_OK;
}
