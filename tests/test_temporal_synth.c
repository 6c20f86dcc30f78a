/* Synthetic face tracks: reproducible from the seed, within the stated
 * ranges, with gaps, and precomputed track sets that save and load. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"
#include "emotrace/track_set.h"
#include "emotrace/track_synth.h"
#include "test.h"

#define FIXTURE "tests/fixtures/fer2013-publictest-sample.csv.gz"
#define TRACKS 40

static int same_frame(const et_synth_frame *a, const et_synth_frame *b)
{
    return a->time == b->time && a->label == b->label && a->image_a == b->image_a && a->image_b == b->image_b &&
           a->mix == b->mix && a->angle_deg == b->angle_deg && a->scale == b->scale && a->shift_x == b->shift_x &&
           a->brightness == b->brightness && a->blur_sigma == b->blur_sigma && a->occluded == b->occluded &&
           a->detector_score == b->detector_score && a->noise_seed == b->noise_seed;
}

TEST(synth_same_seed_same_tracks)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, "PublicTest", 0) == ET_OK);
    et_track_synth_options o;
    et_track_synth_defaults(&o);
    et_track_synth a, b, c;
    REQUIRE(et_track_synth_init(&a, &ds, &o, 7) == ET_OK);
    REQUIRE(et_track_synth_init(&b, &ds, &o, 7) == ET_OK);
    REQUIRE(et_track_synth_init(&c, &ds, &o, 8) == ET_OK);
    int differ = 0;
    /* Track i does not depend on the tracks planned before it. */
    for (int i = 5; i >= 0; i--) {
        et_synth_track ta, tb, tc;
        REQUIRE(et_track_synth_plan(&a, i, &ta) == ET_OK);
        REQUIRE(et_track_synth_plan(&b, i, &tb) == ET_OK);
        REQUIRE(et_track_synth_plan(&c, i, &tc) == ET_OK);
        CHECK_EQ_INT(ta.count, tb.count);
        for (int j = 0; j < ta.count && j < tb.count; j++) {
            CHECK_MSG(same_frame(&ta.frames[j], &tb.frames[j]), "track %d frame %d differs", i, j);
            uint8_t ca[48 * 48], cb[48 * 48];
            if (j % 17 == 0) {
                et_track_synth_render(&a, &ta.frames[j], ca);
                et_track_synth_render(&b, &tb.frames[j], cb);
                CHECK(memcmp(ca, cb, sizeof ca) == 0);
            }
        }
        differ += ta.count != tc.count || !same_frame(&ta.frames[0], &tc.frames[0]);
        et_synth_track_free(&ta);
        et_synth_track_free(&tb);
        et_synth_track_free(&tc);
    }
    CHECK_MSG(differ >= 5, "another seed gave the same tracks (%d of 6 differ)", differ);
    et_track_synth_free(&a);
    et_track_synth_free(&b);
    et_track_synth_free(&c);
    et_face_dataset_free(&ds);
}

TEST(synth_ranges_and_gaps)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, "PublicTest", 0) == ET_OK);
    et_track_synth_options o;
    et_track_synth_defaults(&o);
    /* Timing first without gaps, so frames are exactly 1/fps apart. */
    o.max_drop = 0.0f;
    o.lost_rate = 0.0f;
    et_track_synth s;
    REQUIRE(et_track_synth_init(&s, &ds, &o, 3) == ET_OK);
    int transitions = 0, occluded = 0, blurred = 0, labels_seen[ET_EMOTIONS] = {0};
    for (int i = 0; i < TRACKS; i++) {
        et_synth_track t;
        REQUIRE(et_track_synth_plan(&s, i, &t) == ET_OK);
        CHECK_MSG(t.fps >= o.min_fps && t.fps <= o.max_fps, "track %d fps %g", i, t.fps);
        double period = 1.0 / t.fps, end = t.frames[t.count - 1].time;
        CHECK_MSG(end >= o.min_duration - period && end <= o.max_duration, "track %d lasts %g s", i, end);
        CHECK(t.frames[0].time == 0.0);
        int run_start = 0, runs = 0;
        for (int j = 1; j <= t.count; j++) {
            if (j < t.count) {
                CHECK_NEAR(t.frames[j].time - t.frames[j - 1].time, period, 1e-9);
                if (t.frames[j].label == t.frames[j - 1].label)
                    continue;
            }
            /* A segment between two changes lasts 0.3 .. 5 s (to a frame). */
            double span = j < t.count ? t.frames[j].time - t.frames[run_start].time : 0.0;
            if (runs > 0 && j < t.count)
                CHECK_MSG(span >= o.min_segment - period - 1e-9 && span <= o.max_segment + period + 1e-9,
                          "track %d: a segment spans %g s", i, span);
            runs++;
            run_start = j;
        }
        for (int j = 0; j < t.count; j++) {
            const et_synth_frame *f = &t.frames[j];
            labels_seen[f->label]++;
            transitions += f->mix > 0.0f && f->mix < 1.0f;
            occluded += f->occluded;
            blurred += f->blur_sigma > 1.0f;
            CHECK(f->detector_score >= 0.5f && f->detector_score < 1.0f);
            CHECK(f->mix >= 0.0f && f->mix <= 1.0f);
        }
        et_synth_track_free(&t);
    }
    CHECK(transitions > 0 && occluded > 0 && blurred > 0);
    CHECK(labels_seen[6] > 0 && labels_seen[3] > 0);
    et_track_synth_free(&s);

    /* With the default gaps, some frames are missing, the first never. */
    et_track_synth_defaults(&o);
    REQUIRE(et_track_synth_init(&s, &ds, &o, 3) == ET_OK);
    int gaps = 0, long_gaps = 0;
    for (int i = 0; i < TRACKS; i++) {
        et_synth_track t;
        REQUIRE(et_track_synth_plan(&s, i, &t) == ET_OK);
        CHECK(t.frames[0].time == 0.0);
        for (int j = 1; j < t.count; j++) {
            double dt = t.frames[j].time - t.frames[j - 1].time;
            gaps += dt > 1.5 / t.fps;
            long_gaps += dt >= 0.2;
        }
        et_synth_track_free(&t);
    }
    CHECK_MSG(gaps > 10 && long_gaps > 0, "%d gaps, %d of 0.2 s or more", gaps, long_gaps);
    et_track_synth_free(&s);
    et_face_dataset_free(&ds);
}

TEST(synth_rejects_unusable_input)
{
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, "PublicTest", 0) == ET_OK);
    et_track_synth_options o;
    et_track_synth_defaults(&o);
    et_track_synth s;
    o.min_fps = 40.0f; /* above max_fps */
    CHECK(et_track_synth_init(&s, &ds, &o, 1) == ET_ERR_USAGE);
    et_track_synth_defaults(&o);
    /* No neutral faces: a track has no resting face. */
    for (int i = 0; i < ds.count; i++)
        if (ds.labels[i] == 6)
            ds.labels[i] = 3;
    CHECK(et_track_synth_init(&s, &ds, &o, 1) == ET_ERR_USAGE);
    CHECK(strstr(et_error_message(), "neutral") != NULL);
    et_face_dataset_free(&ds);
}

/* A tiny CNN (random weights) with an "embedding" layer, saved to path. */
static int tiny_cnn(const char *path)
{
    const char *arch = "{\"format\":\"emotrace-net-1\",\"name\":\"tiny\",\"input\":[1,48,48],\"layers\":["
                       "{\"name\":\"c1\",\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"stride\":4,\"pad\":1},"
                       "{\"name\":\"r1\",\"type\":\"relu\"},"
                       "{\"name\":\"fc\",\"type\":\"dense\",\"out\":12},"
                       "{\"name\":\"embedding\",\"type\":\"relu\"},"
                       "{\"name\":\"logits\",\"type\":\"dense\",\"out\":7}],\"outputs\":[\"logits\"]}";
    et_net *net = NULL;
    int rc = et_net_create(&net, arch, 2);
    if (rc == ET_OK)
        rc = et_net_save(net, path, NULL);
    et_net_free(net);
    return rc;
}

TEST(track_set_build_save_load)
{
    char cnn_path[512], set_path[512];
    snprintf(cnn_path, sizeof cnn_path, "%s/tiny-cnn.safetensors", test_tmpdir());
    snprintf(set_path, sizeof set_path, "%s/tracks.safetensors", test_tmpdir());
    REQUIRE(tiny_cnn(cnn_path) == ET_OK);
    et_emotion_classifier cnn;
    REQUIRE(et_emotion_classifier_load(&cnn, cnn_path) == ET_OK);
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, FIXTURE, "PublicTest", 0) == ET_OK);
    et_track_synth_options o;
    et_track_synth_defaults(&o);
    o.max_duration = 3.0f;
    et_track_synth s;
    REQUIRE(et_track_synth_init(&s, &ds, &o, 4) == ET_OK);
    et_track_set set, again;
    REQUIRE(et_track_set_build(&set, &s, 0, 5, &cnn, 0) == ET_OK);
    CHECK_EQ_INT(set.tracks, 5);
    CHECK_EQ_INT(set.embedding_size, 12);
    CHECK_EQ_INT(set.feature_size, 12 + ET_TEMPORAL_EXTRA_FEATURES);
    /* Each track's first frame is flagged, later ones carry their gap. */
    for (int t = 0; t < set.tracks; t++)
        for (int i = set.start[t]; i < set.start[t + 1]; i++) {
            const float *x = set.features + (size_t)i * set.feature_size + 12 + ET_EMOTIONS;
            CHECK(x[2] == (i == set.start[t] ? 1.0f : 0.0f));
            if (i > set.start[t])
                CHECK_NEAR(x[1], log1p((set.times[i] - set.times[i - 1]) / ET_TEMPORAL_GAP_UNIT), 1e-4);
        }
    const char *meta[] = {"cnn_sha256", "1234", NULL};
    REQUIRE(et_track_set_save(&set, set_path, meta) == ET_OK);
    REQUIRE(et_track_set_load(&again, set_path, meta) == ET_OK);
    CHECK_EQ_INT(again.tracks, set.tracks);
    CHECK_EQ_INT(again.frames, set.frames);
    CHECK(memcmp(again.start, set.start, (size_t)(set.tracks + 1) * sizeof(int)) == 0);
    CHECK(memcmp(again.labels, set.labels, (size_t)set.frames * sizeof(int)) == 0);
    CHECK(memcmp(again.features, set.features, (size_t)set.frames * set.feature_size * sizeof(float)) == 0);
    et_track_set_free(&again);
    /* Made with another CNN: refused, naming the key. */
    const char *other[] = {"cnn_sha256", "5678", NULL};
    CHECK(et_track_set_load(&again, set_path, other) == ET_ERR_FORMAT);
    CHECK(strstr(et_error_message(), "cnn_sha256") != NULL);
    /* A CNN weights file is not a track file. */
    CHECK(et_track_set_load(&again, cnn_path, NULL) == ET_ERR_FORMAT);
    et_track_set_free(&set);
    et_track_synth_free(&s);
    et_face_dataset_free(&ds);
    et_emotion_classifier_free(&cnn);
}
