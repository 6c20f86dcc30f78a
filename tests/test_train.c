/* The training loop: loss falls, a tiny batch is overfitted, a resumed
 * run ends with the same weights as an uninterrupted one (also with CutMix
 * and weight averaging), and distillation targets. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/checkpoint.h"
#include "emotrace/cnn_trainer.h"
#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"
#include "emotrace/face_dataset.h"
#include "emotrace/metrics.h"
#include "emotrace/nn_train.h"
#include "emotrace/safetensors.h"
#include "emotrace/teacher.h"
#include "test.h"

#define FIXTURE "tests/fixtures/fer2013-publictest-sample.csv.gz"

/* A small CNN so that the tests run in seconds. */
static const char *small_arch =
    "{\"format\":\"emotrace-net-1\",\"name\":\"small\",\"input\":[1,48,48],\"layers\":["
    "{\"name\":\"c1\",\"type\":\"conv2d\",\"out\":8,\"kernel\":3,\"stride\":2,\"pad\":1},"
    "{\"name\":\"b1\",\"type\":\"batchnorm\"},{\"name\":\"r1\",\"type\":\"relu\"},"
    "{\"name\":\"p1\",\"type\":\"maxpool\",\"kernel\":2},"
    "{\"name\":\"c2\",\"type\":\"conv2d\",\"out\":16,\"kernel\":3,\"pad\":1},"
    "{\"name\":\"b2\",\"type\":\"batchnorm\"},{\"name\":\"r2\",\"type\":\"relu\"},"
    "{\"name\":\"p2\",\"type\":\"maxpool\",\"kernel\":2},"
    "{\"name\":\"d\",\"type\":\"dropout\",\"rate\":0.2},"
    "{\"name\":\"embedding\",\"type\":\"dense\",\"out\":32},{\"name\":\"r3\",\"type\":\"relu\"},"
    "{\"name\":\"logits\",\"type\":\"dense\",\"out\":7}],\"outputs\":[\"logits\"]}";

static void small_options(et_cnn_train_options *o)
{
    et_cnn_train_defaults(o);
    o->arch_json = small_arch;
    o->quiet = 1;
    o->batch = 16;
    o->lr = 0.05f;
    o->warmup_epochs = 0;
    o->smoothing = 0.0f;
}

static void subset(const et_face_dataset *src, int count, et_face_dataset *dst)
{
    *dst = *src;
    dst->count = count;
}

TEST(train_overfits_tiny_batch)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, NULL, 0) == ET_OK);
    et_face_dataset tiny;
    subset(&ds, 16, &tiny);
    et_cnn_train_options o;
    small_options(&o);
    o.augment = 0;
    o.epochs = 60;
    o.lr = 0.02f;
    o.min_lr = 0.02f;
    et_cnn_train_result r;
    CHECK(et_cnn_train(&o, &tiny, &tiny, &r) == ET_OK);
    /* 16 images memorised: the model in inference mode gets them all right. */
    CHECK_MSG(r.best_val.accuracy == 1.0, "accuracy on the tiny training batch %.3f", r.best_val.accuracy);
    CHECK_MSG(r.last_loss < 0.2, "final loss %.3f", r.last_loss);
    et_face_dataset_free(&ds);
}

TEST(train_loss_falls)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, NULL, 0) == ET_OK);
    et_face_dataset part;
    subset(&ds, 320, &part);
    et_cnn_train_options o;
    small_options(&o);
    o.epochs = 1;
    et_cnn_train_result first, later;
    CHECK(et_cnn_train(&o, &part, &part, &first) == ET_OK);
    o.epochs = 6;
    CHECK(et_cnn_train(&o, &part, &part, &later) == ET_OK);
    CHECK_MSG(later.last_loss < first.last_loss - 0.1, "loss after 1 epoch %.3f, after 6 epochs %.3f",
              first.last_loss, later.last_loss);
    et_face_dataset_free(&ds);
}

typedef struct {
    et_net *other;
    double tol;
} close_ctx;

/* ET_OK when the parameter of the other net with the same name is within
 * tol of this one everywhere. */
static int param_close(const et_param_ref *param, void *ctx)
{
    const close_ctx *c = ctx;
    const et_tensor *x = param->value, *y = et_net_find_param(c->other, param->layer, param->name);
    if (!y || et_tensor_count(y) != et_tensor_count(x)) {
        fprintf(stderr, "  %s.%s: missing or of another size in the other net\n", param->layer, param->name);
        return ET_ERR;
    }
    for (size_t i = 0; i < et_tensor_count(x); i++)
        if (fabs(x->data[i] - y->data[i]) > c->tol) {
            fprintf(stderr, "  %s.%s[%zu]: %g vs %g\n", param->layer, param->name, i, x->data[i], y->data[i]);
            return ET_ERR;
        }
    return ET_OK;
}

static int weights_close(const char *a_path, const char *b_path, double tol)
{
    et_net *a = NULL, *b = NULL;
    int same = et_net_load(&a, a_path) == ET_OK && et_net_load(&b, b_path) == ET_OK;
    close_ctx c = {b, tol};
    same = same && et_net_visit_params(a, param_close, &c) == ET_OK;
    et_net_free(a);
    et_net_free(b);
    return same;
}

/* Trains part for 3 epochs uninterrupted and, into another checkpoint,
 * interrupted in the middle of the second epoch (6 steps per epoch) then
 * resumed from that step; both checkpoints must hold the same weights. */
static void check_resume(const et_face_dataset *part, float cutmix, const char *tag)
{
    char full_ckpt[512], resumed_ckpt[512];
    snprintf(full_ckpt, sizeof full_ckpt, "%s/full-%s.ckpt", test_tmpdir(), tag);
    snprintf(resumed_ckpt, sizeof resumed_ckpt, "%s/resumed-%s.ckpt", test_tmpdir(), tag);
    et_cnn_train_options o;
    small_options(&o);
    o.epochs = 3;
    o.cutmix = cutmix;
    o.checkpoint_path = full_ckpt;
    et_cnn_train_result r;
    CHECK(et_cnn_train(&o, part, part, &r) == ET_OK);
    o.checkpoint_path = resumed_ckpt;
    o.max_steps = 9;
    CHECK(et_cnn_train(&o, part, part, &r) == ET_OK);
    CHECK_EQ_INT(r.epochs_done, 1);
    o.max_steps = 0;
    o.resume = 1;
    CHECK(et_cnn_train(&o, part, part, &r) == ET_OK);
    CHECK_EQ_INT(r.epochs_done, 3);
    CHECK_MSG(weights_close(full_ckpt, resumed_ckpt, 1e-5), "%s: resumed weights differ", tag);
    /* A checkpoint from other settings is refused with a clear message. */
    o.lr = 0.5f;
    CHECK(et_cnn_train(&o, part, part, &r) != ET_OK);
    CHECK(strstr(et_error_message(), "other settings") != NULL);
}

TEST(train_resume_matches_uninterrupted)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, NULL, 0) == ET_OK);
    et_face_dataset part;
    subset(&ds, 96, &part);
    check_resume(&part, 0.0f, "plain");
    /* CutMix draws its boxes from (seed, epoch, position) too. */
    check_resume(&part, 0.5f, "cutmix");
    /* ... and it is applied: the weights differ from the run without it. */
    char plain[512], cutmix[512];
    snprintf(plain, sizeof plain, "%s/full-plain.ckpt", test_tmpdir());
    snprintf(cutmix, sizeof cutmix, "%s/full-cutmix.ckpt", test_tmpdir());
    CHECK(!weights_close(plain, cutmix, 1e-3));
    et_face_dataset_free(&ds);
}

/* Loads a checkpoint of small_arch with its weight average. */
static int load_checkpoint(const char *path, et_net **net, et_optimizer *opt)
{
    et_checkpoint_info info;
    if (et_net_create(net, small_arch, 1) != ET_OK || et_optimizer_init(opt, *net, ET_OPTIMIZER_SGD) != ET_OK ||
        et_optimizer_average_enable(opt) != ET_OK)
        return ET_ERR;
    return et_checkpoint_load(path, *net, opt, &info);
}

/* --average-from: the checkpoint carries the mean of the end-of-epoch
 * weights, which equals the mean of the weights two shorter runs ended with
 * (constant learning rate, so a shorter run is a prefix of a longer one),
 * and survives an interruption and --resume. */
typedef struct {
    et_net *epoch2;           /* the epoch-3 net is the one visited */
    const et_optimizer *opt;  /* [1]: epoch 3; [2]: the resumed run */
    int index;                /* trainable parameters so far: optimizer order */
    double worst, worst_resumed;
} average_ctx;

/* How far the optimizer's average is from the mean of the epoch-2 and
 * epoch-3 weights, and the resumed run's average from the uninterrupted. */
static int average_check(const et_param_ref *param, void *ctx)
{
    average_ctx *a = ctx;
    if (!param->trainable)
        return ET_OK;
    const et_tensor *w2 = et_net_find_param(a->epoch2, param->layer, param->name);
    const float *w3 = param->value->data;
    int k = a->index++;
    if (!w2 || k >= a->opt[1].count || et_tensor_count(w2) != a->opt[1].sizes[k])
        return ET_ERR;
    for (size_t i = 0; i < a->opt[1].sizes[k]; i++) {
        double d = fabs(a->opt[1].average[k][i] - 0.5 * ((double)w2->data[i] + w3[i]));
        double dr = fabs(a->opt[2].average[k][i] - a->opt[1].average[k][i]);
        a->worst = d > a->worst ? d : a->worst;
        a->worst_resumed = dr > a->worst_resumed ? dr : a->worst_resumed;
    }
    return ET_OK;
}

TEST(train_weight_average_known_answer_and_resume)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, NULL, 0) == ET_OK);
    et_face_dataset part;
    subset(&ds, 96, &part);
    char ckpt[3][512], out[512];
    for (int i = 0; i < 3; i++)
        snprintf(ckpt[i], sizeof ckpt[i], "%s/average%d.ckpt", test_tmpdir(), i);
    snprintf(out, sizeof out, "%s/average-best.safetensors", test_tmpdir());
    et_cnn_train_options o;
    small_options(&o);
    o.min_lr = o.lr;
    o.swa_start = 2;
    et_cnn_train_result r;
    o.epochs = 2;
    o.checkpoint_path = ckpt[0];
    REQUIRE(et_cnn_train(&o, &part, &part, &r) == ET_OK);
    o.epochs = 3;
    o.checkpoint_path = ckpt[1];
    o.out_path = out;
    REQUIRE(et_cnn_train(&o, &part, &part, &r) == ET_OK);
    int best_is_average = r.best_is_average;
    /* The same run interrupted in epoch 3 (6 steps per epoch), after the
     * first snapshot, then resumed. */
    o.checkpoint_path = ckpt[2];
    o.out_path = NULL;
    o.max_steps = 15;
    REQUIRE(et_cnn_train(&o, &part, &part, &r) == ET_OK);
    o.max_steps = 0;
    o.resume = 1;
    REQUIRE(et_cnn_train(&o, &part, &part, &r) == ET_OK);
    CHECK(weights_close(ckpt[1], ckpt[2], 1e-5));

    et_net *net[3] = {0};
    et_optimizer opt[3] = {0};
    for (int i = 0; i < 3; i++)
        REQUIRE(load_checkpoint(ckpt[i], &net[i], &opt[i]) == ET_OK);
    CHECK_EQ_INT((int)opt[0].averaged, 1);
    CHECK_EQ_INT((int)opt[1].averaged, 2);
    CHECK_EQ_INT((int)opt[2].averaged, 2);
    average_ctx a = {net[0], opt, 0, 0.0, 0.0};
    CHECK(et_net_visit_params(net[1], average_check, &a) == ET_OK);
    CHECK_EQ_INT(a.index, opt[1].count);
    CHECK_MSG(a.worst < 1e-6, "average vs mean of the epoch-2 and epoch-3 weights: %.3g", a.worst);
    CHECK_MSG(a.worst_resumed < 1e-5, "average of the resumed run differs by %.3g", a.worst_resumed);
    for (int i = 0; i < 3; i++) {
        et_optimizer_free(&opt[i]);
        et_net_free(net[i]);
    }
    /* A weights file was written, and says what it is. */
    et_safetensors st;
    REQUIRE(et_safetensors_load(&st, out) == ET_OK);
    const char *epoch = et_safetensors_meta(&st, "epoch");
    CHECK(epoch != NULL);
    if (epoch)
        CHECK_EQ_INT(strstr(epoch, "weight average") != NULL, best_is_average);
    et_safetensors_free(&st);
    et_face_dataset_free(&ds);
}

TEST(fer2013_loader_rejects_bad_rows)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bad.csv", test_tmpdir());
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fprintf(f, "emotion,pixels,Usage\n3,1 2 3,Training\n");
    fclose(f);
    et_face_dataset ds;
    CHECK(et_fer2013_load(&ds, path, NULL, 0) == ET_ERR_FORMAT);
    CHECK(strstr(et_error_message(), "bad.csv") != NULL);
    CHECK(strstr(et_error_message(), "line 2") != NULL);
    CHECK(et_fer2013_load(&ds, "/nonexistent.csv", NULL, 0) == ET_ERR_IO);
    REQUIRE(et_fer2013_load(&ds, FIXTURE, "PublicTest", 0) == ET_OK);
    CHECK_EQ_INT(ds.count, 599);
    CHECK_EQ_INT(ds.labels[0], 0);
    et_face_dataset_free(&ds);
}

/* SIGINT during `emotrace train` saves a loadable checkpoint at the current
 * step, exits 1 and says how to continue (resuming exactly is tested above). */
TEST(train_cli_interrupt_and_resume)
{
    char arch[600], out[600], cmd[4096];
    snprintf(arch, sizeof arch, "%s/arch.json", test_tmpdir());
    snprintf(out, sizeof out, "%s/w.safetensors", test_tmpdir());
    FILE *f = fopen(arch, "w");
    REQUIRE(f);
    fputs(small_arch, f);
    fclose(f);
    const char *bin = getenv("ET_BIN") ? getenv("ET_BIN") : "./emotrace";
    /* Many epochs so that the signal arrives mid-run: sent once the first
     * epoch's checkpoint exists (however slow the machine or the build). */
    snprintf(cmd, sizeof cmd,
             "%s train --quiet --data " FIXTURE " --train-usage PublicTest --arch %s --out %s --epochs 400 "
             "--batch 16 --seed 3 > %s/first.out 2> %s/first.err & pid=$!; "
             "i=0; while [ ! -e %s.ckpt ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done; "
             "kill -INT $pid; wait $pid; echo $? > %s/first.status",
             bin, arch, out, test_tmpdir(), test_tmpdir(), out, test_tmpdir());
    REQUIRE(system(cmd) != -1);
    char path[700], text[512] = "";
    snprintf(path, sizeof path, "%s/first.status", test_tmpdir());
    f = fopen(path, "r");
    REQUIRE(f);
    CHECK(fgets(text, sizeof text, f) && atoi(text) == 1);
    fclose(f);
    snprintf(path, sizeof path, "%s/first.err", test_tmpdir());
    f = fopen(path, "r");
    REQUIRE(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    CHECK_MSG(strstr(text, "--resume") != NULL, "stderr: %s", text);
    et_net *net = NULL;
    snprintf(path, sizeof path, "%s.ckpt", out);
    CHECK(et_net_load(&net, path) == ET_OK);
    et_net_free(net);
}

/* Distillation targets: the teachers' mean probabilities are what the
 * classifier gives with --tta (two copies of one file average to exactly
 * that), and the targets mix them with the current target by the weight. */
TEST(teacher_targets_mix_classifier_probabilities)
{
    enum { N = 48 };
    const char *weights = "weights/emotion-cnn.safetensors";
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, NULL, 0) == ET_OK);
    et_face_dataset part;
    subset(&ds, N, &part);
    et_emotion_classifier c;
    REQUIRE(et_emotion_classifier_load(&c, weights) == ET_OK);
    c.flip_tta = 1;
    float expected[N * ET_EMOTIONS], p[N * ET_EMOTIONS];
    REQUIRE(et_emotion_classifier_run(&c, part.pixels, N, expected, NULL) == ET_OK);
    et_emotion_classifier_free(&c);
    const char *paths[] = {weights, weights};
    REQUIRE(et_teacher_probabilities(&part, paths, 2, 1, p) == ET_OK);
    double worst = 0;
    for (int i = 0; i < N * ET_EMOTIONS; i++)
        worst = fmax(worst, fabs(p[i] - expected[i]));
    CHECK_MSG(worst < 1e-6, "teacher mean differs from the classifier by %g", worst);
    /* The teacher's accuracy is the share of crops whose top probability
     * is the label, counted here by hand. */
    et_metrics m;
    et_teacher_metrics(&part, p, &m);
    int right = 0;
    for (int i = 0; i < N; i++)
        right += et_argmax(p + i * ET_EMOTIONS, ET_EMOTIONS) == part.labels[i];
    CHECK_EQ_INT(m.total, N);
    CHECK_NEAR(m.accuracy, (double)right / N, 1e-9);
    CHECK(right > N / 2);

    REQUIRE(et_teacher_attach(&part, p, 0.25f) == ET_OK);
    for (int i = 0; i < N; i++) {
        double sum = 0;
        for (int k = 0; k < ET_EMOTIONS; k++) {
            float want = 0.25f * p[i * ET_EMOTIONS + k] + (k == part.labels[i] ? 0.75f : 0.0f);
            CHECK(fabsf(part.soft[i * ET_EMOTIONS + k] - want) < 1e-6f);
            sum += part.soft[i * ET_EMOTIONS + k];
        }
        CHECK(fabs(sum - 1.0) < 1e-5);
    }
    /* A second call mixes into the targets already there. */
    float before = part.soft[0];
    REQUIRE(et_teacher_attach(&part, p, 0.5f) == ET_OK);
    CHECK(fabsf(part.soft[0] - (0.5f * p[0] + 0.5f * before)) < 1e-6f);
    free(part.soft);

    /* A file that is not a CNN is an error that names it. */
    const char *bad[] = {weights, FIXTURE};
    CHECK(et_teacher_probabilities(&part, bad, 2, 1, p) != ET_OK);
    CHECK(strstr(et_error_message(), FIXTURE) != NULL);
    et_face_dataset_free(&ds);
}
