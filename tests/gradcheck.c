#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/nn/nn_internal.h"
#include "emotrace/error.h"
#include "emotrace/nn_train.h"

#define GRAD_EPS 1e-2

static double loss_of(et_net *net, const float *weights_r, int train, uint64_t seed)
{
    et_rng_seed(&net->rng, seed); /* same dropout mask every pass */
    if (et_net_forward(net, train) != ET_OK)
        return NAN;
    double loss = 0.0;
    size_t k = 0;
    for (int o = 0; o < net->output_count; o++) {
        et_tensor *out = et_net_output(net, o);
        size_t count = et_tensor_count(out);
        for (size_t i = 0; i < count; i++)
            loss += (double)out->data[i] * weights_r[k++];
    }
    return loss;
}

/* Compares analytic grad with central differences on up to max_checks
 * entries of values (sampled with a stride). */
static double compare(et_net *net, float *values, const float *analytic, size_t count, const float *weights_r,
                      int train, uint64_t seed, int max_checks, const char *what)
{
    size_t step = count > (size_t)max_checks ? count / (size_t)max_checks : 1;
    double diff = 0.0, norm_a = 0.0, norm_n = 0.0;
    double center = loss_of(net, weights_r, train, seed);
    int checked = 0, skipped = 0;
    for (size_t i = 0; i < count; i += step) {
        float saved = values[i];
        values[i] = (float)(saved + GRAD_EPS);
        double plus = loss_of(net, weights_r, train, seed);
        values[i] = (float)(saved - GRAD_EPS);
        double minus = loss_of(net, weights_r, train, seed);
        values[i] = saved;
        /* A max or ReLU decision that flips inside [x-eps, x+eps] makes the
         * two one-sided slopes disagree; such points have no derivative to
         * compare against, so they are skipped (and counted). */
        double right = plus - center, left = center - minus;
        if (fabs(right - left) > 0.1 * (fabs(right) + fabs(left)) + 1e-5) {
            skipped++;
            continue;
        }
        checked++;
        double numeric = (plus - minus) / (2 * GRAD_EPS);
        diff += (numeric - analytic[i]) * (numeric - analytic[i]);
        norm_a += (double)analytic[i] * analytic[i];
        norm_n += numeric * numeric;
    }
    if (skipped * 5 > checked + skipped) {
        fprintf(stderr, "  gradcheck %s: %d of %d points not smooth\n", what, skipped, checked + skipped);
        return 1.0;
    }
    double denominator = sqrt(norm_a) + sqrt(norm_n);
    /* The floor keeps gradients that are zero in theory (a bias before batch
     * norm) from turning float noise into a large relative error. */
    double rel = sqrt(diff) / (denominator > 1e-2 ? denominator : 1e-2);
    if (rel > 1e-3)
        fprintf(stderr, "  gradcheck %s: relative error %.3g (|analytic| %.3g, |numeric| %.3g)\n", what, rel,
                sqrt(norm_a), sqrt(norm_n));
    return rel;
}

double gradcheck_net(const char *arch_json, int batch, int seq_len, int train, uint64_t seed, int max_checks)
{
    et_net *net = NULL;
    if (et_net_create(&net, arch_json, seed) != ET_OK) {
        fprintf(stderr, "  gradcheck: %s\n", et_error_message());
        return -1.0;
    }
    et_rng rng;
    et_rng_seed(&rng, seed ^ 0x5eed);
    double worst = -1.0; /* until the net runs */
    float *weights_r = NULL;
    if (et_net_prepare(net, batch, seq_len) != ET_OK)
        goto done;
    net->need_input_grad = 1;
    /* Inputs are a shuffled grid with steps far wider than the finite
     * difference, so no max or ReLU decision on them flips during a check. */
    size_t input_count = et_tensor_count(&net->input);
    for (size_t i = 0; i < input_count; i++)
        net->input.data[i] = (float)(((double)i - input_count / 2.0 + 0.5) * (4.0 / input_count));
    for (size_t i = input_count; i > 1; i--) {
        size_t j = et_rng_below(&rng, (uint32_t)i);
        float t = net->input.data[i - 1];
        net->input.data[i - 1] = net->input.data[j];
        net->input.data[j] = t;
    }
    /* Random parameters (positive variances) so every path carries signal. */
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++) {
            et_param *param = &net->layers[l].params[p];
            for (size_t i = 0; i < et_tensor_count(&param->value); i++) {
                double v = et_rng_normal(&rng) * 0.5;
                param->value.data[i] = (float)(strcmp(param->name, "running_var") ? v : 0.5 + fabs(v));
            }
        }
    /* One pass sizes the outputs (the loss needs one weight per output) and
     * shows that the net runs at all: a failing forward would make every
     * loss NaN, and NaN errors compare as passing. */
    et_rng_seed(&net->rng, seed);
    if (et_net_forward(net, train) != ET_OK) {
        fprintf(stderr, "  gradcheck: %s\n", et_error_message());
        goto done;
    }
    size_t total_out = 0;
    for (int o = 0; o < net->output_count; o++)
        total_out += et_tensor_count(et_net_output(net, o));
    weights_r = malloc(total_out * sizeof(float));
    if (!weights_r)
        goto done;
    worst = 0.0;
    for (size_t i = 0; i < total_out; i++)
        weights_r[i] = (float)et_rng_normal(&rng);
    /* Analytic pass. */
    loss_of(net, weights_r, train, seed);
    et_net_zero_grad(net);
    size_t k = 0;
    for (int o = 0; o < net->output_count; o++) {
        et_layer *layer = &net->layers[net->outputs[o]];
        et_tensor_resize(&layer->dout, layer->out.n, layer->out.c, layer->out.h, layer->out.w);
        memcpy(layer->dout.data, weights_r + k, et_tensor_count(&layer->out) * sizeof(float));
        k += et_tensor_count(&layer->out);
    }
    if (et_net_backward(net) != ET_OK) {
        fprintf(stderr, "  gradcheck: %s\n", et_error_message());
        worst = -1.0;
        goto done;
    }
    /* Copy analytic gradients before the numeric passes overwrite state. */
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++) {
            et_param *param = &net->layers[l].params[p];
            if (!param->trainable)
                continue;
            size_t count = et_tensor_count(&param->value);
            float *analytic = malloc(count * sizeof(float));
            memcpy(analytic, param->grad.data, count * sizeof(float));
            char what[160];
            snprintf(what, sizeof what, "%s.%s", net->layers[l].name, param->name);
            /* Batch-norm running statistics change on every training pass;
             * they do not affect training-mode outputs, so leave them. */
            double rel = compare(net, param->value.data, analytic, count, weights_r, train, seed, max_checks, what);
            if (!(rel <= worst)) /* NaN counts as the worst */
                worst = rel;
            free(analytic);
        }
    {
        size_t count = et_tensor_count(&net->input);
        float *analytic = malloc(count * sizeof(float));
        memcpy(analytic, net->dinput.data, count * sizeof(float));
        double rel = compare(net, net->input.data, analytic, count, weights_r, train, seed, max_checks, "input");
        if (!(rel <= worst))
            worst = rel;
        free(analytic);
    }
done:
    free(weights_r);
    et_net_free(net);
    return worst;
}
