/* Softmax over channels at each position (over the whole sample when
 * h = w = 1), for nets whose output should be probabilities. */
#include <math.h>

#include "nn_internal.h"

static int softmax_setup(et_layer *layer, const et_json *config)
{
    (void)config;
    layer->out_shape = layer->in_shape[0];
    return 0;
}

static int softmax_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const et_tensor *in = et_layer_input(net, layer, 0);
    size_t spatial = (size_t)in->h * in->w;
    for (int n = 0; n < in->n; n++)
        for (size_t p = 0; p < spatial; p++) {
            const float *x = in->data + (size_t)n * in->c * spatial + p;
            float *y = layer->out.data + (size_t)n * in->c * spatial + p;
            float max = x[0];
            for (int c = 1; c < in->c; c++)
                if (x[c * spatial] > max)
                    max = x[c * spatial];
            float sum = 0.0f;
            for (int c = 0; c < in->c; c++) {
                y[c * spatial] = expf(x[c * spatial] - max);
                sum += y[c * spatial];
            }
            for (int c = 0; c < in->c; c++)
                y[c * spatial] /= sum;
        }
    return 0;
}

const et_layer_type et_layer_softmax = {"softmax", softmax_setup, softmax_forward, NULL};
