/* The training loop: loss falls, a tiny batch is overfitted, and a resumed
 * run ends with the same weights as an uninterrupted one. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/cnn_trainer.h"
#include "emotrace/error.h"
#include "emotrace/face_dataset.h"
#include "emotrace/nn.h"
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

static int weights_close(const char *a_path, const char *b_path, double tol)
{
    et_net *a = NULL, *b = NULL;
    int same = et_net_load(&a, a_path) == ET_OK && et_net_load(&b, b_path) == ET_OK;
    for (int l = 0; same && l < a->layer_count; l++)
        for (int p = 0; same && p < a->layers[l].param_count; p++) {
            const et_tensor *x = &a->layers[l].params[p].value, *y = &b->layers[l].params[p].value;
            for (size_t i = 0; same && i < et_tensor_count(x); i++)
                if (fabs(x->data[i] - y->data[i]) > tol) {
                    fprintf(stderr, "  %s.%s[%zu]: %g vs %g\n", a->layers[l].name, a->layers[l].params[p].name, i,
                            x->data[i], y->data[i]);
                    same = 0;
                }
        }
    et_net_free(a);
    et_net_free(b);
    return same;
}

TEST(train_resume_matches_uninterrupted)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, NULL, 0) == ET_OK);
    et_face_dataset part;
    subset(&ds, 96, &part);
    char full[512], full_ckpt[512], resumed[512], resumed_ckpt[512];
    snprintf(full, sizeof full, "%s/full.safetensors", test_tmpdir());
    snprintf(full_ckpt, sizeof full_ckpt, "%s/full.ckpt", test_tmpdir());
    snprintf(resumed, sizeof resumed, "%s/resumed.safetensors", test_tmpdir());
    snprintf(resumed_ckpt, sizeof resumed_ckpt, "%s/resumed.ckpt", test_tmpdir());
    et_cnn_train_options o;
    small_options(&o);
    o.epochs = 3;
    o.checkpoint_path = full_ckpt;
    et_cnn_train_result r;
    CHECK(et_cnn_train(&o, &part, &part, &r) == ET_OK);
    /* Interrupted in the middle of the second epoch (6 steps per epoch),
     * then resumed from that step. */
    o.checkpoint_path = resumed_ckpt;
    o.max_steps = 9;
    CHECK(et_cnn_train(&o, &part, &part, &r) == ET_OK);
    CHECK_EQ_INT(r.epochs_done, 1);
    o.max_steps = 0;
    o.resume = 1;
    CHECK(et_cnn_train(&o, &part, &part, &r) == ET_OK);
    CHECK_EQ_INT(r.epochs_done, 3);
    /* The checkpoints hold the final weights of each run. */
    CHECK(weights_close(full_ckpt, resumed_ckpt, 1e-5));
    /* A checkpoint from other settings is refused with a clear message. */
    o.lr = 0.5f;
    CHECK(et_cnn_train(&o, &part, &part, &r) != ET_OK);
    CHECK(strstr(et_error_message(), "other settings") != NULL);
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
    /* Many epochs so that the signal arrives mid-run. A background job of a
     * non-interactive shell starts with SIGINT ignored until train installs
     * its handler (late on a loaded machine): repeat the signal until it
     * has exited (a zombie until wait). */
    snprintf(cmd, sizeof cmd,
             "%s train --quiet --data " FIXTURE " --train-usage PublicTest --arch %s --out %s --epochs 400 "
             "--batch 16 --seed 3 > %s/first.out 2> %s/first.err & pid=$!; sleep 2; "
             "for i in $(seq 300); do s=$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null); "
             "[ -n \"$s\" ] && [ \"$s\" != Z ] || break; kill -INT $pid; sleep 1; done; wait $pid; "
             "echo $? > %s/first.status",
             bin, arch, out, test_tmpdir(), test_tmpdir(), test_tmpdir());
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
