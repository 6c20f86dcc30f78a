/* The look-ahead smoothing of recorded media (lookahead.h): known answers
 * for its window, the order frames come out in, tracks kept apart, and the
 * analyzer's output checked against the CNN's own rows of the same video. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "emotrace/error.h"
#include "emotrace/lookahead.h"
#include "emotrace/results.h"
#include "test.h"

/* Pushes frame t of track (one face) with all probability on emotion. */
static int push_one(et_lookahead *l, int64_t index, double t, int track, int emotion)
{
    et_frame frame = {0};
    et_observation o = {0};
    frame.t = o.t = t;
    frame.index = o.frame = index;
    o.track = track;
    o.prob[emotion] = 1.0;
    return et_lookahead_push(l, &frame, &o, NULL, 1);
}

/* The Gaussian weight of a frame dt seconds away, sigma = window / 2. */
static double weight(double dt, double window)
{
    double z = dt / (window / 2.0);
    return exp(-0.5 * z * z);
}

/* A step from angry to happy at 1 s, at 10 frames per second, window 1 s:
 * each frame is the weighted share of the frames within a second of it
 * (fewer at the track's end, never more behind than ahead), and the label
 * changes at the step itself, not after it. */
TEST(lookahead_step_known_answers)
{
    const double window = 1.0;
    et_lookahead *l;
    REQUIRE(et_lookahead_create(&l, window, 0, 0) == ET_OK);
    et_lookahead_frame ready;
    int popped = 0;
    for (int i = 0; i < 30; i++) {
        REQUIRE(push_one(l, i, i / 10.0, 1, i < 10 ? 0 : 3) == ET_OK);
        /* Nothing leaves before a whole window after it is known. */
        while (et_lookahead_pop(l, 0, &ready) == 1) {
            CHECK_EQ_INT(ready.frame->index, popped);
            CHECK_MSG(i / 10.0 >= ready.frame->t + window - 1e-9, "frame %d out at %d", popped, i);
            double weights = 0, happy = 0;
            for (int j = 0; j < 30; j++) {
                double dt = (j - popped) / 10.0;
                if (dt < -window - 1e-9 || dt > window + 1e-9)
                    continue;
                double w = weight(dt, window);
                weights += w;
                happy += j >= 10 ? w : 0;
            }
            CHECK_NEAR(ready.observations[0].prob[3], happy / weights, 1e-9);
            CHECK_NEAR(ready.observations[0].prob[0] + ready.observations[0].prob[3], 1.0, 1e-9);
            CHECK_EQ_INT(ready.observations[0].prob[3] > 0.5, popped >= 10);
            popped++;
        }
    }
    CHECK_EQ_INT(popped, 20); /* frames 0..19 have a whole second after them */
    /* The end: the window narrows to what follows (frame 20 reaches 0.9 s
     * each side, frames 11..29, all happy), never back to the angry start. */
    while (et_lookahead_pop(l, 1, &ready) == 1) {
        CHECK_EQ_INT(ready.frame->index, popped);
        CHECK_NEAR(ready.observations[0].prob[3], 1.0, 1e-12);
        popped++;
    }
    CHECK_EQ_INT(popped, 30);
    CHECK_EQ_INT(et_lookahead_pop(l, 1, &ready), 0);
    et_lookahead_free(l);
}

/* A happy onset that ends the track (the last 0.2 s): the last frames
 * report it as the CNN saw it, not the neutral second before (a window
 * reaching back a whole second would). */
TEST(lookahead_narrows_at_the_end_of_a_track)
{
    et_lookahead *l;
    REQUIRE(et_lookahead_create(&l, 1.0, 0, 0) == ET_OK);
    for (int i = 0; i < 25; i++)
        REQUIRE(push_one(l, i, i / 25.0, 7, i < 20 ? 6 : 3) == ET_OK);
    et_lookahead_frame ready;
    int n = 0;
    double last = -1, before_last = -1;
    while (et_lookahead_pop(l, 1, &ready) == 1) {
        CHECK_EQ_INT(ready.count, 1);
        CHECK_EQ_INT(ready.observations[0].track, 7);
        if (n == 23)
            before_last = ready.observations[0].prob[3];
        if (n == 24)
            last = ready.observations[0].prob[3];
        n++;
    }
    CHECK_EQ_INT(n, 25);
    CHECK_NEAR(last, 1.0, 1e-12);
    CHECK_NEAR(before_last, 1.0, 1e-12); /* frames 22..24, all happy */
    et_lookahead_free(l);
}

/* Two faces in every frame: each track is smoothed with its own frames
 * only, and each frame comes out with both, in the order pushed. */
TEST(lookahead_keeps_tracks_apart)
{
    et_lookahead *l;
    REQUIRE(et_lookahead_create(&l, 0.5, 1, 0) == ET_OK);
    et_lookahead_frame ready;
    int out = 0;
    for (int i = 0; i <= 40; i++) {
        et_frame frame = {0};
        et_observation o[2];
        uint8_t crops[2] = {(uint8_t)i, (uint8_t)(100 + i)};
        memset(o, 0, sizeof o);
        frame.t = i / 20.0;
        frame.index = i;
        for (int k = 0; k < 2; k++) {
            o[k].t = frame.t;
            o[k].frame = i;
            o[k].track = k + 1;
            o[k].prob[k ? 5 : 4] = 1.0;
        }
        REQUIRE(et_lookahead_push(l, &frame, o, crops, i == 40 ? 0 : 2) == ET_OK);
        int flush = i == 40;
        while (et_lookahead_pop(l, flush, &ready) == 1) {
            CHECK_EQ_INT(ready.frame->index, out);
            CHECK_EQ_INT(ready.count, out == 40 ? 0 : 2);
            for (int k = 0; k < ready.count; k++) {
                CHECK_EQ_INT(ready.observations[k].track, k + 1);
                CHECK_NEAR(ready.observations[k].prob[k ? 5 : 4], 1.0, 1e-12);
                CHECK_EQ_INT(ready.crops[k], k ? 100 + out : out);
            }
            out++;
        }
    }
    CHECK_EQ_INT(out, 41);
    et_lookahead_free(l);
}

TEST(lookahead_window_must_be_positive)
{
    et_lookahead *l = (et_lookahead *)&l;
    CHECK_EQ_INT(et_lookahead_create(&l, 0.0, 0, 0), ET_ERR_USAGE);
    CHECK(l == NULL);
    CHECK(strstr(et_error_message(), "window") != NULL);
}

/* The one media item of an analyze output file, read back as summary reads
 * it (observations by track, then time); NULL after a recorded failure. */
static const et_result_media *read_one(et_results *r, const char *path)
{
    CHECK_EQ_INT(et_results_load(r, path), ET_OK);
    CHECK_EQ_INT(r->count, 1);
    return r->count == 1 ? &r->media[0] : NULL;
}

/* analyze on the example: the default output is the CNN's own rows
 * (--no-temporal) smoothed over a second each side, row for row, and
 * --lookahead 0 gives the LSTM's (other) probabilities. */
TEST(analyze_lookahead_smooths_the_cnn_rows)
{
    const char *cnn_csv = test_path("cnn.csv"), *smooth_csv = test_path("smooth.csv"), *lstm_csv = test_path("lstm.csv");
    char args[1024];
    snprintf(args, sizeof args, "analyze -q --threads 1 --no-temporal -o '%s' examples/expressions.mp4", cnn_csv);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    snprintf(args, sizeof args, "analyze -q --threads 1 -o '%s' examples/expressions.mp4", smooth_csv);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    snprintf(args, sizeof args, "analyze -q --threads 1 --lookahead 0 -o '%s' examples/expressions.mp4", lstm_csv);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    et_results r[3] = {{0}};
    const et_result_media *cnn = read_one(&r[0], cnn_csv), *smooth = read_one(&r[1], smooth_csv),
                          *lstm = read_one(&r[2], lstm_csv);
    REQUIRE(cnn && smooth && lstm);
    size_t n = cnn->count;
    CHECK_MSG(n > 400, "%zu rows", n);
    CHECK_EQ_INT(smooth->count, n);
    CHECK_EQ_INT(lstm->count, n);
    double lstm_differs = 0;
    for (size_t i = 0; i < n && smooth->count == n && lstm->count == n; i++) {
        const et_observation *o = &cnn->obs[i];
        CHECK_NEAR(smooth->obs[i].t, o->t, 1e-9);
        /* The track's reach ahead (rows go by track, then time), at most a
         * second; the window is as wide behind. */
        double last_t = o->t;
        for (size_t j = i + 1; j < n && cnn->obs[j].track == o->track &&
                               cnn->obs[j].t <= o->t + ET_LOOKAHEAD_WINDOW + 1e-6; j++)
            last_t = cnn->obs[j].t;
        double ahead = last_t - o->t, sum[ET_EMOTIONS] = {0}, weights = 0;
        for (size_t j = 0; j < n; j++) {
            double dt = cnn->obs[j].t - o->t;
            if (cnn->obs[j].track != o->track || dt < -ahead - 1e-6 || dt > ahead + 1e-6)
                continue;
            double w = weight(dt, ET_LOOKAHEAD_WINDOW);
            for (int e = 0; e < ET_EMOTIONS; e++)
                sum[e] += w * cnn->obs[j].prob[e];
            weights += w;
        }
        /* The CSV rounds to 4 decimals. */
        for (int e = 0; e < ET_EMOTIONS; e++)
            CHECK_NEAR(smooth->obs[i].prob[e], sum[e] / weights, 2e-4);
        for (int e = 0; e < ET_EMOTIONS; e++)
            lstm_differs += fabs(lstm->obs[i].prob[e] - smooth->obs[i].prob[e]);
    }
    CHECK_MSG(lstm_differs / n > 0.01, "--lookahead 0 gave the same rows (%g)", lstm_differs / n);
    for (int k = 0; k < 3; k++)
        et_results_free(&r[k]);
}

/* Kept pixels and frames --fps skipped: every frame comes out in the order
 * pushed with its own pixels, the skipped ones marked not analysed and
 * without faces, while the analysed ones are smoothed as without them. */
TEST(lookahead_keeps_pixels_and_skipped_frames_in_order)
{
    et_lookahead *l;
    REQUIRE(et_lookahead_create(&l, 0.3, 0, 1) == ET_OK);
    et_frame frame = {0};
    REQUIRE(et_frame_resize(&frame, 4, 2) == ET_OK);
    et_lookahead_frame ready;
    int out = 0;
    for (int i = 0; i <= 30; i++) {
        int end = i == 30;
        if (!end) {
            frame.t = i / 10.0;
            frame.index = i;
            memset(frame.rgb, i, (size_t)frame.stride * frame.height);
            et_observation o = {0};
            o.t = frame.t;
            o.frame = i;
            o.track = 1;
            o.prob[i < 15 ? 6 : 3] = 1.0;
            /* Every third frame is analysed, the others skipped. */
            REQUIRE((i % 3 ? et_lookahead_push_skipped(l, &frame) : et_lookahead_push(l, &frame, &o, NULL, 1)) ==
                    ET_OK);
        }
        while (et_lookahead_pop(l, end, &ready) == 1) {
            CHECK_EQ_INT(ready.frame->index, out);
            CHECK_EQ_INT(ready.analyzed, out % 3 == 0);
            CHECK_EQ_INT(ready.count, out % 3 == 0);
            REQUIRE(ready.frame->rgb && ready.frame->width == 4 && ready.frame->height == 2);
            CHECK_EQ_INT(ready.frame->rgb[0], out);
            CHECK_EQ_INT(ready.frame->rgb[3 * 4 * 2 - 1], out);
            /* Frame 12 sees 9 and 15 at 0.3 s (weight e^-2 each): neutral
             * and happy balance; 9 is all neutral (12 is 0.3 s ahead). */
            if (out == 12)
                CHECK_NEAR(ready.observations[0].prob[6], (1 + exp(-2.0)) / (1 + 2 * exp(-2.0)), 1e-9);
            if (out == 9)
                CHECK_NEAR(ready.observations[0].prob[6], 1.0, 1e-12);
            out++;
        }
    }
    CHECK_EQ_INT(out, 30);
    et_frame_free(&frame);
    et_lookahead_free(l);
}
