/* Detection cadence (face_cadence.h) and batching in the analyzer, in
 * process with the shipped weights, on clips made from fixture photos:
 * the detector on key frames must find what detection on every frame
 * finds (faces per frame, tracks, probabilities), a face popping in is
 * found on the frame every-frame detection finds it on, and analysing
 * frames in batches gives what one frame at a time gives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "emotrace/analyzer.h"
#include "emotrace/error.h"
#include "emotrace/face_cadence.h"
#include "test.h"

#define FACE_A "tests/fixtures/faces/Adam_Mair_0001.jpg"
#define FACE_B "tests/fixtures/faces/Elton_John_0002.jpg"
#define MAX_FRAMES 128
#define MAX_FACES 4

/* What one analysis gave, per frame. */
typedef struct {
    int frames, count[MAX_FRAMES], track[MAX_FRAMES][MAX_FACES];
    double prob[MAX_FRAMES][MAX_FACES][ET_EMOTIONS];
    et_analyzer_stats stats;
} run_result;

static int record_frame(const et_frame_result *r, void *ctx)
{
    run_result *out = ctx;
    int f = (int)r->frame->index;
    if (f >= MAX_FRAMES)
        return ET_OK;
    out->frames = f + 1 > out->frames ? f + 1 : out->frames;
    out->count[f] = r->count;
    for (int i = 0; i < r->count && i < MAX_FACES; i++) {
        out->track[f][i] = r->observations[i].track;
        memcpy(out->prob[f][i], r->observations[i].prob, sizeof out->prob[f][i]);
    }
    return ET_OK;
}

typedef struct {
    et_emotion_classifier classifier;
    et_face_detector *detector;
    et_temporal *temporal;
} models;

static int models_load(models *m)
{
    memset(m, 0, sizeof *m);
    return et_emotion_classifier_load(&m->classifier, "weights/emotion-cnn.safetensors") == ET_OK &&
           et_face_detector_load(&m->detector, "weights/face-short.safetensors", NULL) == ET_OK &&
           et_temporal_load(&m->temporal, "weights/emotion-lstm.safetensors") == ET_OK;
}

static void models_free(models *m)
{
    et_temporal_free(m->temporal);
    et_face_detector_free(m->detector);
    et_emotion_classifier_free(&m->classifier);
}

/* Analyses video with the given cadence and batch (0: the defaults). */
static int analyze(models *m, const char *video, int detect_every, int batch_frames, run_result *out)
{
    memset(out, 0, sizeof *out);
    et_analyzer_options o;
    et_analyzer_defaults(&o);
    o.detector = m->detector;
    o.classifier = &m->classifier;
    o.temporal = m->temporal;
    o.detect_every = detect_every;
    o.batch_frames = batch_frames;
    o.on_frame = record_frame;
    o.on_frame_ctx = out;
    et_media_item item = {ET_MEDIA_VIDEO, (char *)video, NULL, 0, NULL};
    et_media_info info;
    memset(&info, 0, sizeof info);
    info.path = video;
    int rc = et_analyze_media(&o, &item, &info, NULL, &out->stats);
    if (rc != ET_OK)
        fprintf(stderr, "  %s\n", et_error_message());
    return rc;
}

/* The first frame with at least two faces, -1 if none. */
static int first_two_face_frame(const run_result *r)
{
    for (int f = 0; f < r->frames; f++)
        if (r->count[f] >= 2)
            return f;
    return -1;
}

/* Mean and largest absolute difference of the probabilities of b against
 * a, faces in the same order (same count on every frame checked first). */
static void probability_difference(const run_result *a, const run_result *b, double *mean, double *worst)
{
    double sum = 0;
    long values = 0;
    *worst = 0;
    for (int f = 0; f < a->frames; f++)
        for (int i = 0; i < a->count[f] && i < MAX_FACES; i++)
            for (int k = 0; k < ET_EMOTIONS; k++) {
                double d = fabs(a->prob[f][i][k] - b->prob[f][i][k]);
                sum += d;
                values++;
                *worst = fmax(*worst, d);
            }
    *mean = values ? sum / values : 0;
}

/* Face A drifts slowly across a 30 fps clip for 3 s; face B pops in at
 * frame 34 (t = 1.133 s, between key frames) and leaves after frame 69. */
TEST(analyze_cadence_new_face_found_as_every_frame)
{
    const char *video = test_path("pop.mp4");
    REQUIRE(shell_runf("ffmpeg -nostdin -v error -y -f lavfi -i color=c=gray:s=640x360:r=30:d=3 -loop 1 -i %s "
                       "-loop 1 -i %s -filter_complex \"[1]scale=180:180[a];[2]scale=220:220[b];"
                       "[0][a]overlay=x='40+15*t':y=70:shortest=1[t];"
                       "[t][b]overlay=x=380:y=60:enable='between(t,1.13,2.3)':shortest=1,format=yuv420p\" "
                       "-c:v libx264 -t 3 %s",
                       FACE_A, FACE_B, video) == 0);
    models m;
    REQUIRE(models_load(&m));
    run_result *every = calloc(1, sizeof *every), *cadence = calloc(1, sizeof *cadence);
    REQUIRE(every && cadence);
    REQUIRE(analyze(&m, video, 1, 0, every) == ET_OK);
    REQUIRE(analyze(&m, video, 0, 0, cadence) == ET_OK);
    CHECK_EQ_INT(every->frames, 90);
    CHECK_EQ_INT(cadence->frames, 90);
    /* Every frame detected, against far fewer with the cadence. */
    CHECK_EQ_INT(every->stats.frames_detected, 90);
    CHECK_MSG(cadence->stats.frames_detected < 60, "the detector ran on %ld of 90 frames",
              cadence->stats.frames_detected);
    CHECK_EQ_INT(cadence->stats.frames_detected + cadence->stats.frames_interpolated, 90);
    /* B found on the frame it appears (and every-frame detection finds it
     * on), well within 0.2 s; the same faces on every frame. */
    int first = first_two_face_frame(every);
    CHECK_EQ_INT(first, 34);
    CHECK_EQ_INT(first_two_face_frame(cadence), first);
    int differing = 0;
    for (int f = 0; f < 90; f++)
        differing += every->count[f] != cadence->count[f];
    CHECK_EQ_INT(differing, 0);
    CHECK_EQ_INT(cadence->stats.tracks, every->stats.tracks);
    CHECK_EQ_INT(cadence->stats.tracks, 2);
    double mean = 0, worst = 0;
    if (differing == 0) {
        probability_difference(every, cadence, &mean, &worst);
        CHECK_MSG(mean <= 0.02, "probabilities differ by %.4f on average (max %.4f)", mean, worst);
    }
    free(every);
    free(cadence);
    models_free(&m);
}

/* Two faces on 10 fps: frames analysed in batches give the same
 * observations (tracks, boxes, CNN+LSTM probabilities within 1e-5) as one
 * frame at a time, the LSTM seeing each track's frames in order. */
TEST(analyze_batched_equals_frame_by_frame)
{
    const char *video = test_path("two.mp4");
    REQUIRE(shell_runf("ffmpeg -nostdin -v error -y -f lavfi -i color=c=gray:s=640x360:r=10:d=3 -loop 1 -i %s "
                       "-loop 1 -i %s -filter_complex \"[1]scale=200:200[a];[2]scale=180:180[b];"
                       "[0][a]overlay=x='40+10*t':y=60:shortest=1[t];"
                       "[t][b]overlay=x='400-10*t':y=80:shortest=1,format=yuv420p\" -c:v libx264 -t 3 %s",
                       FACE_A, FACE_B, video) == 0);
    models m;
    REQUIRE(models_load(&m));
    run_result *single = calloc(1, sizeof *single), *batched = calloc(1, sizeof *batched);
    REQUIRE(single && batched);
    for (int every = 1; every <= 4; every += 3) {
        REQUIRE(analyze(&m, video, every, 1, single) == ET_OK);
        REQUIRE(analyze(&m, video, every, 0, batched) == ET_OK);
        CHECK_EQ_INT(single->frames, 30);
        CHECK_EQ_INT(batched->frames, 30);
        int same_faces = 1;
        for (int f = 0; f < 30; f++) {
            same_faces &= single->count[f] == 2 && batched->count[f] == 2;
            for (int i = 0; i < 2 && same_faces; i++)
                same_faces &= single->track[f][i] == batched->track[f][i];
        }
        CHECK_MSG(same_faces, "--detect-every %d: faces or tracks differ between batched and single frames", every);
        if (!same_faces)
            continue;
        double mean, worst;
        probability_difference(single, batched, &mean, &worst);
        if (every == 1)
            CHECK_MSG(worst < 1e-5, "batched probabilities differ by up to %g", worst);
        else /* one frame at a time, every frame is a key frame */
            CHECK_MSG(mean <= 0.02, "cadence changes probabilities by %.4f on average", mean);
    }
    free(single);
    free(batched);
    models_free(&m);
}
