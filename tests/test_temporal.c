/* The temporal model wrapper: the streaming step equals the batched
 * sequence pass, the gap input matters without resetting the state, the
 * feature layout, the metrics, and the trainer learning to smooth. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"
#include "emotrace/rng.h"
#include "emotrace/temporal.h"
#include "emotrace/temporal_metrics.h"
#include "emotrace/temporal_trainer.h"
#include "test.h"

#define EMB 6
#define FS (EMB + ET_TEMPORAL_EXTRA_FEATURES)
#define TOL 1e-5

/* A randomly initialised small temporal model saved to the scratch dir. */
static et_temporal *small_model(void)
{
    char *arch = et_temporal_arch(FS, 8, 5, 0.1f);
    char path[512];
    snprintf(path, sizeof path, "%s/small-lstm.safetensors", test_tmpdir());
    et_net *net = NULL;
    et_temporal *m = NULL;
    if (arch && et_net_create(&net, arch, 7) == ET_OK && et_net_save(net, path, NULL) == ET_OK)
        et_temporal_load(&m, path);
    if (!m)
        test_fail(__FILE__, __LINE__, "small model: %s", et_error_message());
    et_net_free(net);
    free(arch);
    return m;
}

static void random_features(et_rng *rng, float *x, int first, double dt)
{
    float emb[EMB], p[ET_EMOTIONS], sum = 0.0f;
    for (int k = 0; k < EMB; k++)
        emb[k] = (float)(2.0 * et_rng_uniform(rng));
    for (int k = 0; k < ET_EMOTIONS; k++)
        sum += p[k] = (float)et_rng_uniform(rng) + 0.01f;
    for (int k = 0; k < ET_EMOTIONS; k++)
        p[k] /= sum;
    et_temporal_features(emb, EMB, p, 0.8f, dt, first, x);
}

TEST(temporal_features_layout)
{
    float emb[3] = {1, 2, 3}, p[ET_EMOTIONS] = {0.1f, 0.1f, 0.1f, 0.4f, 0.1f, 0.1f, 0.1f}, x[3 + 10];
    et_temporal_features(emb, 3, p, 0.9f, 0.04, 0, x);
    CHECK(x[0] == 1 && x[2] == 3 && x[3] == 0.1f && x[6] == 0.4f);
    CHECK_NEAR(x[10], 0.9, 1e-7);
    CHECK_NEAR(x[11], log(2.0), 1e-6);
    CHECK(x[12] == 0.0f);
    /* The first frame has no gap; a negative or NaN gap counts as none. */
    et_temporal_features(emb, 3, p, 0.9f, 5.0, 1, x);
    CHECK(x[11] == 0.0f && x[12] == 1.0f);
    et_temporal_features(emb, 3, p, 0.9f, -1.0, 0, x);
    CHECK(x[11] == 0.0f);
    et_temporal_features(emb, 3, p, 0.9f, NAN, 0, x);
    CHECK(x[11] == 0.0f);
    et_temporal_features(emb, 3, p, 0.9f, 1e30, 0, x);
    CHECK(isfinite(x[11]));
}

TEST(temporal_stream_equals_sequence)
{
    et_temporal *m = small_model();
    REQUIRE(m);
    CHECK_EQ_INT(et_temporal_feature_size(m), FS);
    CHECK_EQ_INT(et_temporal_embedding_size(m), EMB);
    CHECK_EQ_INT(et_temporal_state_size(m), 2 * 5);
    enum { TRACKS = 4, MAX_STEPS = 9 };
    const int lengths[TRACKS] = {9, 3, 7, 1};
    float x[TRACKS][MAX_STEPS][FS], ref[TRACKS][MAX_STEPS][ET_EMOTIONS];
    et_rng rng;
    et_rng_seed(&rng, 5);
    for (int t = 0; t < TRACKS; t++) {
        for (int s = 0; s < lengths[t]; s++)
            random_features(&rng, x[t][s], s == 0, s == 3 ? 1.5 : 0.05);
        REQUIRE(et_temporal_sequence(m, x[t][0], lengths[t], ref[t][0]) == ET_OK);
    }
    /* Tracks start at different times and are gathered in varying order, as
     * in a video where faces come and go. */
    const int offset[TRACKS] = {0, 2, 1, 6};
    float states[TRACKS][2 * 5] = {{0}};
    for (int step = 0; step < 12; step++) {
        float batch_x[TRACKS][FS], out[TRACKS][ET_EMOTIONS];
        float *rows[TRACKS];
        int ids[TRACKS], n = 0;
        for (int k = 0; k < TRACKS; k++) {
            int t = (step % 2) ? TRACKS - 1 - k : k, s = step - offset[t];
            if (s < 0 || s >= lengths[t])
                continue;
            memcpy(batch_x[n], x[t][s], sizeof batch_x[n]);
            rows[n] = states[t];
            ids[n++] = t;
        }
        REQUIRE(et_temporal_step(m, rows, batch_x[0], n, out[0]) == ET_OK);
        for (int i = 0; i < n; i++) {
            int t = ids[i], s = step - offset[t];
            for (int k = 0; k < ET_EMOTIONS; k++)
                CHECK_MSG(fabs(out[i][k] - ref[t][s][k]) <= TOL,
                          "track %d step %d class %d: streamed %.8f batched %.8f", t, s, k, out[i][k], ref[t][s][k]);
        }
    }
    et_temporal_free(m);
}

TEST(temporal_gap_is_an_input_not_a_reset)
{
    et_temporal *m = small_model();
    REQUIRE(m);
    et_rng rng;
    et_rng_seed(&rng, 11);
    float x[6][FS], state[10] = {0}, *row = state;
    float p[ET_EMOTIONS];
    for (int s = 0; s < 6; s++)
        random_features(&rng, x[s], s == 0, 0.04);
    for (int s = 0; s < 5; s++)
        REQUIRE(et_temporal_step(m, &row, x[s], 1, p) == ET_OK);
    float saved[10];
    memcpy(saved, state, sizeof saved);
    int nonzero = 0;
    for (int k = 0; k < 10; k++)
        nonzero += saved[k] != 0.0f;
    CHECK(nonzero > 0);
    /* The same observation after one frame and after a 2 s loss. */
    float near[ET_EMOTIONS], far[ET_EMOTIONS], fresh[ET_EMOTIONS], xg[FS];
    REQUIRE(et_temporal_step(m, &row, x[5], 1, near) == ET_OK);
    memcpy(xg, x[5], sizeof xg);
    xg[EMB + ET_EMOTIONS + 1] = (float)log1p(2.0 / ET_TEMPORAL_GAP_UNIT);
    memcpy(state, saved, sizeof saved);
    REQUIRE(et_temporal_step(m, &row, xg, 1, far) == ET_OK);
    /* And from a zero state (what a reset would give). */
    float zero[10] = {0}, *zrow = zero;
    REQUIRE(et_temporal_step(m, &zrow, xg, 1, fresh) == ET_OK);
    double d_gap = 0.0, d_reset = 0.0;
    for (int k = 0; k < ET_EMOTIONS; k++) {
        d_gap += fabs(near[k] - far[k]);
        d_reset += fabs(far[k] - fresh[k]);
    }
    CHECK_MSG(d_gap > 1e-4, "the gap feature changed the output by only %g", d_gap);
    CHECK_MSG(d_reset > 1e-4, "after a gap the output equals a fresh track's (%g): state was reset", d_reset);
    et_temporal_free(m);
}

TEST(temporal_load_rejects_non_recurrent_nets)
{
    const char *arch = "{\"format\":\"emotrace-net-1\",\"input\":[20,1,1],\"layers\":["
                       "{\"name\":\"fc\",\"type\":\"dense\",\"out\":7}],\"outputs\":[\"fc\"]}";
    char path[512];
    snprintf(path, sizeof path, "%s/dense.safetensors", test_tmpdir());
    et_net *net = NULL;
    REQUIRE(et_net_create(&net, arch, 1) == ET_OK);
    REQUIRE(et_net_save(net, path, NULL) == ET_OK);
    et_net_free(net);
    et_temporal *m = NULL;
    CHECK(et_temporal_load(&m, path) == ET_ERR_FORMAT);
    CHECK(m == NULL);
    CHECK(strstr(et_error_message(), "dense.safetensors") != NULL);
    CHECK(et_temporal_load(&m, "/nonexistent/lstm.safetensors") != ET_OK);
}

/* A hand-made track set: one track, labels and times given. */
static void tiny_set(et_track_set *set, const int *labels, int frames, double fps)
{
    memset(set, 0, sizeof *set);
    set->tracks = 1;
    set->frames = frames;
    set->embedding_size = 1;
    set->feature_size = 1 + ET_TEMPORAL_EXTRA_FEATURES;
    set->start = malloc(2 * sizeof(int));
    set->labels = malloc((size_t)frames * sizeof(int));
    set->times = malloc((size_t)frames * sizeof(float));
    set->features = calloc((size_t)frames * set->feature_size, sizeof(float));
    set->start[0] = 0;
    set->start[1] = frames;
    for (int i = 0; i < frames; i++) {
        set->labels[i] = labels[i];
        set->times[i] = (float)(i / fps);
    }
}

static void one_hot_predictions(const int *pred, int frames, float *p)
{
    memset(p, 0, (size_t)frames * ET_EMOTIONS * sizeof(float));
    for (int i = 0; i < frames; i++)
        p[i * ET_EMOTIONS + pred[i]] = 1.0f;
}

TEST(temporal_metrics_by_hand)
{
    /* 10 fps: 6 frames neutral, 6 happy, 4 sad. */
    const int truth[16] = {6, 6, 6, 6, 6, 6, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4};
    /* neutral with one flicker (2 changes); happy switched after 2 frames
     * (the change to 3 is the switch, not flicker); sad never reached. */
    const int pred[16] = {6, 6, 0, 6, 6, 6, 6, 6, 3, 3, 3, 3, 3, 3, 5, 5};
    et_track_set set;
    tiny_set(&set, truth, 16, 10.0);
    float p[16 * ET_EMOTIONS];
    one_hot_predictions(pred, 16, p);
    et_temporal_metrics m;
    REQUIRE(et_temporal_metrics_compute(&set, p, &m) == ET_OK);
    CHECK_EQ_INT(m.correct, 9);
    CHECK_NEAR(m.accuracy, 9.0 / 16.0, 1e-9);
    /* Changes: 6->0, 0->6 (neutral); 3->5 (sad, not onto the truth). */
    CHECK_EQ_INT(m.flicker_changes, 3);
    CHECK_NEAR(m.segment_seconds, 0.5 + 0.5 + 0.3, 1e-5);
    CHECK_NEAR(m.flicker_per_10s, 30.0 / 1.3, 1e-3);
    CHECK_EQ_INT(m.switches, 2);
    CHECK_EQ_INT(m.missed, 1);
    /* One of two switches missed: the median over all is "never". */
    CHECK(isinf(m.latency_median_s));
    CHECK_NEAR(m.detected_latency_median_s, 0.2, 1e-5);
    CHECK_NEAR(m.detected_latency_median_frames, 2.0, 1e-9);
    et_track_set_free(&set);

    /* Perfect predictions: no flicker, zero latency. */
    tiny_set(&set, truth, 16, 10.0);
    one_hot_predictions(truth, 16, p);
    REQUIRE(et_temporal_metrics_compute(&set, p, &m) == ET_OK);
    CHECK(m.accuracy == 1.0 && m.flicker_changes == 0 && m.missed == 0);
    CHECK_NEAR(m.latency_median_s, 0.0, 1e-9);
    et_track_set_free(&set);
}

/* Tracks whose frames show the label through heavy noise: the per-frame
 * argmax is often wrong, a model that integrates over time is not. */
static void noisy_tracks(et_track_set *set, int tracks, uint64_t seed)
{
    et_rng rng;
    et_rng_seed(&rng, seed);
    memset(set, 0, sizeof *set);
    set->embedding_size = EMB;
    set->feature_size = FS;
    set->tracks = tracks;
    set->start = malloc((size_t)(tracks + 1) * sizeof(int));
    int cap = tracks * 40;
    set->features = malloc((size_t)cap * FS * sizeof(float));
    set->labels = malloc((size_t)cap * sizeof(int));
    set->times = malloc((size_t)cap * sizeof(float));
    set->start[0] = 0;
    for (int t = 0; t < tracks; t++) {
        int len = 20 + (int)et_rng_below(&rng, 20), label = (int)et_rng_below(&rng, 3);
        for (int s = 0; s < len; s++) {
            int i = set->frames++;
            if (s == len / 2)
                label = (label + 1) % 3;
            float emb[EMB], p[ET_EMOTIONS], sum = 0.0f;
            for (int k = 0; k < EMB; k++)
                emb[k] = (float)et_rng_normal(&rng);
            for (int k = 0; k < ET_EMOTIONS; k++) {
                p[k] = expf((float)(1.2 * et_rng_normal(&rng)) + (k == label ? 1.0f : 0.0f) - (k >= 3 ? 4.0f : 0.0f));
                sum += p[k];
            }
            for (int k = 0; k < ET_EMOTIONS; k++)
                p[k] /= sum;
            et_temporal_features(emb, EMB, p, 0.9f, 0.1, s == 0, set->features + (size_t)i * FS);
            set->labels[i] = label;
            set->times[i] = (float)(0.1 * s);
        }
        set->start[t + 1] = set->frames;
    }
}

TEST(temporal_trainer_learns_to_smooth)
{
    et_track_set train, val;
    noisy_tracks(&train, 160, 1);
    noisy_tracks(&val, 60, 2);
    et_temporal_train_options o;
    et_temporal_train_defaults(&o);
    o.projection = 16;
    o.hidden = 16;
    o.epochs = 12;
    o.batch = 16;
    o.lr = 0.01f;
    o.quiet = 1;
    char path[512];
    snprintf(path, sizeof path, "%s/lstm.safetensors", test_tmpdir());
    const char *meta[] = {"cnn_sha256", "abc", NULL};
    o.out_path = path;
    o.metadata = meta;
    et_temporal_train_result r;
    REQUIRE(et_temporal_train(&o, &train, &val, &r) == ET_OK);
    CHECK_MSG(r.lstm.accuracy > r.cnn.accuracy + 0.1, "lstm %.3f cnn %.3f", r.lstm.accuracy, r.cnn.accuracy);
    CHECK_MSG(r.lstm.flicker_per_10s < r.cnn.flicker_per_10s / 3, "flicker lstm %.2f cnn %.2f",
              r.lstm.flicker_per_10s, r.cnn.flicker_per_10s);
    /* The saved file (input scaling folded in) streams to the same result. */
    et_temporal *m = NULL;
    REQUIRE(et_temporal_load(&m, path) == ET_OK);
    CHECK(strcmp(et_temporal_cnn_sha256(m), "abc") == 0);
    float *p = malloc((size_t)val.frames * ET_EMOTIONS * sizeof(float));
    REQUIRE(p);
    for (int t = 0; t < val.tracks; t++)
        REQUIRE(et_temporal_sequence(m, val.features + (size_t)val.start[t] * FS, val.start[t + 1] - val.start[t],
                                     p + (size_t)val.start[t] * ET_EMOTIONS) == ET_OK);
    et_temporal_metrics again;
    REQUIRE(et_temporal_metrics_compute(&val, p, &again) == ET_OK);
    CHECK_NEAR(again.accuracy, r.lstm.accuracy, 1e-9);
    free(p);
    et_temporal_free(m);
    et_track_set_free(&train);
    et_track_set_free(&val);
}
