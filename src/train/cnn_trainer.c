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
                                 et_net_input(net)->data + (size_t)i * FACE_PIXELS);
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
        n += snprintf(out + n, size - (size_t)n, " video_augment=1");
    if (o->aspect_augment > 0 && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, " aspect_augment=%g", o->aspect_augment);
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
    et_rng_seed(et_net_rng(net), mix(seed, 0xd40b0a7ULL));
    int rc = ET_OK, passes = 0;
    for (int start = 0; start < count && rc == ET_OK; start += batch) {
        int n = count - start < batch ? count - start : batch;
        if ((rc = et_net_prepare(net, n, 1)) != ET_OK)
            break;
        for (int i = 0; i < n; i++) {
            int idx = (int)et_rng_below(&pick, (uint32_t)train->count);
            et_emotion_normalize(train->pixels + (size_t)idx * FACE_PIXELS,
                                 et_net_input(net)->data + (size_t)i * FACE_PIXELS);
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

/* Everything one training run holds, from set-up (trainer_init) to
 * tear-down (trainer_free). */
typedef struct {
    const et_cnn_train_options *o;
    const et_face_dataset *train, *val;
    et_cnn_train_result *result;
    et_net *net, *avg_net; /* avg_net: the weight average (swa_start), else NULL */
    et_optimizer opt;
    et_tensor dlogits;
    uint8_t *augmented;
    int *order, *labels;
    float *targets;
    /* The unmixed batch, source of the CutMix boxes. */
    float *batch_images, *batch_targets;
    et_augment_options aug;
    float weights[ET_EMOTIONS];
    et_checkpoint_info info;
    int first_epoch, first_position; /* where a resumed run starts */
    long total_steps, warmup;
    double run_start, last_checkpoint;
    int epochs_run;
} cnn_trainer;

/* The running loss and accuracy of the epoch being trained. */
typedef struct {
    double loss_sum;
    long correct, seen;
} epoch_tally;

typedef struct {
    const et_net *init;
    const char *path;
    const char *last; /* the layer last reported */
} missing_ctx;

/* Says once for each layer with parameters that the --init net lacks it. */
static int report_missing(const et_param_ref *param, void *ctx)
{
    missing_ctx *m = ctx;
    if ((!m->last || strcmp(m->last, param->layer) != 0) && et_net_find_layer(m->init, param->layer) < 0) {
        fprintf(stderr, "layer '%s' is not in %s: it starts from its initialisation\n", param->layer, m->path);
        m->last = param->layer;
    }
    return ET_OK;
}

/* Copies the --init weights into the new net, saying which layers they lack. */
static int load_init_weights(cnn_trainer *t)
{
    const et_cnn_train_options *o = t->o;
    et_net *init = NULL;
    int rc = et_net_load(&init, o->init_weights);
    if (rc == ET_OK)
        rc = et_net_copy_params(t->net, init);
    /* Layers --arch adds to the --init net start from their initialisation. */
    if (rc == ET_OK && !o->quiet) {
        missing_ctx missing = {init, o->init_weights, NULL};
        et_net_visit_params(t->net, report_missing, &missing);
    }
    et_net_free(init);
    return rc == ET_OK ? ET_OK : et_error_wrap(rc, "%s: ", o->init_weights);
}

/* The buffers, the net (and the weight average's), the optimizer and the
 * schedule. On error the caller still calls trainer_free. */
static int trainer_init(cnn_trainer *t, const et_cnn_train_options *o, const et_face_dataset *train,
                        const et_face_dataset *val, et_cnn_train_result *result)
{
    memset(t, 0, sizeof *t);
    t->o = o;
    t->train = train;
    t->val = val;
    t->result = result;
    t->augmented = malloc(FACE_PIXELS);
    t->order = malloc((size_t)train->count * sizeof(int));
    t->labels = malloc((size_t)o->batch * sizeof(int));
    t->targets = malloc((size_t)o->batch * ET_EMOTIONS * sizeof(float));
    t->batch_images = o->cutmix > 0 ? malloc((size_t)o->batch * FACE_PIXELS * sizeof(float)) : NULL;
    t->batch_targets = o->cutmix > 0 ? malloc((size_t)o->batch * ET_EMOTIONS * sizeof(float)) : NULL;
    if (!t->augmented || !t->order || !t->labels || !t->targets ||
        (o->cutmix > 0 && (!t->batch_images || !t->batch_targets)))
        return et_error_set(ET_ERR_NOMEM, "train: out of memory");
    const char *arch = o->arch_json ? o->arch_json : et_emotion_cnn_default_arch();
    int rc = et_net_create(&t->net, arch, o->seed);
    if (rc == ET_OK && o->init_weights)
        rc = load_init_weights(t);
    if (rc == ET_OK)
        rc = et_optimizer_init(&t->opt, t->net, o->optimizer);
    if (rc != ET_OK)
        return rc;
    t->opt.momentum = o->momentum;
    t->opt.weight_decay = o->weight_decay;
    if (o->swa_start > 0 && ((rc = et_optimizer_average_enable(&t->opt)) != ET_OK ||
                             (rc = et_net_create(&t->avg_net, arch, o->seed)) != ET_OK))
        return rc;
    settings_text(o, t->info.settings, sizeof t->info.settings);
    t->info.best_accuracy = -1.0;
    et_augment_defaults(&t->aug);
    if (o->video_augment)
        et_augment_video_defaults(&t->aug);
    t->aug.max_aspect = o->aspect_augment;
    et_cnn_class_weights(train, o->class_balance, t->weights);
    long steps_per_epoch = (train->count + o->batch - 1) / o->batch;
    t->total_steps = steps_per_epoch * o->epochs;
    t->warmup = steps_per_epoch * o->warmup_epochs;
    return ET_OK;
}

static void trainer_free(cnn_trainer *t)
{
    free(t->augmented);
    free(t->order);
    free(t->labels);
    free(t->targets);
    free(t->batch_images);
    free(t->batch_targets);
    et_tensor_free(&t->dlogits);
    et_optimizer_free(&t->opt);
    et_net_free(t->avg_net);
    et_net_free(t->net);
}

/* Continues from the checkpoint (made with the same settings): weights,
 * optimizer, random state and the position inside its epoch, whose
 * running tally goes to *tally. */
static int trainer_resume(cnn_trainer *t, epoch_tally *tally)
{
    const et_cnn_train_options *o = t->o;
    et_checkpoint_info loaded;
    int rc = et_checkpoint_load(o->checkpoint_path, t->net, &t->opt, &loaded);
    if (rc != ET_OK)
        return rc;
    if (strcmp(loaded.settings, t->info.settings) != 0)
        return et_error_set(ET_ERR_USAGE, "%s: checkpoint was made with other settings (%s); this run has (%s)",
                            o->checkpoint_path, loaded.settings, t->info.settings);
    t->info = loaded;
    *et_net_rng(t->net) = loaded.rng;
    t->first_epoch = loaded.epoch;
    t->first_position = loaded.position;
    tally->loss_sum = loaded.partial_loss;
    tally->correct = loaded.partial_correct;
    tally->seen = loaded.partial_seen;
    t->result->best_epoch = loaded.best_epoch;
    if (!o->quiet)
        fprintf(stderr, "resuming %s at epoch %d, sample %d (best accuracy %.4f at epoch %d)\n", o->checkpoint_path,
                loaded.epoch + 1, loaded.position, loaded.best_accuracy, loaded.best_epoch);
    return ET_OK;
}

/* The epoch's order of the training images, from (seed, epoch) alone. */
static void shuffle_order(cnn_trainer *t, int epoch)
{
    et_rng shuffle;
    et_rng_seed(&shuffle, mix(t->o->seed, (uint64_t)epoch));
    for (int i = 0; i < t->train->count; i++)
        t->order[i] = i;
    for (int i = t->train->count - 1; i > 0; i--) {
        int j = (int)et_rng_below(&shuffle, (uint32_t)(i + 1));
        int tmp = t->order[i];
        t->order[i] = t->order[j];
        t->order[j] = tmp;
    }
}

/* Saves the exact position inside the epoch (sample start, the tally so
 * far), so that --resume sees the same batches. */
static int checkpoint_position(cnn_trainer *t, int epoch, int start, const epoch_tally *tally)
{
    t->info.epoch = epoch;
    t->info.position = start;
    t->info.partial_loss = tally->loss_sum;
    t->info.partial_correct = tally->correct;
    t->info.partial_seen = tally->seen;
    t->info.rng = *et_net_rng(t->net);
    int rc = ET_OK;
    if (t->o->checkpoint_path && start > 0)
        rc = et_checkpoint_save(t->o->checkpoint_path, t->net, &t->opt, &t->info);
    t->last_checkpoint = et_now_seconds();
    return rc;
}

/* The n images from sample start of the epoch's order, augmented (each
 * from its own seed), into the net's input, their targets into
 * t->targets, then CutMix across the batch. */
static int fill_batch(cnn_trainer *t, int epoch, int start, int n)
{
    const et_cnn_train_options *o = t->o;
    const et_face_dataset *train = t->train;
    et_net *net = t->net;
    int rc = et_net_prepare(net, n, 1);
    if (rc != ET_OK)
        return rc;
    for (int i = 0; i < n; i++) {
        int idx = t->order[start + i];
        const uint8_t *src = train->pixels + (size_t)idx * FACE_PIXELS;
        if (o->augment) {
            et_rng sample_rng;
            et_rng_seed(&sample_rng, mix(mix(o->seed, (uint64_t)epoch), (uint64_t)(start + i)));
            et_augment_face(src, t->augmented, ET_FACE_SIZE, &t->aug, &sample_rng);
            src = t->augmented;
        }
        et_emotion_normalize(src, et_net_input(net)->data + (size_t)i * FACE_PIXELS);
        t->labels[i] = train->labels[idx];
        if (train->soft)
            memcpy(t->targets + (size_t)i * ET_EMOTIONS, train->soft + (size_t)idx * ET_EMOTIONS,
                   ET_EMOTIONS * sizeof(float));
    }
    if (!train->soft)
        et_targets_one_hot(t->labels, n, ET_EMOTIONS, t->targets);
    if (o->cutmix > 0) {
        memcpy(t->batch_images, et_net_input(net)->data, (size_t)n * FACE_PIXELS * sizeof(float));
        memcpy(t->batch_targets, t->targets, (size_t)n * ET_EMOTIONS * sizeof(float));
        et_rng mix_rng;
        et_rng_seed(&mix_rng, mix(mix(mix(o->seed, (uint64_t)epoch), (uint64_t)start), 0xc0731bULL));
        et_cutmix_batch(et_net_input(net)->data, t->targets, n, ET_FACE_SIZE, ET_EMOTIONS, o->cutmix, t->batch_images,
                        t->batch_targets, &mix_rng);
    }
    return ET_OK;
}

/* One optimizer step on the batch fill_batch made: forward, loss (class
 * weighted), backward, update; the batch's loss and hits go to tally. */
static int train_step(cnn_trainer *t, int epoch, int n, epoch_tally *tally)
{
    const et_cnn_train_options *o = t->o;
    et_net *net = t->net;
    int rc = et_net_forward(net, 1);
    if (rc != ET_OK)
        return rc;
    const et_tensor *out = et_net_output(net, 0);
    double loss;
    if ((rc = et_loss_softmax_cross_entropy(out, t->targets, o->smoothing, &t->dlogits, &loss)) != ET_OK)
        return rc;
    if (!isfinite(loss))
        return et_error_set(ET_ERR, "train: loss became %g at epoch %d step %ld (learning rate too high?)", loss,
                            epoch + 1, t->info.step);
    et_tensor *dout = et_net_output_grad(net, 0);
    if (!dout)
        return ET_ERR_NOMEM;
    memcpy(dout->data, t->dlogits.data, et_tensor_count(&t->dlogits) * sizeof(float));
    if (o->class_balance > 0)
        weight_rows(dout->data, t->targets, n, t->weights);
    for (int i = 0; i < n; i++)
        tally->correct += et_argmax(out->data + (size_t)i * ET_EMOTIONS, ET_EMOTIONS) == t->labels[i];
    tally->seen += n;
    tally->loss_sum += loss * n;
    et_net_zero_grad(net);
    if ((rc = et_net_backward(net)) != ET_OK)
        return rc;
    float lr = et_lr_cosine(o->lr, o->min_lr, t->info.step, t->total_steps, t->warmup);
    if ((rc = et_optimizer_step(&t->opt, net, lr)) != ET_OK)
        return rc;
    t->info.step++;
    return ET_OK;
}

/* Trains the batches of epoch from sample start0 on. A stop (signal,
 * max_steps) or the checkpoint interval saves the position first; a stop
 * sets *interrupted and returns. */
static int run_epoch(cnn_trainer *t, int epoch, int start0, epoch_tally *tally, int *interrupted)
{
    const et_cnn_train_options *o = t->o;
    int rc = ET_OK;
    *interrupted = 0;
    for (int start = start0; start < t->train->count; start += o->batch) {
        int stopping = (o->max_steps && t->info.step >= o->max_steps) || (o->stop && *o->stop);
        if ((stopping ||
             (o->checkpoint_seconds > 0 && start > start0 &&
              et_now_seconds() - t->last_checkpoint >= o->checkpoint_seconds)) &&
            (rc = checkpoint_position(t, epoch, start, tally)) != ET_OK)
            return rc;
        if (stopping) {
            *interrupted = 1;
            return ET_OK;
        }
        int n = t->train->count - start < o->batch ? t->train->count - start : o->batch;
        if ((rc = fill_batch(t, epoch, start, n)) != ET_OK || (rc = train_step(t, epoch, n, tally)) != ET_OK)
            return rc;
    }
    return ET_OK;
}

/* After a finished epoch: validates the net (and the weight average from
 * swa_start on), writes the epoch files and new best weights. Sets
 * *averaging when the average was validated. */
static int select_epoch(cnn_trainer *t, int epoch, const et_metrics *val_metrics, int *averaging)
{
    const et_cnn_train_options *o = t->o;
    et_cnn_train_result *result = t->result;
    int rc;
    if ((rc = save_epoch(o, t->net, val_metrics, epoch + 1, 0)) != ET_OK)
        return rc;
    if (val_metrics->accuracy > t->info.best_accuracy &&
        (rc = keep_best(o, &t->info, result, t->net, val_metrics, epoch + 1, 0)) != ET_OK)
        return rc;
    *averaging = t->avg_net && epoch + 1 >= o->swa_start;
    if (!*averaging)
        return ET_OK;
    et_metrics *avg = &result->last_average_val;
    if ((rc = validate_average(&t->opt, t->net, t->avg_net, t->train, t->val, o, avg)) != ET_OK ||
        (rc = save_epoch(o, t->avg_net, avg, epoch + 1, t->opt.averaged)) != ET_OK)
        return rc;
    if (avg->accuracy > t->info.best_accuracy &&
        (rc = keep_best(o, &t->info, result, t->avg_net, avg, epoch + 1, t->opt.averaged)) != ET_OK)
        return rc;
    return ET_OK;
}

static void print_epoch(const cnn_trainer *t, int epoch, const et_metrics *val_metrics, int averaging,
                        double epoch_start)
{
    const et_cnn_train_options *o = t->o;
    const et_cnn_train_result *result = t->result;
    double elapsed = et_now_seconds() - t->run_start;
    double eta = elapsed / t->epochs_run * (o->epochs - epoch - 1);
    char average[96] = "";
    if (averaging)
        snprintf(average, sizeof average, " avg_val_acc %.4f avg_val_macro_f1 %.4f (%ld epochs)",
                 result->last_average_val.accuracy, result->last_average_val.macro_f1, t->opt.averaged);
    fprintf(stderr, "epoch %d/%d loss %.4f train_acc %.4f val_acc %.4f val_macro_f1 %.4f%s best %.4f@%d "
                    "lr %.5f %.0f img/s epoch %.0fs eta %.0fm\n",
            epoch + 1, o->epochs, result->last_loss, result->last_train_accuracy, val_metrics->accuracy,
            val_metrics->macro_f1, average, t->info.best_accuracy, t->info.best_epoch,
            et_lr_cosine(o->lr, o->min_lr, t->info.step, t->total_steps, t->warmup), result->images_per_second,
            et_now_seconds() - epoch_start, eta / 60.0);
}

/* The end of a finished epoch: validation, selection, the epoch's
 * checkpoint and its line of progress. */
static int end_epoch(cnn_trainer *t, int epoch, const epoch_tally *tally, double epoch_start, double train_seconds)
{
    et_cnn_train_result *result = t->result;
    et_metrics val_metrics;
    int rc = et_cnn_evaluate(t->net, t->val, &val_metrics, NULL);
    if (rc != ET_OK)
        return rc;
    t->epochs_run++;
    t->info.epoch = epoch + 1;
    t->info.position = 0;
    t->info.partial_loss = 0.0;
    t->info.partial_correct = t->info.partial_seen = 0;
    t->info.rng = *et_net_rng(t->net);
    result->epochs_done = epoch + 1;
    result->last_val = val_metrics;
    result->images_per_second = train_seconds > 0 ? tally->seen / train_seconds : 0.0;
    int averaging = 0;
    if ((rc = select_epoch(t, epoch, &val_metrics, &averaging)) != ET_OK)
        return rc;
    if (t->o->checkpoint_path && (rc = et_checkpoint_save(t->o->checkpoint_path, t->net, &t->opt, &t->info)) != ET_OK)
        return rc;
    t->last_checkpoint = et_now_seconds();
    if (!t->o->quiet)
        print_epoch(t, epoch, &val_metrics, averaging, epoch_start);
    return ET_OK;
}

int et_cnn_train(const et_cnn_train_options *o, const et_face_dataset *train, const et_face_dataset *val,
                 et_cnn_train_result *result)
{
    memset(result, 0, sizeof *result);
    cnn_trainer t;
    epoch_tally resumed = {0};
    int rc = trainer_init(&t, o, train, val, result);
    if (rc == ET_OK && o->resume)
        rc = trainer_resume(&t, &resumed);
    t.run_start = t.last_checkpoint = et_now_seconds();
    for (int epoch = t.first_epoch; rc == ET_OK && epoch < o->epochs; epoch++) {
        /* max_steps ends the run like an interruption (tests use it). */
        if (o->max_steps && t.info.step >= o->max_steps)
            break;
        double epoch_start = et_now_seconds();
        shuffle_order(&t, epoch);
        int resuming = epoch == t.first_epoch && t.first_position > 0;
        epoch_tally tally = resuming ? resumed : (epoch_tally){0};
        int interrupted = 0;
        if ((rc = run_epoch(&t, epoch, resuming ? t.first_position : 0, &tally, &interrupted)) != ET_OK)
            break;
        double train_seconds = et_now_seconds() - epoch_start;
        result->last_loss = tally.seen ? tally.loss_sum / tally.seen : 0.0;
        result->last_train_accuracy = tally.seen ? (double)tally.correct / tally.seen : 0.0;
        if (interrupted) {
            if (o->stop && *o->stop)
                rc = et_error_set(ET_ERR_INTERRUPTED, "%s: interrupted; continue with --resume",
                                  o->checkpoint_path ? o->checkpoint_path : "training");
            break;
        }
        rc = end_epoch(&t, epoch, &tally, epoch_start, train_seconds);
    }
    trainer_free(&t);
    return rc;
}
