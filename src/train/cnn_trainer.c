/* The emotion CNN training loop. Randomness is derived from (seed, epoch,
 * position) so that a resumed run sees the same batches and augmentations as
 * an uninterrupted one. */
#include "emotrace/cnn_trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/augment.h"
#include "emotrace/checkpoint.h"
#include "emotrace/clock.h"
#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"

#define FACE_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)

void et_cnn_train_defaults(et_cnn_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 60;
    o->batch = 64;
    o->optimizer = ET_OPTIMIZER_SGD;
    o->lr = 0.05f;
    o->min_lr = 0.0005f;
    o->weight_decay = 5e-4f;
    o->momentum = 0.9f;
    o->smoothing = 0.1f;
    o->warmup_epochs = 1;
    o->seed = 1;
    o->augment = 1;
    o->checkpoint_seconds = 600;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b14915ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    return z ^ (z >> 31);
}

int et_cnn_evaluate(et_net *net, const et_face_dataset *ds, et_metrics *metrics, float *probabilities)
{
    const int batch = 256;
    et_metrics_init(metrics);
    for (int start = 0; start < ds->count; start += batch) {
        int n = ds->count - start < batch ? ds->count - start : batch;
        int rc = et_net_prepare(net, n, 1);
        if (rc != ET_OK)
            return rc;
        for (int i = 0; i < n; i++)
            et_emotion_normalize(ds->pixels + (size_t)(start + i) * FACE_PIXELS,
                                 net->input.data + (size_t)i * FACE_PIXELS);
        rc = et_net_forward(net, 0);
        if (rc != ET_OK)
            return rc;
        const float *logits = et_net_output(net, 0)->data;
        for (int i = 0; i < n; i++) {
            float p[ET_EMOTIONS];
            et_emotion_softmax(logits + (size_t)i * ET_EMOTIONS, p);
            if (probabilities)
                memcpy(probabilities + (size_t)(start + i) * ET_EMOTIONS, p, sizeof p);
            et_metrics_add(metrics, ds->labels[start + i], et_argmax(p, ET_EMOTIONS));
        }
    }
    et_metrics_finish(metrics);
    return ET_OK;
}

static void settings_text(const et_cnn_train_options *o, char *out, size_t size)
{
    int n = snprintf(out, size, "epochs=%d batch=%d optimizer=%s lr=%g min_lr=%g weight_decay=%g momentum=%g smoothing=%g warmup=%d seed=%llu augment=%d",
                     o->epochs, o->batch, o->optimizer == ET_OPTIMIZER_SGD ? "sgd" : "adamw", o->lr, o->min_lr,
                     o->weight_decay, o->momentum, o->smoothing, o->warmup_epochs, (unsigned long long)o->seed,
                     o->augment);
    /* Only when set, so that checkpoints of earlier runs still resume. */
    if (o->swa_start > 0 && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, " swa_start=%d", o->swa_start);
    if (o->cutmix > 0 && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, " cutmix=%g", o->cutmix);
    if (o->class_balance > 0 && n >= 0 && (size_t)n < size)
        n += snprintf(out + n, size - (size_t)n, " class_balance=%g", o->class_balance);
    if (o->video_augment && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, " video_augment=1");
}

void et_cnn_class_weights(const et_face_dataset *train, float power, float *weights)
{
    long count[ET_EMOTIONS] = {0};
    for (int i = 0; i < train->count; i++)
        count[train->labels[i]]++;
    double total = 0.0;
    for (int c = 0; c < ET_EMOTIONS; c++) {
        weights[c] = count[c] > 0 ? (float)pow((double)count[c], -power) : 0.0f;
        total += weights[c] * (double)count[c];
    }
    for (int c = 0; c < ET_EMOTIONS; c++)
        weights[c] = total > 0 ? (float)(weights[c] * train->count / total) : 1.0f;
}

/* Scales each row's gradient by the class weights of its target mix. */
static void weight_rows(float *dlogits, const float *targets, int n, const float *weights)
{
    for (int i = 0; i < n; i++) {
        float w = 0.0f;
        for (int c = 0; c < ET_EMOTIONS; c++)
            w += targets[(size_t)i * ET_EMOTIONS + c] * weights[c];
        for (int c = 0; c < ET_EMOTIONS; c++)
            dlogits[(size_t)i * ET_EMOTIONS + c] *= w;
    }
}

/* Training images, unaugmented, that recompute the batch-norm statistics of
 * averaged weights (the mean of several nets' weights has none of its own). */
#define BN_RECOMPUTE_SAMPLES 8192

/* Sets every batch norm's running statistics to the mean of its batch
 * statistics over a fixed sample of the training set (same sample, same
 * dropout, every time: a resumed run gets the same numbers). The momentum
 * stays at 1/k afterwards: net is only used for inference. */
static int recompute_batchnorm(et_net *net, const et_face_dataset *train, int batch, uint64_t seed)
{
    int count = train->count < BN_RECOMPUTE_SAMPLES ? train->count : BN_RECOMPUTE_SAMPLES;
    if (count > batch)
        count -= count % batch; /* whole batches: each weighs the same in the mean */
    et_rng pick;
    et_rng_seed(&pick, mix(seed, 0xb47c4e0dULL));
    et_rng_seed(&net->rng, mix(seed, 0xd40b0a7ULL));
    int rc = ET_OK, passes = 0;
    for (int start = 0; start < count && rc == ET_OK; start += batch) {
        int n = count - start < batch ? count - start : batch;
        if ((rc = et_net_prepare(net, n, 1)) != ET_OK)
            break;
        for (int i = 0; i < n; i++) {
            int idx = (int)et_rng_below(&pick, (uint32_t)train->count);
            et_emotion_normalize(train->pixels + (size_t)idx * FACE_PIXELS, net->input.data + (size_t)i * FACE_PIXELS);
        }
        et_net_set_batchnorm_momentum(net, 1.0f / (float)++passes);
        rc = et_net_forward(net, 1);
    }
    return rc;
}

/* Takes the end-of-epoch snapshot into the weight average and validates the
 * average (in avg_net). */
static int validate_average(et_optimizer *opt, et_net *net, et_net *avg_net, const et_face_dataset *train,
                            const et_face_dataset *val, const et_cnn_train_options *o, et_metrics *metrics)
{
    int rc = et_optimizer_average_add(opt, net);
    if (rc == ET_OK)
        rc = et_net_copy_params(avg_net, net);
    if (rc == ET_OK)
        rc = et_optimizer_average_apply(opt, avg_net);
    if (rc == ET_OK)
        rc = recompute_batchnorm(avg_net, train, o->batch, o->seed);
    if (rc == ET_OK)
        rc = et_cnn_evaluate(avg_net, val, metrics, NULL);
    return rc;
}

static int save_best(const char *path, et_net *net, const et_cnn_train_options *o, const et_metrics *m, int epoch,
                     long averaged)
{
    char accuracy[32], macro_f1[32], epoch_text[48], settings[512];
    snprintf(accuracy, sizeof accuracy, "%.4f", m->accuracy);
    snprintf(macro_f1, sizeof macro_f1, "%.4f", m->macro_f1);
    if (averaged > 0) /* the mean of the weights at the end of these epochs */
        snprintf(epoch_text, sizeof epoch_text, "%ld-%d (weight average)", epoch - averaged + 1, epoch);
    else
        snprintf(epoch_text, sizeof epoch_text, "%d", epoch);
    settings_text(o, settings, sizeof settings);
    const char *metadata[] = {"trained_by", "emotrace " ET_VERSION, "command", o->command_line ? o->command_line : "",
                              "settings", settings, "epoch", epoch_text, "validation_accuracy", accuracy,
                              "validation_macro_f1", macro_f1, "labels",
                              "angry,disgust,fear,happy,sad,surprise,neutral", NULL};
    return et_net_save(net, path, metadata);
}

/* Writes this epoch's weights beside --out (keep_epochs). */
static int save_epoch(const et_cnn_train_options *o, et_net *net, const et_metrics *m, int epoch, long averaged)
{
    if (!o->keep_epochs || !o->out_path)
        return ET_OK;
    size_t len = strlen(o->out_path);
    const char *suffix = ".safetensors";
    if (len >= strlen(suffix) && !strcmp(o->out_path + len - strlen(suffix), suffix))
        len -= strlen(suffix);
    char path[4096];
    int n = snprintf(path, sizeof path, "%.*s.epoch%d%s.safetensors", (int)len, o->out_path, epoch,
                     averaged > 0 ? "-avg" : "");
    if (n < 0 || (size_t)n >= sizeof path)
        return et_error_set(ET_ERR_USAGE, "%s: path too long for the epoch files", o->out_path);
    return save_best(path, net, o, m, epoch, averaged);
}

/* Records new best weights (net, validated as m) and writes them to --out. */
static int keep_best(const et_cnn_train_options *o, et_checkpoint_info *info, et_cnn_train_result *result,
                     et_net *net, const et_metrics *m, int epoch, long averaged)
{
    info->best_accuracy = m->accuracy;
    info->best_epoch = epoch;
    result->best_val = *m;
    result->best_epoch = epoch;
    result->best_is_average = averaged > 0;
    return o->out_path ? save_best(o->out_path, net, o, m, epoch, averaged) : ET_OK;
}

int et_cnn_train(const et_cnn_train_options *o, const et_face_dataset *train, const et_face_dataset *val,
                 et_cnn_train_result *result)
{
    memset(result, 0, sizeof *result);
    et_net *net = NULL, *avg_net = NULL;
    et_optimizer opt = {0};
    et_tensor dlogits = {0};
    uint8_t *augmented = malloc(FACE_PIXELS);
    int *order = malloc((size_t)train->count * sizeof(int));
    int *labels = malloc((size_t)o->batch * sizeof(int));
    float *targets = malloc((size_t)o->batch * ET_EMOTIONS * sizeof(float));
    /* The unmixed batch, source of the CutMix boxes. */
    float *batch_images = o->cutmix > 0 ? malloc((size_t)o->batch * FACE_PIXELS * sizeof(float)) : NULL;
    float *batch_targets = o->cutmix > 0 ? malloc((size_t)o->batch * ET_EMOTIONS * sizeof(float)) : NULL;
    int rc = ET_OK;
    if (!augmented || !order || !labels || !targets || (o->cutmix > 0 && (!batch_images || !batch_targets))) {
        rc = et_error_set(ET_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    rc = et_net_create(&net, o->arch_json ? o->arch_json : et_emotion_cnn_default_arch(), o->seed);
    if (rc != ET_OK)
        goto done;
    if (o->init_weights) {
        et_net *init = NULL;
        rc = et_net_load(&init, o->init_weights);
        if (rc == ET_OK)
            rc = et_net_copy_params(net, init);
        /* Layers --arch adds to the --init net start from their initialisation. */
        for (int l = 0; rc == ET_OK && !o->quiet && l < net->layer_count; l++)
            if (net->layers[l].param_count > 0 && et_net_find(init, net->layers[l].name) < 0)
                fprintf(stderr, "layer '%s' is not in %s: it starts from its initialisation\n",
                        net->layers[l].name, o->init_weights);
        et_net_free(init);
        if (rc != ET_OK) {
            rc = et_error_wrap(rc, "%s: ", o->init_weights);
            goto done;
        }
    }
    rc = et_optimizer_init(&opt, net, o->optimizer);
    if (rc != ET_OK)
        goto done;
    opt.momentum = o->momentum;
    opt.weight_decay = o->weight_decay;
    if (o->swa_start > 0 &&
        ((rc = et_optimizer_average_enable(&opt)) != ET_OK ||
         (rc = et_net_create(&avg_net, o->arch_json ? o->arch_json : et_emotion_cnn_default_arch(), o->seed)) != ET_OK))
        goto done;

    et_checkpoint_info info = {0};
    settings_text(o, info.settings, sizeof info.settings);
    info.best_accuracy = -1.0;
    int first_epoch = 0, first_position = 0;
    double resumed_loss = 0.0;
    long resumed_correct = 0, resumed_seen = 0;
    if (o->resume) {
        et_checkpoint_info loaded;
        rc = et_checkpoint_load(o->checkpoint_path, net, &opt, &loaded);
        if (rc != ET_OK)
            goto done;
        if (strcmp(loaded.settings, info.settings) != 0) {
            rc = et_error_set(ET_ERR_USAGE, "%s: checkpoint was made with other settings (%s); this run has (%s)",
                              o->checkpoint_path, loaded.settings, info.settings);
            goto done;
        }
        info = loaded;
        net->rng = loaded.rng;
        first_epoch = loaded.epoch;
        first_position = loaded.position;
        resumed_loss = loaded.partial_loss;
        resumed_correct = loaded.partial_correct;
        resumed_seen = loaded.partial_seen;
        result->best_epoch = loaded.best_epoch;
        if (!o->quiet)
            fprintf(stderr, "resuming %s at epoch %d, sample %d (best accuracy %.4f at epoch %d)\n",
                    o->checkpoint_path, loaded.epoch + 1, loaded.position, loaded.best_accuracy, loaded.best_epoch);
    }

    et_augment_options aug;
    et_augment_defaults(&aug);
    if (o->video_augment)
        et_augment_video_defaults(&aug);
    float weights[ET_EMOTIONS];
    et_cnn_class_weights(train, o->class_balance, weights);
    long steps_per_epoch = (train->count + o->batch - 1) / o->batch;
    long total_steps = steps_per_epoch * o->epochs, warmup = steps_per_epoch * o->warmup_epochs;
    double run_start = et_now_seconds(), last_checkpoint = et_now_seconds();
    int epochs_run = 0;
    for (int epoch = first_epoch; epoch < o->epochs; epoch++) {
        /* max_steps ends the run like an interruption (tests use it). */
        if (o->max_steps && info.step >= o->max_steps)
            break;
        double epoch_start = et_now_seconds();
        et_rng shuffle;
        et_rng_seed(&shuffle, mix(o->seed, (uint64_t)epoch));
        for (int i = 0; i < train->count; i++)
            order[i] = i;
        for (int i = train->count - 1; i > 0; i--) {
            int j = (int)et_rng_below(&shuffle, (uint32_t)(i + 1));
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double loss_sum = 0.0;
        long correct = 0, seen = 0;
        int interrupted = 0, start0 = 0;
        if (epoch == first_epoch && first_position > 0) {
            start0 = first_position;
            loss_sum = resumed_loss;
            correct = resumed_correct;
            seen = resumed_seen;
        }
        for (int start = start0; start < train->count; start += o->batch) {
            /* A stop (signal, time limit, max_steps) or the checkpoint
             * interval saves the exact position inside the epoch. */
            int stopping = (o->max_steps && info.step >= o->max_steps) || (o->stop && *o->stop);
            if (stopping || (o->checkpoint_seconds > 0 && start > start0 &&
                             et_now_seconds() - last_checkpoint >= o->checkpoint_seconds)) {
                info.epoch = epoch;
                info.position = start;
                info.partial_loss = loss_sum;
                info.partial_correct = correct;
                info.partial_seen = seen;
                info.rng = net->rng;
                if (o->checkpoint_path && start > 0 &&
                    (rc = et_checkpoint_save(o->checkpoint_path, net, &opt, &info)) != ET_OK)
                    goto done;
                last_checkpoint = et_now_seconds();
            }
            if (stopping) {
                interrupted = 1;
                break;
            }
            int n = train->count - start < o->batch ? train->count - start : o->batch;
            if ((rc = et_net_prepare(net, n, 1)) != ET_OK)
                goto done;
            for (int i = 0; i < n; i++) {
                int idx = order[start + i];
                const uint8_t *src = train->pixels + (size_t)idx * FACE_PIXELS;
                if (o->augment) {
                    et_rng sample_rng;
                    et_rng_seed(&sample_rng, mix(mix(o->seed, (uint64_t)epoch), (uint64_t)(start + i)));
                    et_augment_face(src, augmented, ET_FACE_SIZE, &aug, &sample_rng);
                    src = augmented;
                }
                et_emotion_normalize(src, net->input.data + (size_t)i * FACE_PIXELS);
                labels[i] = train->labels[idx];
                if (train->soft)
                    memcpy(targets + (size_t)i * ET_EMOTIONS, train->soft + (size_t)idx * ET_EMOTIONS,
                           ET_EMOTIONS * sizeof(float));
            }
            if (!train->soft)
                et_targets_one_hot(labels, n, ET_EMOTIONS, targets);
            if (o->cutmix > 0) {
                memcpy(batch_images, net->input.data, (size_t)n * FACE_PIXELS * sizeof(float));
                memcpy(batch_targets, targets, (size_t)n * ET_EMOTIONS * sizeof(float));
                et_rng mix_rng;
                et_rng_seed(&mix_rng, mix(mix(mix(o->seed, (uint64_t)epoch), (uint64_t)start), 0xc0731bULL));
                et_cutmix_batch(net->input.data, targets, n, ET_FACE_SIZE, ET_EMOTIONS, o->cutmix, batch_images,
                                batch_targets, &mix_rng);
            }
            if ((rc = et_net_forward(net, 1)) != ET_OK)
                goto done;
            et_layer *out = &net->layers[net->outputs[0]];
            double loss;
            if ((rc = et_loss_softmax_cross_entropy(&out->out, targets, o->smoothing, &dlogits, &loss)) != ET_OK)
                goto done;
            if (!isfinite(loss)) {
                rc = et_error_set(ET_ERR, "train: loss became %g at epoch %d step %ld (learning rate too high?)",
                                  loss, epoch + 1, info.step);
                goto done;
            }
            if ((rc = et_tensor_resize(&out->dout, dlogits.n, dlogits.c, dlogits.h, dlogits.w)) != ET_OK)
                goto done;
            memcpy(out->dout.data, dlogits.data, et_tensor_count(&dlogits) * sizeof(float));
            if (o->class_balance > 0)
                weight_rows(out->dout.data, targets, n, weights);
            for (int i = 0; i < n; i++)
                correct += et_argmax(out->out.data + (size_t)i * ET_EMOTIONS, ET_EMOTIONS) == labels[i];
            seen += n;
            loss_sum += loss * n;
            et_net_zero_grad(net);
            if ((rc = et_net_backward(net)) != ET_OK)
                goto done;
            float lr = et_lr_cosine(o->lr, o->min_lr, info.step, total_steps, warmup);
            if ((rc = et_optimizer_step(&opt, net, lr)) != ET_OK)
                goto done;
            info.step++;
        }
        double train_seconds = et_now_seconds() - epoch_start;
        result->last_loss = seen ? loss_sum / seen : 0.0;
        result->last_train_accuracy = seen ? (double)correct / seen : 0.0;
        if (interrupted) {
            if (o->stop && *o->stop)
                rc = et_error_set(ET_ERR_INTERRUPTED, "%s: interrupted; continue with --resume",
                                  o->checkpoint_path ? o->checkpoint_path : "training");
            break;
        }
        et_metrics val_metrics;
        if ((rc = et_cnn_evaluate(net, val, &val_metrics, NULL)) != ET_OK)
            goto done;
        epochs_run++;
        info.epoch = epoch + 1;
        info.position = 0;
        info.partial_loss = 0.0;
        info.partial_correct = info.partial_seen = 0;
        info.rng = net->rng;
        result->epochs_done = epoch + 1;
        result->last_val = val_metrics;
        result->images_per_second = train_seconds > 0 ? seen / train_seconds : 0.0;
        if ((rc = save_epoch(o, net, &val_metrics, epoch + 1, 0)) != ET_OK)
            goto done;
        if (val_metrics.accuracy > info.best_accuracy &&
            (rc = keep_best(o, &info, result, net, &val_metrics, epoch + 1, 0)) != ET_OK)
            goto done;
        int averaging = avg_net && epoch + 1 >= o->swa_start;
        if (averaging) {
            et_metrics *avg = &result->last_average_val;
            if ((rc = validate_average(&opt, net, avg_net, train, val, o, avg)) != ET_OK)
                goto done;
            if ((rc = save_epoch(o, avg_net, avg, epoch + 1, opt.averaged)) != ET_OK)
                goto done;
            if (avg->accuracy > info.best_accuracy &&
                (rc = keep_best(o, &info, result, avg_net, avg, epoch + 1, opt.averaged)) != ET_OK)
                goto done;
        }
        if (o->checkpoint_path && (rc = et_checkpoint_save(o->checkpoint_path, net, &opt, &info)) != ET_OK)
            goto done;
        last_checkpoint = et_now_seconds();
        if (!o->quiet) {
            double elapsed = et_now_seconds() - run_start;
            double eta = elapsed / epochs_run * (o->epochs - epoch - 1);
            char average[96] = "";
            if (averaging)
                snprintf(average, sizeof average, " avg_val_acc %.4f avg_val_macro_f1 %.4f (%ld epochs)",
                         result->last_average_val.accuracy, result->last_average_val.macro_f1, opt.averaged);
            fprintf(stderr, "epoch %d/%d loss %.4f train_acc %.4f val_acc %.4f val_macro_f1 %.4f%s best %.4f@%d "
                            "lr %.5f %.0f img/s epoch %.0fs eta %.0fm\n",
                    epoch + 1, o->epochs, result->last_loss, result->last_train_accuracy, val_metrics.accuracy,
                    val_metrics.macro_f1, average, info.best_accuracy, info.best_epoch,
                    et_lr_cosine(o->lr, o->min_lr, info.step, total_steps, warmup), result->images_per_second,
                    et_now_seconds() - epoch_start, eta / 60.0);
        }
    }
done:
    free(augmented);
    free(order);
    free(labels);
    free(targets);
    free(batch_images);
    free(batch_targets);
    et_tensor_free(&dlogits);
    et_optimizer_free(&opt);
    et_net_free(avg_net);
    et_net_free(net);
    return rc;
}
