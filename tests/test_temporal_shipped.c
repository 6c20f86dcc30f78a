/* The shipped temporal model against the CNN alone on a committed set of
 * synthetic validation tracks (features precomputed with the CNN the model
 * was trained with; tests/fixtures/temporal/README.md says how to remake
 * them when the weights change). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "emotrace/error.h"
#include "emotrace/metrics.h"
#include "emotrace/temporal.h"
#include "emotrace/temporal_metrics.h"
#include "emotrace/temporal_trainer.h"
#include "emotrace/track_set.h"
#include "test.h"

/* Floors for the shipped LSTM on this fixture, at about half of the margins
 * recorded when it was shipped; update them here with the new recorded
 * values whenever the weights (and so the fixture) change. Recorded in
 * weights/README.md, "Temporal model (LSTM)", "Shipped file: trained on
 * synthetic and real tracks (session 8)", and
 * tests/fixtures/temporal/README.md: CNN alone 0.4786 accuracy, 48.7 label
 * changes per 10 s, median switch latency 0.079 s; CNN+LSTM 0.5157 (+3.7
 * points), 4.09 per 10 s (11.9x fewer), 0.22 s. */
#define FLOOR_ACCURACY_GAIN 0.018 /* recorded +0.037 */
#define FLOOR_FLICKER_CUT 6.0     /* recorded 11.9x fewer label changes */
/* Recorded 0.22 s; the target is at most 0.3 s (0.5 s before
 * session 8): the floor stays half-way to 0.5 s. */
#define CEILING_LATENCY_S 0.35
/* Tracks that keep their label after a 1 s gap (recorded in
 * tests/fixtures/temporal/README.md only): 36 of 40 (0.90) with the
 * state carried over, 25 (0.625) from a zero state; half-way. */
#define FLOOR_KEPT_AFTER_GAP 0.76

#define MODEL "weights/emotion-lstm.safetensors"
#define FIXTURE "tests/fixtures/temporal/val-tracks.safetensors.gz"

/* Unpacks the gzip fixture into the scratch dir (the track reader takes
 * plain files). */
static int unpack(const char *gz_path, char *out, size_t size)
{
    snprintf(out, size, "%s/tracks.safetensors", test_tmpdir());
    gzFile in = gzopen(gz_path, "rb");
    FILE *f = fopen(out, "wb");
    char buf[65536];
    int n, ok = in && f;
    while (ok && (n = gzread(in, buf, sizeof buf)) > 0)
        ok = fwrite(buf, 1, (size_t)n, f) == (size_t)n;
    if (in)
        gzclose(in);
    if (f)
        fclose(f);
    return ok;
}

typedef struct {
    et_temporal *model;
    et_track_set set;
    float *cnn, *lstm; /* per-frame probabilities */
} shipped;

static int load(shipped *s)
{
    memset(s, 0, sizeof *s);
    char path[512];
    if (et_temporal_load(&s->model, MODEL) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s", et_error_message());
        return 0;
    }
    const char *expect[] = {"cnn_sha256", et_temporal_cnn_sha256(s->model), NULL};
    if (!unpack(FIXTURE, path, sizeof path) || et_track_set_load(&s->set, path, expect) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s: %s (regenerate it: tests/fixtures/temporal/README.md)", FIXTURE,
                  et_error_message());
        return 0;
    }
    s->cnn = malloc((size_t)s->set.frames * ET_EMOTIONS * sizeof(float));
    s->lstm = malloc((size_t)s->set.frames * ET_EMOTIONS * sizeof(float));
    if (!s->cnn || !s->lstm)
        return 0;
    et_track_set_cnn_predictions(&s->set, s->cnn);
    if (et_temporal_stream_set(s->model, &s->set, s->lstm) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s", et_error_message());
        return 0;
    }
    return 1;
}

static void unload(shipped *s)
{
    free(s->cnn);
    free(s->lstm);
    et_track_set_free(&s->set);
    et_temporal_free(s->model);
}

TEST(temporal_shipped_beats_cnn_alone)
{
    shipped s;
    if (!load(&s)) {
        unload(&s);
        return;
    }
    et_temporal_metrics cnn, lstm;
    REQUIRE(et_temporal_metrics_compute(&s.set, s.cnn, &cnn) == ET_OK);
    REQUIRE(et_temporal_metrics_compute(&s.set, s.lstm, &lstm) == ET_OK);
    printf("     %d tracks, %d frames: accuracy %.4f -> %.4f, flicker/10s %.2f -> %.2f, "
           "median switch latency %.2f s -> %.2f s, missed %d -> %d of %d\n",
           s.set.tracks, s.set.frames, cnn.accuracy, lstm.accuracy, cnn.flicker_per_10s, lstm.flicker_per_10s,
           cnn.latency_median_s, lstm.latency_median_s, cnn.missed, lstm.missed, cnn.switches);
    CHECK_MSG(lstm.accuracy >= cnn.accuracy + FLOOR_ACCURACY_GAIN, "accuracy: lstm %.4f, cnn %.4f", lstm.accuracy,
              cnn.accuracy);
    CHECK_MSG(lstm.flicker_per_10s * FLOOR_FLICKER_CUT <= cnn.flicker_per_10s, "flicker: lstm %.3f, cnn %.3f",
              lstm.flicker_per_10s, cnn.flicker_per_10s);
    /* Misses count as never here, so this also bounds how many switches the
     * smoothing may swallow. */
    CHECK_MSG(lstm.latency_median_s <= CEILING_LATENCY_S, "median switch latency %.3f s", lstm.latency_median_s);
    unload(&s);
}

/* The batched sequence path gives the streamed probabilities. */
TEST(temporal_shipped_stream_equals_sequence)
{
    shipped s;
    if (!load(&s)) {
        unload(&s);
        return;
    }
    float *p = malloc((size_t)s.set.frames * ET_EMOTIONS * sizeof(float));
    REQUIRE(p);
    double worst = 0.0;
    for (int t = 0; t < s.set.tracks; t++) {
        int first = s.set.start[t], n = s.set.start[t + 1] - first;
        REQUIRE(et_temporal_sequence(s.model, s.set.features + (size_t)first * s.set.feature_size, n,
                                     p + (size_t)first * ET_EMOTIONS) == ET_OK);
    }
    for (size_t i = 0; i < (size_t)s.set.frames * ET_EMOTIONS; i++)
        worst = fmax(worst, fabs(p[i] - s.lstm[i]));
    CHECK_MSG(worst < 1e-4, "largest difference %g", worst);
    free(p);
    unload(&s);
}

/* A face lost for a second mid-track: the model carries on from its state
 * (the label mostly stays what it was) instead of starting over. */
TEST(temporal_shipped_keeps_state_over_gap)
{
    shipped s;
    if (!load(&s)) {
        unload(&s);
        return;
    }
    const int fs = s.set.feature_size, gap = s.set.embedding_size + ET_EMOTIONS + 1;
    size_t state_size = et_temporal_state_size(s.model);
    float *state = calloc(state_size, sizeof(float)), *saved = calloc(state_size, sizeof(float));
    float *zero = calloc(state_size, sizeof(float)), *x = malloc((size_t)fs * sizeof(float));
    REQUIRE(state && saved && zero && x);
    int kept = 0, kept_fresh = 0, trials = 0;
    for (int t = 0; t < s.set.tracks; t++) {
        int first = s.set.start[t], n = s.set.start[t + 1] - first;
        if (n < 20)
            continue;
        /* Run to the middle, then show the next frame after a 1 s gap. */
        memset(state, 0, state_size * sizeof(float));
        float p[ET_EMOTIONS];
        int mid = n / 2;
        for (int i = 0; i < mid; i++)
            REQUIRE(et_temporal_step(s.model, &state, s.set.features + (size_t)(first + i) * fs, 1, p) == ET_OK);
        int before = et_argmax(p, ET_EMOTIONS);
        memcpy(x, s.set.features + (size_t)(first + mid) * fs, (size_t)fs * sizeof(float));
        x[gap] = (float)log1p(1.0 / ET_TEMPORAL_GAP_UNIT);
        memcpy(saved, state, state_size * sizeof(float));
        REQUIRE(et_temporal_step(s.model, &saved, x, 1, p) == ET_OK);
        kept += et_argmax(p, ET_EMOTIONS) == before;
        memset(zero, 0, state_size * sizeof(float));
        REQUIRE(et_temporal_step(s.model, &zero, x, 1, p) == ET_OK);
        kept_fresh += et_argmax(p, ET_EMOTIONS) == before;
        trials++;
    }
    REQUIRE(trials >= 10);
    printf("     label kept after a 1 s gap in %d of %d tracks (from a zero state: %d)\n", kept, trials, kept_fresh);
    CHECK_MSG(kept > kept_fresh && kept >= FLOOR_KEPT_AFTER_GAP * trials, "label kept after a 1 s gap in %d of %d "
              "tracks (from a zero state: %d)", kept, trials, kept_fresh);
    free(state);
    free(saved);
    free(zero);
    free(x);
    unload(&s);
}
