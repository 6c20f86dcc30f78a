/* What issue #18 added for real faces: the stable reported label, the
 * video-like augmentations, class-balanced loss weights, photos appended to
 * a training set, every epoch's weights kept, and the temporal model's real
 * tracks (their smoothed target and how they join a synthetic set). */
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "emotrace/analyzer.h"
#include "emotrace/augment.h"
#include "emotrace/checkpoint.h"
#include "emotrace/cnn_trainer.h"
#include "emotrace/error.h"
#include "emotrace/face_dataset.h"
#include "emotrace/metrics.h"
#include "emotrace/nn_train.h"
#include "emotrace/real_tracks.h"
#include "emotrace/weights_path.h"
#include "test.h"

#define FACE_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)

TEST(label_update_margin_and_dwell_known_answers)
{
    const float happy_by_10[ET_EMOTIONS] = {0.30f, 0.0f, 0.0f, 0.40f, 0.0f, 0.0f, 0.30f};
    const float angry_first[ET_EMOTIONS] = {0.50f, 0.0f, 0.0f, 0.20f, 0.0f, 0.0f, 0.30f};
    const float happy_by_30[ET_EMOTIONS] = {0.20f, 0.0f, 0.0f, 0.50f, 0.0f, 0.0f, 0.30f};
    et_label_state s;
    et_label_state_init(&s);
    CHECK_EQ_INT(et_label_update(&s, angry_first, 0.0, 0.15f, 0.5), 0); /* first: the argmax */
    CHECK_EQ_INT(et_label_update(&s, happy_by_10, 0.1, 0.15f, 0.5), 0); /* leads by 0.10 < 0.15: holds */
    CHECK_EQ_INT(et_label_update(&s, happy_by_10, 0.5, 0.15f, 0.5), 0); /* led for 0.4 s < 0.5 s */
    CHECK_EQ_INT(et_label_update(&s, happy_by_10, 0.6, 0.15f, 0.5), 3); /* led for 0.5 s: switches */
    /* Taking turns never lasts the dwell: the label stays. */
    et_label_state_init(&s);
    CHECK_EQ_INT(et_label_update(&s, angry_first, 0.0, 0.15f, 0.5), 0);
    for (int i = 1; i < 40; i++)
        CHECK_EQ_INT(et_label_update(&s, i % 2 ? happy_by_10 : angry_first, 0.04 * i, 0.15f, 0.5), 0);
    /* A lead of the margin or more switches at once. */
    CHECK_EQ_INT(et_label_update(&s, happy_by_30, 1.6, 0.15f, 0.5), 3);
    /* margin 0: every row's argmax. */
    et_label_state_init(&s);
    CHECK_EQ_INT(et_label_update(&s, angry_first, 0.0, 0.0f, 0.5), 0);
    CHECK_EQ_INT(et_label_update(&s, happy_by_10, 0.04, 0.0f, 0.5), 3);
}

/* Options with every default augmentation off, so one degradation shows alone. */
static void only(et_augment_options *o, float blur, float low, float noise)
{
    memset(o, 0, sizeof *o);
    o->min_scale = o->max_scale = 1.0f;
    o->motion_blur_probability = blur;
    o->low_resolution_probability = low;
    o->noise_probability = noise;
}

TEST(augment_video_degradations_known_answers)
{
    uint8_t flat[FACE_PIXELS], check[FACE_PIXELS], out[FACE_PIXELS];
    for (int y = 0; y < ET_FACE_SIZE; y++)
        for (int x = 0; x < ET_FACE_SIZE; x++) {
            flat[y * ET_FACE_SIZE + x] = 90;
            check[y * ET_FACE_SIZE + x] = (x + y) % 2 ? 200 : 40;
        }
    et_augment_options o;
    et_rng rng;
    for (int kind = 0; kind < 2; kind++) {
        only(&o, kind == 0, kind == 1, 0);
        et_rng_seed(&rng, 7);
        et_augment_face(flat, out, ET_FACE_SIZE, &o, &rng);
        int same = 1;
        for (int i = 0; i < FACE_PIXELS; i++)
            same &= out[i] == 90;
        CHECK_MSG(same, "a flat image changed under degradation %d", kind);
    }
    /* A one-pixel checkerboard has no detail left at 12-30 pixels: every
     * pixel lands near the mean, 120. */
    only(&o, 0, 1, 0);
    et_rng_seed(&rng, 7);
    et_augment_face(check, out, ET_FACE_SIZE, &o, &rng);
    int far = 0;
    for (int i = 0; i < FACE_PIXELS; i++)
        far += abs(out[i] - 120) > 30;
    CHECK_MSG(far < FACE_PIXELS / 20, "%d pixels kept the checkerboard's contrast", far);
    /* Motion blur of 2-5 samples averages neighbours of both colours. */
    only(&o, 1, 0, 0);
    et_rng_seed(&rng, 7);
    et_augment_face(check, out, ET_FACE_SIZE, &o, &rng);
    long changed = 0;
    for (int i = 0; i < FACE_PIXELS; i++)
        changed += out[i] != check[i];
    CHECK_MSG(changed > FACE_PIXELS / 2, "motion blur changed %ld pixels", changed);
    /* Noise: pixels move, their mean hardly. */
    only(&o, 0, 0, 1);
    et_rng_seed(&rng, 7);
    et_augment_face(flat, out, ET_FACE_SIZE, &o, &rng);
    double mean = 0.0;
    changed = 0;
    for (int i = 0; i < FACE_PIXELS; i++) {
        mean += out[i];
        changed += out[i] != 90;
    }
    CHECK_NEAR(mean / FACE_PIXELS, 90.0, 1.0);
    CHECK_MSG(changed > FACE_PIXELS / 2, "noise changed %ld pixels", changed);
}

/* Width and height of the pixels darker than 128 in a size x size image. */
static void dark_extent(const uint8_t *img, int size, int *width, int *height)
{
    int x0 = size, x1 = -1, y0 = size, y1 = -1;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
            if (img[y * size + x] < 128) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    *width = x1 - x0 + 1, *height = y1 - y0 + 1;
}

TEST(augment_aspect_squeezes_within_range_and_keeps_area)
{
    /* A dark disc of radius 12 on white: its width over height after the
     * warp is the drawn aspect, in [1/1.35, 1.35], and their product stays
     * about the disc's square. Over many draws both sides are reached. */
    uint8_t disc[FACE_PIXELS], out[FACE_PIXELS];
    float c = (ET_FACE_SIZE - 1) * 0.5f;
    for (int y = 0; y < ET_FACE_SIZE; y++)
        for (int x = 0; x < ET_FACE_SIZE; x++)
            disc[y * ET_FACE_SIZE + x] = (x - c) * (x - c) + (y - c) * (y - c) <= 144.0f ? 0 : 255;
    et_augment_options o;
    only(&o, 0, 0, 0);
    o.max_aspect = 0.35f;
    et_rng rng;
    et_rng_seed(&rng, 3);
    double widest = 1.0, tallest = 1.0;
    for (int i = 0; i < 200; i++) {
        et_augment_face(disc, out, ET_FACE_SIZE, &o, &rng);
        int w, h;
        dark_extent(out, ET_FACE_SIZE, &w, &h);
        double aspect = (double)w / h;
        CHECK_MSG(aspect < 1.35 * 1.1 && aspect > 1.0 / (1.35 * 1.1), "draw %d: %dx%d", i, w, h);
        CHECK_MSG(abs(w * h - 24 * 24) < 24 * 24 / 8, "draw %d: area %d", i, w * h);
        widest = aspect > widest ? aspect : widest;
        tallest = aspect < tallest ? aspect : tallest;
    }
    CHECK_MSG(widest > 1.25 && tallest < 1.0 / 1.25, "aspects only in [%.2f, %.2f]", tallest, widest);
    /* Off (the default): the disc stays round. */
    o.max_aspect = 0.0f;
    et_augment_face(disc, out, ET_FACE_SIZE, &o, &rng);
    CHECK_EQ_INT(memcmp(disc, out, FACE_PIXELS), 0);
}

TEST(class_weights_known_answer)
{
    int labels[8] = {3, 3, 3, 3, 3, 3, 1, 1}; /* 6 happy, 2 disgust */
    et_face_dataset ds = {0};
    ds.count = 8;
    ds.labels = labels;
    float w[ET_EMOTIONS];
    et_cnn_class_weights(&ds, 1.0f, w);
    /* 1/count, scaled to a mean of 1 over the images: 8 / (2 classes) / count. */
    CHECK_NEAR(w[3], 8.0 / 2.0 / 6.0, 1e-6);
    CHECK_NEAR(w[1], 8.0 / 2.0 / 2.0, 1e-6);
    CHECK_NEAR(w[0], 0.0, 0.0);
    et_cnn_class_weights(&ds, 0.5f, w);
    CHECK_NEAR((6 * w[3] + 2 * w[1]) / 8.0, 1.0, 1e-6);
    CHECK_NEAR(w[1] / w[3], sqrt(3.0), 1e-5);
    et_cnn_class_weights(&ds, 0.0f, w);
    CHECK_NEAR(w[1], 1.0, 1e-6);
    CHECK_NEAR(w[3], 1.0, 1e-6);
}

TEST(face_dataset_append_repeats_with_one_hot_targets)
{
    et_face_dataset a = {0}, b = {0};
    int cap_a = 0, cap_b = 0;
    REQUIRE(et_face_dataset_grow(&a, &cap_a) == ET_OK && et_face_dataset_grow(&b, &cap_b) == ET_OK);
    memset(a.pixels, 1, FACE_PIXELS);
    a.labels[0] = 6;
    a.rows[0] = 5;
    a.count = 1;
    a.soft = calloc(ET_EMOTIONS, sizeof(float));
    REQUIRE(a.soft);
    a.soft[6] = 0.5f;
    a.soft[4] = 0.5f;
    memset(b.pixels, 9, FACE_PIXELS);
    b.labels[0] = 1;
    b.rows[0] = 0;
    b.count = 1;
    REQUIRE(et_face_dataset_append(&a, &b, 3) == ET_OK);
    CHECK_EQ_INT(a.count, 4);
    for (int i = 1; i < 4; i++) {
        CHECK_EQ_INT(a.labels[i], 1);
        CHECK_EQ_INT(a.rows[i], -1);
        CHECK_EQ_INT(a.pixels[(size_t)i * FACE_PIXELS + 100], 9);
        CHECK_NEAR(a.soft[i * ET_EMOTIONS + 1], 1.0, 0.0);
        CHECK_NEAR(a.soft[i * ET_EMOTIONS + 6], 0.0, 0.0);
    }
    CHECK_NEAR(a.soft[4], 0.5, 0.0); /* the first sample keeps its own target */
    CHECK_EQ_INT(a.rows[0], 5);
    et_face_dataset_free(&a);
    et_face_dataset_free(&b);
}

TEST(real_tracks_smooth_known_answers)
{
    enum { N = 41 };
    float p[N * ET_EMOTIONS] = {0}, t[N], out[N * ET_EMOTIONS];
    for (int i = 0; i < N; i++) {
        t[i] = 0.05f * (float)i;
        p[i * ET_EMOTIONS + (i < 20 ? 6 : 3)] = 1.0f; /* neutral, then happy from 1.0 s */
    }
    et_real_tracks_smooth(p, t, N, 0.2, out);
    for (int i = 0; i < N; i++) {
        double sum = 0.0;
        for (int k = 0; k < ET_EMOTIONS; k++)
            sum += out[i * ET_EMOTIONS + k];
        CHECK_NEAR(sum, 1.0, 1e-5);
    }
    /* Far from the change: as it was. Around it: centred, so frames at
     * equal distances before and after mirror each other. */
    CHECK_NEAR(out[0 * ET_EMOTIONS + 6], 1.0, 1e-6);
    CHECK_NEAR(out[40 * ET_EMOTIONS + 3], 1.0, 1e-6);
    for (int d = 1; d <= 5; d++)
        CHECK_NEAR(out[(19 - d + 1) * ET_EMOTIONS + 6], out[(20 + d - 1) * ET_EMOTIONS + 3], 3e-3); /* up to a window edge */
    CHECK(out[19 * ET_EMOTIONS + 3] > 0.3f && out[19 * ET_EMOTIONS + 3] < 0.5f); /* happy comes before it shows */
}

TEST(track_set_append_materialises_targets)
{
    enum { FS = 4 + ET_TEMPORAL_EXTRA_FEATURES };
    int start_a[2] = {0, 2}, start_b[2] = {0, 3}, labels_a[2] = {2, 2}, labels_b[3] = {0, 0, 0};
    float feat_a[2 * FS] = {0}, feat_b[3 * FS] = {0}, times[3] = {0, 0.1f, 0.2f};
    float targets_b[3 * ET_EMOTIONS] = {0};
    for (int i = 0; i < 3; i++)
        targets_b[i * ET_EMOTIONS + 5] = 1.0f;
    et_track_set a = {1, 2, 4, FS, start_a, feat_a, labels_a, times, NULL};
    et_track_set b = {1, 3, 4, FS, start_b, feat_b, labels_b, times, targets_b};
    et_track_set set = {0};
    REQUIRE(et_track_set_append(&set, &a, 1) == ET_OK);
    CHECK(set.targets == NULL);
    REQUIRE(et_track_set_append(&set, &b, 2) == ET_OK);
    CHECK_EQ_INT(set.tracks, 3);
    CHECK_EQ_INT(set.frames, 8);
    CHECK_EQ_INT(set.start[1], 2);
    CHECK_EQ_INT(set.start[2], 5);
    CHECK_EQ_INT(set.start[3], 8);
    REQUIRE(set.targets != NULL);
    CHECK_NEAR(set.targets[0 * ET_EMOTIONS + 2], 1.0, 0.0); /* synthetic frames: one-hot labels */
    CHECK_NEAR(set.targets[7 * ET_EMOTIONS + 5], 1.0, 0.0); /* real frames: their own targets */
    CHECK_NEAR(set.targets[7 * ET_EMOTIONS + 0], 0.0, 0.0);
    et_track_set_free(&set);
}

TEST(real_tracks_from_example_video)
{
    char cnn_path[1024];
    REQUIRE(et_weights_find("emotion-cnn.safetensors", cnn_path, sizeof cnn_path) == ET_OK);
    et_emotion_classifier cnn;
    REQUIRE(et_emotion_classifier_load(&cnn, cnn_path) == ET_OK);
    et_face_detector_options dopt;
    et_face_detector_defaults(&dopt);
    et_real_tracks_options o;
    et_real_tracks_defaults(&o);
    o.analyzer.classifier = &cnn;
    o.analyzer.max_fps = 10;
    o.analyzer.end = cli_sanitized() ? 3.0 : 9.0;
    et_media_list list = {0};
    et_media_input_options input = {0};
    et_track_set set = {0};
    int rc = et_face_detector_load(&o.analyzer.detector, NULL, &dopt);
    if (rc == ET_OK)
        rc = et_media_list_add_path(&list, "examples/expressions.mp4", &input);
    if (rc == ET_OK)
        rc = et_real_tracks_build(&set, &list, &o);
    CHECK_MSG(rc == ET_OK, "%s", et_error_message());
    if (rc == ET_OK) {
        /* One person throughout: one track, every analysed frame in it. */
        CHECK_EQ_INT(set.tracks, 1);
        CHECK(set.frames >= (int)(o.analyzer.end * 10) - 2);
        double cnn_change = 0.0, target_change = 0.0, cnn_mean[ET_EMOTIONS] = {0}, target_mean[ET_EMOTIONS] = {0};
        for (int i = 0; i < set.frames; i++) {
            const float *p = et_track_set_cnn_probabilities(&set, i), *q = set.targets + (size_t)i * ET_EMOTIONS;
            CHECK_EQ_INT(set.labels[i], et_argmax(q, ET_EMOTIONS));
            for (int k = 0; k < ET_EMOTIONS; k++) {
                cnn_mean[k] += p[k] / set.frames;
                target_mean[k] += q[k] / set.frames;
                if (i > 0) {
                    cnn_change += fabs(p[k] - p[k - ET_EMOTIONS]);
                    target_change += fabs(q[k] - q[k - ET_EMOTIONS]);
                }
            }
        }
        /* The target is the CNN's output smoothed: the same on average,
         * changing less from frame to frame. */
        for (int k = 0; k < ET_EMOTIONS; k++)
            CHECK_NEAR(target_mean[k], cnn_mean[k], 0.03);
        CHECK_MSG(target_change < 0.7 * cnn_change, "target change %.3f, CNN change %.3f", target_change,
                  cnn_change);
    }
    et_track_set_free(&set);
    et_media_list_free(&list);
    et_face_detector_free(o.analyzer.detector);
    et_emotion_classifier_free(&cnn);
}

/* Reads "emotion" and the 7 probabilities of each CSV row of one track. */
static int parse_rows(char *csv, float (*p)[ET_EMOTIONS], double *t, int *label, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(csv, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "path,", 5))
            continue;
        /* path,frame,t,track,person,x,y,w,h,score,7 probabilities,emotion */
        char *field[18], *s2 = NULL;
        int f = 0;
        for (char *x = strtok_r(line, ",", &s2); x && f < 18; x = strtok_r(NULL, ",", &s2))
            field[f++] = x;
        if (f != 18 || strcmp(field[3], "1") != 0)
            continue;
        for (int k = 0; k < ET_EMOTIONS; k++)
            p[n][k] = (float)atof(field[10 + k]);
        t[n] = atof(field[2]);
        label[n] = et_emotion_from_name(field[17]);
        n++;
    }
    return n;
}

TEST(analyze_label_rule_holds_the_reported_emotion)
{
    enum { MAX = 2000 };
    float (*p)[ET_EMOTIONS] = malloc(MAX * sizeof *p);
    double *t = malloc(MAX * sizeof(double));
    int *label = malloc(MAX * sizeof(int));
    REQUIRE(p && t && label);
    const char *end = cli_sanitized() ? "4" : "18";
    int changes[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        char args[256], *out = NULL;
        snprintf(args, sizeof args, "analyze -q --no-temporal --end %s %s -o - examples/expressions.mp4", end,
                 pass ? "" : "--label-margin 0");
        REQUIRE(cli_run(args, &out, NULL) == 0 && out);
        int n = parse_rows(out, p, t, label, MAX);
        free(out);
        CHECK(n > 20);
        /* The documented rule, row by row, from the printed probabilities
         * (4 decimals: rows within rounding of the margin are not judged). */
        et_label_state s;
        et_label_state_init(&s);
        for (int i = 0; i < n; i++) {
            int best = et_argmax(p[i], ET_EMOTIONS), before = s.label;
            int expect = et_label_update(&s, p[i], t[i], pass ? ET_LABEL_MARGIN : 0.0f, ET_LABEL_DWELL);
            if (!pass)
                CHECK_EQ_INT(label[i], best);
            else if (i == 0 || fabsf(p[i][best] - p[i][before] - ET_LABEL_MARGIN) > 2e-4f)
                CHECK_MSG(label[i] == expect, "row %d (t %.3f): label %d, expected %d", i, t[i], label[i], expect);
            s.label = label[i]; /* go on from what was reported */
            changes[pass] += i > 0 && label[i] != label[i - 1];
        }
    }
    CHECK_MSG(changes[1] < changes[0], "label changes: %d with the rule, %d without", changes[1], changes[0]);
    free(p);
    free(t);
    free(label);
}

TEST(train_keep_epochs_writes_every_epoch_and_average)
{
    static const char *tiny_arch =
        "{\"format\":\"emotrace-net-1\",\"name\":\"tiny\",\"input\":[1,48,48],\"layers\":["
        "{\"name\":\"c1\",\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"stride\":4,\"pad\":1},"
        "{\"name\":\"b1\",\"type\":\"batchnorm\"},{\"name\":\"r1\",\"type\":\"relu\"},"
        "{\"name\":\"embedding\",\"type\":\"dense\",\"out\":8},"
        "{\"name\":\"logits\",\"type\":\"dense\",\"out\":7}],\"outputs\":[\"logits\"]}";
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, "tests/fixtures/fer2013-publictest-sample.csv.gz", NULL, 64) == ET_OK);
    et_cnn_train_options o;
    et_cnn_train_defaults(&o);
    o.arch_json = tiny_arch;
    o.quiet = 1;
    o.batch = 16;
    o.epochs = 2;
    o.swa_start = 1;
    o.keep_epochs = 1;
    o.class_balance = 0.5f;
    o.video_augment = 1;
    char out[1024];
    snprintf(out, sizeof out, "%s", test_path("cnn.safetensors"));
    o.out_path = out;
    o.checkpoint_path = test_path("cnn.ckpt");
    et_cnn_train_result r;
    CHECK_MSG(et_cnn_train(&o, &ds, &ds, &r) == ET_OK, "%s", et_error_message());
    const char *names[] = {"cnn.epoch1.safetensors", "cnn.epoch1-avg.safetensors", "cnn.epoch2.safetensors",
                           "cnn.epoch2-avg.safetensors"};
    for (int i = 0; i < 4; i++) {
        et_net *net = NULL;
        CHECK_MSG(et_net_load(&net, test_path(names[i])) == ET_OK, "%s: %s", names[i], et_error_message());
        et_net_free(net);
    }
    /* The last epoch's file holds the weights the run ended with: the
     * checkpoint's. */
    et_net *last = NULL, *ckpt = NULL;
    REQUIRE(et_net_load(&last, test_path("cnn.epoch2.safetensors")) == ET_OK);
    REQUIRE(et_net_create(&ckpt, tiny_arch, 1) == ET_OK);
    et_optimizer opt = {0};
    et_checkpoint_info info;
    REQUIRE(et_optimizer_init(&opt, ckpt, ET_OPTIMIZER_SGD) == ET_OK);
    REQUIRE(et_optimizer_average_enable(&opt) == ET_OK);
    CHECK_MSG(et_checkpoint_load(o.checkpoint_path, ckpt, &opt, &info) == ET_OK, "%s", et_error_message());
    const et_tensor *w_last = et_net_find_param(last, "embedding", "weight");
    const et_tensor *w_ckpt = et_net_find_param(ckpt, "embedding", "weight");
    REQUIRE(w_last && w_ckpt);
    CHECK_NEAR(w_last->data[3], w_ckpt->data[3], 0.0);
    CHECK(strstr(info.settings, "class_balance=0.5") && strstr(info.settings, "video_augment=1"));
    et_optimizer_free(&opt);
    et_net_free(last);
    et_net_free(ckpt);
    et_face_dataset_free(&ds);
}

TEST(train_photos_are_found_aligned_and_added)
{
    /* The five fixture photos, labelled in a labels.csv of their own. */
    const char *dir = test_path("photos");
    REQUIRE(shell_runf("mkdir -p %s && ln -s \"$PWD/tests/fixtures/faces\" %s/images && "
                       "printf 'image,emotion\\nAdam_Mair_0001.jpg,happy\\nAdrianna_Zuzic_0001.jpg,sad\\n"
                       "Elton_John_0002.jpg,disgust\\nJayamadhuri_108.jpg,angry\\nSheryl_Crow_0006.jpg,fear\\n' "
                       "> %s/labels.csv", dir, dir, dir) == 0);
    char args[2048], *err = NULL;
    snprintf(args, sizeof args,
             "train --data tests/fixtures/fer2013-publictest-sample.csv.gz --train-usage PublicTest --limit 16 "
             "--photos %s --photos-repeat 3 --class-balance 0.5 --epochs 1 --batch 16 --out %s", dir,
             test_path("p.safetensors"));
    int status = cli_run(args, NULL, &err);
    CHECK_MSG(status == 0, "exit %d: %s", status, err ? err : "");
    CHECK_MSG(err && strstr(err, "5 photos with a face (x3), 0 without"), "%s", err ? err : "");
    CHECK_MSG(err && strstr(err, "training on 31 images"), "%s", err ? err : "");
    free(err);
}
