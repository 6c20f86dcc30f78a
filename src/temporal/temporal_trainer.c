/* The temporal model's training loop (see temporal_trainer.h). */
#include "emotrace/temporal_trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/clock.h"
#include "emotrace/emotion_scores.h"
#include "emotrace/error.h"
#include "emotrace/train_ops.h"

#define PREDICT_BATCH 64
/* Spread floor, so that near-constant inputs (the first-frame flag) are not
 * blown up into huge values. */
#define MIN_SPREAD 0.05

void et_temporal_train_defaults(et_temporal_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->projection = 64;
    o->hidden = 64;
    o->input_dropout = 0.2f;
    o->epochs = 20;
    o->batch = 32;
    o->lr = 2e-3f;
    o->min_lr = 2e-5f;
    o->weight_decay = 0.01f;
    o->smoothing = 0.05f;
    o->consistency = 10.0f;
    o->embedding_dropout = 0.9f;
    o->warmup_epochs = 1;
    o->seed = 1;
}

char *et_temporal_arch(int feature_size, int projection, int hidden, float input_dropout)
{
    const char *fmt =
        "{\"format\":\"emotrace-net-1\",\"name\":\"emotion-lstm\",\"input\":[%d,1,1],\"layers\":["
        "{\"name\":\"input_dropout\",\"type\":\"dropout\",\"rate\":%g},"
        "{\"name\":\"projection\",\"type\":\"dense\",\"out\":%d},"
        "{\"name\":\"projection_relu\",\"type\":\"relu\"},"
        "{\"name\":\"lstm\",\"type\":\"lstm\",\"hidden\":%d},"
        "{\"name\":\"logits\",\"type\":\"dense\",\"out\":%d}"
        "],\"outputs\":[\"logits\"]}";
    int n = snprintf(NULL, 0, fmt, feature_size, input_dropout, projection, hidden, ET_EMOTIONS);
    char *text = malloc((size_t)n + 1);
    if (text)
        snprintf(text, (size_t)n + 1, fmt, feature_size, input_dropout, projection, hidden, ET_EMOTIONS);
    return text;
}

void et_track_set_cnn_predictions(const et_track_set *set, float *probabilities)
{
    for (int i = 0; i < set->frames; i++)
        memcpy(probabilities + (size_t)i * ET_EMOTIONS, et_track_set_cnn_probabilities(set, i),
               ET_EMOTIONS * sizeof(float));
}

static int track_length(const et_track_set *set, int t)
{
    return set->start[t + 1] - set->start[t];
}

/* Fills the net input with tracks ids[0..n) time-major, padded with zeros
 * to the longest; mean/inv (may be NULL) standardise each feature. */
static int fill_batch(et_net *net, const et_track_set *set, const int *ids, int n, const float *mean,
                      const float *inv, float embedding_dropout, et_rng *rng, int *steps_out)
{
    int steps = 0;
    for (int b = 0; b < n; b++)
        if (track_length(set, ids[b]) > steps)
            steps = track_length(set, ids[b]);
    int rc = et_net_prepare(net, n, steps);
    if (rc != ET_OK)
        return rc;
    const int fs = set->feature_size;
    for (int t = 0; t < steps; t++)
        for (int b = 0; b < n; b++) {
            float *x = et_net_input(net)->data + ((size_t)t * n + b) * fs;
            if (t >= track_length(set, ids[b])) {
                memset(x, 0, (size_t)fs * sizeof(float));
                continue;
            }
            const float *src = set->features + (size_t)(set->start[ids[b]] + t) * fs;
            for (int k = 0; k < fs; k++)
                x[k] = mean ? (src[k] - mean[k]) * inv[k] : src[k];
            /* Training only: hide most of the embedding, which a few thousand
             * training faces are too few to learn from without memorising. */
            for (int k = 0; embedding_dropout > 0 && k < set->embedding_size; k++)
                x[k] = et_rng_uniform(rng) < embedding_dropout ? 0.0f : x[k] / (1.0f - embedding_dropout);
        }
    *steps_out = steps;
    return ET_OK;
}

/* Sorts (id, length) pairs by length, longest first. */
static int pair_compare(const void *a, const void *b)
{
    return ((const int *)b)[1] - ((const int *)a)[1];
}

static int predict_scaled(et_net *net, const et_track_set *set, const float *mean, const float *inv,
                          float *probabilities)
{
    /* Similar lengths together waste less padding. */
    int (*pairs)[2] = malloc((size_t)set->tracks * sizeof *pairs);
    int *ids = malloc(PREDICT_BATCH * sizeof(int));
    if (!pairs || !ids) {
        free(pairs);
        free(ids);
        return et_error_set(ET_ERR_NOMEM, "temporal: out of memory");
    }
    for (int t = 0; t < set->tracks; t++) {
        pairs[t][0] = t;
        pairs[t][1] = track_length(set, t);
    }
    qsort(pairs, (size_t)set->tracks, sizeof *pairs, pair_compare);
    int rc = ET_OK;
    for (int b0 = 0; b0 < set->tracks && rc == ET_OK; b0 += PREDICT_BATCH) {
        int n = set->tracks - b0 < PREDICT_BATCH ? set->tracks - b0 : PREDICT_BATCH, steps;
        for (int b = 0; b < n; b++)
            ids[b] = pairs[b0 + b][0];
        if ((rc = fill_batch(net, set, ids, n, mean, inv, 0.0f, NULL, &steps)) != ET_OK ||
            (rc = et_net_forward(net, 0)) != ET_OK)
            break;
        const float *logits = et_net_output(net, 0)->data;
        for (int b = 0; b < n; b++)
            for (int t = 0; t < track_length(set, ids[b]); t++)
                et_emotion_softmax(logits + ((size_t)t * n + b) * ET_EMOTIONS,
                                   probabilities + (size_t)(set->start[ids[b]] + t) * ET_EMOTIONS);
    }
    free(pairs);
    free(ids);
    return rc;
}

int et_temporal_net_predict(et_net *net, const et_track_set *set, float *probabilities)
{
    return predict_scaled(net, set, NULL, NULL, probabilities);
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b14915ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    return z ^ (z >> 31);
}

/* Per-feature mean and 1/spread over every training frame. */
static void standardisation(const et_track_set *set, float *mean, float *inv)
{
    const int fs = set->feature_size;
    double *sum = calloc((size_t)fs * 2, sizeof(double));
    if (!sum) {
        for (int k = 0; k < fs; k++)
            mean[k] = 0.0f, inv[k] = 1.0f;
        return;
    }
    for (int i = 0; i < set->frames; i++)
        for (int k = 0; k < fs; k++) {
            double x = set->features[(size_t)i * fs + k];
            sum[k] += x;
            sum[fs + k] += x * x;
        }
    for (int k = 0; k < fs; k++) {
        double m = sum[k] / set->frames, var = sum[fs + k] / set->frames - m * m;
        mean[k] = (float)m;
        inv[k] = (float)(1.0 / fmax(sqrt(fmax(var, 0.0)), MIN_SPREAD));
    }
    free(sum);
}

/* Folds x' = (x - mean) * inv into the first dense layer: W' = W diag(inv),
 * b' = b - W' mean. */
static int fold_standardisation(et_net *net, const float *mean, const float *inv)
{
    et_tensor *weight = et_net_find_param(net, "projection", "weight");
    et_tensor *b = et_net_find_param(net, "projection", "bias");
    if (!weight || !b)
        return et_error_set(ET_ERR, "temporal: no 'projection' layer to fold the input scaling into");
    float *w = weight->data, *bias = b->data;
    int out = weight->n, in = weight->c;
    for (int o = 0; o < out; o++) {
        double shift = 0.0;
        for (int k = 0; k < in; k++) {
            w[(size_t)o * in + k] *= inv[k];
            shift += (double)w[(size_t)o * in + k] * mean[k];
        }
        bias[o] -= (float)shift;
    }
    return ET_OK;
}

/* Saves with the caller's metadata plus the validation figures. */
static int save(et_net *net, const et_temporal_train_options *o, const et_temporal_train_result *r)
{
    enum { FIGURES = 8 };
    char values[FIGURES][32];
    const char *keys[FIGURES] = {"validation_accuracy", "validation_cnn_accuracy", "validation_flicker_per_10s",
                                 "validation_cnn_flicker_per_10s", "validation_latency_median_s",
                                 "validation_cnn_latency_median_s", "validation_switch_miss_rate",
                                 "validation_cnn_switch_miss_rate"};
    if (r) {
        const et_temporal_metrics *m[2] = {&r->lstm, &r->cnn};
        for (int i = 0; i < 2; i++) {
            snprintf(values[i], 32, "%.4f", m[i]->accuracy);
            snprintf(values[2 + i], 32, "%.3f", m[i]->flicker_per_10s);
            snprintf(values[4 + i], 32, "%.3f", m[i]->latency_median_s);
            snprintf(values[6 + i], 32, "%.4f", m[i]->switches ? (double)m[i]->missed / m[i]->switches : 0.0);
        }
    }
    int n = 0;
    while (o->metadata && o->metadata[2 * n])
        n++;
    const char **meta = malloc((size_t)(2 * (n + FIGURES) + 1) * sizeof *meta);
    if (!meta)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", o->out_path);
    int k = 0;
    for (int i = 0; i < 2 * n; i++)
        meta[k++] = o->metadata[i];
    for (int i = 0; r && i < FIGURES; i++) {
        meta[k++] = keys[i];
        meta[k++] = values[i];
    }
    meta[k] = NULL;
    int rc = et_net_save(net, o->out_path, meta);
    free(meta);
    return rc;
}

/* Mean smoothed cross-entropy over the rows that are real frames, plus
 * consistency * the mean squared change of the probabilities between
 * consecutive frames of the same true emotion (a flicker penalty that costs
 * nothing across true changes). Writes the gradient (zero for padding) into
 * dlogits; probs is rows x 7 scratch. */
static double masked_loss(const float *logits, const et_track_set *set, const int *ids, int n, int steps,
                          const et_temporal_train_options *o, float *probs, float *dlogits, long *correct,
                          long *frames)
{
    long valid = 0;
    for (int b = 0; b < n; b++)
        valid += track_length(set, ids[b]);
    double loss = 0.0;
    const float smoothing = o->smoothing, lambda = o->consistency;
    for (int t = 0; t < steps; t++)
        for (int b = 0; b < n; b++) {
            size_t row = (size_t)t * n + b;
            float *d = dlogits + row * ET_EMOTIONS, *p = probs + row * ET_EMOTIONS;
            if (t >= track_length(set, ids[b])) {
                memset(d, 0, ET_EMOTIONS * sizeof(float));
                continue;
            }
            int frame = set->start[ids[b]] + t, label = set->labels[frame];
            const float *soft = set->targets ? set->targets + (size_t)frame * ET_EMOTIONS : NULL;
            et_emotion_softmax(logits + row * ET_EMOTIONS, p);
            for (int k = 0; k < ET_EMOTIONS; k++) {
                float truth = soft ? soft[k] : k == label ? 1.0f : 0.0f;
                float target = smoothing / ET_EMOTIONS + (1.0f - smoothing) * truth;
                loss -= target * log(fmax(p[k], 1e-12));
                d[k] = (p[k] - target) / (float)valid;
            }
            *correct += et_argmax(p, ET_EMOTIONS) == label;
        }
    for (int t = 1; lambda > 0 && t < steps; t++)
        for (int b = 0; b < n; b++) {
            const int *labels = set->labels + set->start[ids[b]];
            if (t >= track_length(set, ids[b]) || labels[t] != labels[t - 1])
                continue;
            size_t rows[2] = {(size_t)t * n + b, (size_t)(t - 1) * n + b};
            const float *p = probs + rows[0] * ET_EMOTIONS, *q = probs + rows[1] * ET_EMOTIONS;
            float g[ET_EMOTIONS];
            for (int k = 0; k < ET_EMOTIONS; k++) {
                float diff = p[k] - q[k];
                loss += lambda * diff * diff;
                g[k] = 2.0f * lambda * diff / (float)valid;
            }
            /* Through the softmax: dz = p * (g - <g, p>), for both frames. */
            for (int side = 0; side < 2; side++) {
                const float *r = probs + rows[side] * ET_EMOTIONS;
                float *d = dlogits + rows[side] * ET_EMOTIONS, sign = side ? -1.0f : 1.0f, dot = 0.0f;
                for (int k = 0; k < ET_EMOTIONS; k++)
                    dot += g[k] * r[k];
                for (int k = 0; k < ET_EMOTIONS; k++)
                    d[k] += sign * r[k] * (g[k] - dot);
            }
        }
    *frames += valid;
    return loss / (double)valid;
}

int et_temporal_train(const et_temporal_train_options *o, const et_track_set *train, const et_track_set *val,
                      et_temporal_train_result *result)
{
    memset(result, 0, sizeof *result);
    double start_time = et_now_seconds();
    const int fs = train->feature_size;
    char *arch = et_temporal_arch(fs, o->projection, o->hidden, o->input_dropout);
    float *mean = malloc((size_t)fs * sizeof(float)), *inv = malloc((size_t)fs * sizeof(float));
    int (*pairs)[2] = malloc((size_t)train->tracks * sizeof *pairs);
    int *ids = malloc((size_t)o->batch * sizeof(int));
    float *val_probs = val ? malloc((size_t)val->frames * ET_EMOTIONS * sizeof(float)) : NULL;
    et_net *net = NULL;
    et_optimizer opt = {0};
    et_tensor probs = {0};
    int rc = ET_OK;
    if (!arch || !mean || !inv || !pairs || !ids || (val && !val_probs)) {
        rc = et_error_set(ET_ERR_NOMEM, "temporal: out of memory");
        goto done;
    }
    if (val && val->feature_size != fs) {
        rc = et_error_set(ET_ERR_USAGE, "temporal: validation features (%d) differ from training features (%d)",
                          val->feature_size, fs);
        goto done;
    }
    if ((rc = et_net_create(&net, arch, o->seed)) != ET_OK || (rc = et_optimizer_init(&opt, net, ET_OPTIMIZER_ADAMW)))
        goto done;
    opt.weight_decay = o->weight_decay;
    standardisation(train, mean, inv);
    if (val) {
        et_track_set_cnn_predictions(val, val_probs);
        if ((rc = et_temporal_metrics_compute(val, val_probs, &result->cnn)) != ET_OK)
            goto done;
    }
    long steps_per_epoch = (train->tracks + o->batch - 1) / o->batch;
    long total = steps_per_epoch * o->epochs, warmup = steps_per_epoch * o->warmup_epochs, step = 0;
    for (int epoch = 0; epoch < o->epochs; epoch++) {
        /* Shuffle, then sort runs of 8 batches by length: batches of similar
         * lengths, in random order of runs. */
        et_rng rng;
        et_rng_seed(&rng, mix(o->seed, (uint64_t)epoch));
        for (int t = 0; t < train->tracks; t++) {
            pairs[t][0] = t;
            pairs[t][1] = track_length(train, t);
        }
        for (int t = train->tracks - 1; t > 0; t--) {
            int j = (int)et_rng_below(&rng, (uint32_t)(t + 1));
            int a = pairs[t][0], l = pairs[t][1];
            pairs[t][0] = pairs[j][0];
            pairs[t][1] = pairs[j][1];
            pairs[j][0] = a;
            pairs[j][1] = l;
        }
        int run = 8 * o->batch;
        for (int r0 = 0; r0 < train->tracks; r0 += run)
            qsort(pairs + r0, (size_t)(train->tracks - r0 < run ? train->tracks - r0 : run), sizeof *pairs,
                  pair_compare);
        double loss_sum = 0.0;
        long correct = 0, frames = 0;
        for (int b0 = 0; b0 < train->tracks; b0 += o->batch) {
            int n = train->tracks - b0 < o->batch ? train->tracks - b0 : o->batch, steps;
            for (int b = 0; b < n; b++)
                ids[b] = pairs[b0 + b][0];
            if ((rc = fill_batch(net, train, ids, n, mean, inv, o->embedding_dropout, &rng, &steps)) != ET_OK ||
                (rc = et_net_forward(net, 1)) != ET_OK)
                goto done;
            const et_tensor *out = et_net_output(net, 0);
            et_tensor *dout = et_net_output_grad(net, 0);
            if (!dout) {
                rc = ET_ERR_NOMEM;
                goto done;
            }
            if ((rc = et_tensor_resize(&probs, out->n, out->c, out->h, out->w)) != ET_OK)
                goto done;
            double loss = masked_loss(out->data, train, ids, n, steps, o, probs.data, dout->data, &correct, &frames);
            if (!isfinite(loss)) {
                rc = et_error_set(ET_ERR, "temporal: loss became %g at epoch %d (learning rate too high?)", loss,
                                  epoch + 1);
                goto done;
            }
            loss_sum += loss * n;
            et_net_zero_grad(net);
            if ((rc = et_net_backward(net)) != ET_OK ||
                (rc = et_optimizer_step(&opt, net, et_lr_cosine(o->lr, o->min_lr, step, total, warmup))) != ET_OK)
                goto done;
            step++;
        }
        result->epochs_done = epoch + 1;
        result->last_loss = loss_sum / train->tracks;
        if (val && (rc = predict_scaled(net, val, mean, inv, val_probs)) == ET_OK)
            rc = et_temporal_metrics_compute(val, val_probs, &result->lstm);
        if (rc != ET_OK)
            goto done;
        if (!o->quiet)
            fprintf(stderr, "epoch %d/%d loss %.4f train_acc %.4f val_acc %.4f (cnn %.4f) flicker %.2f (cnn %.2f) "
                            "latency %.2fs (cnn %.2fs) %.0fs\n",
                    epoch + 1, o->epochs, result->last_loss, frames ? (double)correct / frames : 0.0,
                    result->lstm.accuracy, result->cnn.accuracy, result->lstm.flicker_per_10s,
                    result->cnn.flicker_per_10s, result->lstm.latency_median_s, result->cnn.latency_median_s,
                    et_now_seconds() - start_time);
    }
    if ((rc = fold_standardisation(net, mean, inv)) != ET_OK)
        goto done;
    /* Measured again on the folded net: what the saved file will do. */
    if (val && ((rc = et_temporal_net_predict(net, val, val_probs)) != ET_OK ||
                (rc = et_temporal_metrics_compute(val, val_probs, &result->lstm)) != ET_OK))
        goto done;
    result->seconds = et_now_seconds() - start_time;
    if (o->out_path)
        rc = save(net, o, val ? result : NULL);
done:
    free(arch);
    free(mean);
    free(inv);
    free(pairs);
    free(ids);
    free(val_probs);
    et_optimizer_free(&opt);
    et_tensor_free(&probs);
    et_net_free(net);
    return rc;
}
