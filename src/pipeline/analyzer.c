#include "emotrace/analyzer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emotrace/clock.h"
#include "emotrace/error.h"
#include "emotrace/face_cadence.h"
#include "emotrace/media_reader.h"
#include "emotrace/emotion_scores.h"
#include "emotrace/lookahead.h"
#include "emotrace/nn.h"
#include "emotrace/sampler.h"
#include "emotrace/tracker.h"

#define CROP_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)

/* Short for the stage timers below. */
static double now(void) { return et_now_seconds(); }

/* Frames are analysed in batches: one detector pass and one CNN pass per
 * batch use both cores far better than one frame at a time. The batch is
 * capped in bytes so that 4K frames do not multiply memory. 16 frames
 * took 6% less CPU than 8 on the 640x360 benchmark clip (the GEMMs' fixed
 * costs shared by more faces) for 32 MB more memory; 32 frames gained no
 * more and took 100 MB. */
#define BATCH_FRAMES 16
#define BATCH_BYTES (32u << 20)

/* Buffers for one batch of frames, grown to the largest batch seen. */
typedef struct {
    et_frame frames[BATCH_FRAMES];
    const et_frame *list[BATCH_FRAMES];
    int counts[BATCH_FRAMES], first[BATCH_FRAMES + 1]; /* faces of frame i: [first[i], first[i+1]) */
    et_face *faces;
    int *track_index;
    uint8_t *crops;
    et_observation *observations;
    float *probabilities, *embeddings, *features, *smoothed;
    float **states;
    int capacity, embedding_size, feature_size;
    et_face_cadence *cadence; /* which frames run the detector */
} batch_buffers;

static int buffers_reserve(batch_buffers *b, int count)
{
    if (count <= b->capacity)
        return ET_OK;
    int cap = b->capacity ? b->capacity : 64;
    while (cap < count)
        cap *= 2;
    et_face *faces = realloc(b->faces, (size_t)cap * sizeof *faces);
    if (faces)
        b->faces = faces;
    int *track_index = realloc(b->track_index, (size_t)cap * sizeof *track_index);
    if (track_index)
        b->track_index = track_index;
    uint8_t *crops = realloc(b->crops, (size_t)cap * CROP_PIXELS);
    if (crops)
        b->crops = crops;
    et_observation *observations = realloc(b->observations, (size_t)cap * sizeof *observations);
    if (observations)
        b->observations = observations;
    float *probabilities = realloc(b->probabilities, (size_t)cap * ET_EMOTIONS * sizeof(float));
    if (probabilities)
        b->probabilities = probabilities;
    float *smoothed = realloc(b->smoothed, (size_t)cap * ET_EMOTIONS * sizeof(float));
    if (smoothed)
        b->smoothed = smoothed;
    float *embeddings = realloc(b->embeddings, (size_t)cap * (b->embedding_size + 1) * sizeof(float));
    if (embeddings)
        b->embeddings = embeddings;
    float *features = realloc(b->features, (size_t)cap * (b->feature_size + 1) * sizeof(float));
    if (features)
        b->features = features;
    float **states = realloc(b->states, (size_t)cap * sizeof *states);
    if (states)
        b->states = states;
    if (!faces || !track_index || !crops || !observations || !probabilities || !smoothed || !embeddings || !features ||
        !states)
        return et_error_set(ET_ERR_NOMEM, "out of memory for %d faces", count);
    b->capacity = cap;
    return ET_OK;
}

static void buffers_free(batch_buffers *b)
{
    for (int i = 0; i < BATCH_FRAMES; i++)
        et_frame_free(&b->frames[i]);
    free(b->faces);
    free(b->track_index);
    free(b->crops);
    free(b->observations);
    free(b->probabilities);
    free(b->smoothed);
    free(b->embeddings);
    free(b->features);
    free(b->states);
    et_face_cadence_free(b->cadence);
}

/* Detects the faces of the batch's n frames into b->faces (frame i's at
 * first[i]), the detector on the cadence's key frames. */
static int detect_batch(et_face_cadence *cadence, et_face_detector *d, batch_buffers *b, int n)
{
    const et_face *faces;
    int rc = et_face_cadence_detect(cadence, d, b->list, n, &faces, b->first);
    if (rc == ET_OK)
        rc = buffers_reserve(b, b->first[n]);
    if (rc != ET_OK)
        return rc;
    if (b->first[n] > 0)
        memcpy(b->faces, faces, (size_t)b->first[n] * sizeof *faces);
    for (int i = 0; i < n; i++)
        b->counts[i] = b->first[i + 1] - b->first[i];
    return ET_OK;
}

/* Ends the media in the sink with info's status and the tracks so far
 * (with their persons when linker is set, and descriptors if asked). */
static int write_summaries(et_sink *sink, const et_media_info *info, const et_tracker *tracker,
                           et_person_linker *linker, int store_embeddings)
{
    et_track_summary *summaries = calloc((size_t)tracker->count + 1, sizeof *summaries);
    float *descriptors = linker && store_embeddings
                             ? malloc(((size_t)tracker->count + 1) * ET_FACE_EMBED_DIM * sizeof(float))
                             : NULL;
    if (!summaries || (linker && store_embeddings && !descriptors)) {
        free(summaries);
        free(descriptors);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", info->path);
    }
    for (int i = 0; i < tracker->count; i++) {
        const et_track *t = &tracker->tracks[i];
        et_track_summary *s = &summaries[i];
        float mean[ET_EMOTIONS];
        s->track = t->id;
        s->first_t = t->first_t;
        s->last_t = t->last_t;
        s->frames = t->frames;
        for (int k = 0; k < ET_EMOTIONS; k++) {
            s->mean_prob[k] = t->frames ? t->probability_sum[k] / t->frames : 0.0;
            mean[k] = (float)s->mean_prob[k];
        }
        s->emotion = et_argmax(mean, ET_EMOTIONS);
        s->person = linker ? et_person_linker_person(linker, i) : 0;
        float *d = descriptors ? descriptors + (size_t)i * ET_FACE_EMBED_DIM : NULL;
        if (d && et_person_linker_descriptor(linker, i, d)) {
            s->embedding = d;
            s->embedding_size = ET_FACE_EMBED_DIM;
        }
    }
    int rc = et_sink_end_media(sink, info, summaries, tracker->count);
    free(summaries);
    free(descriptors);
    return rc;
}

#define ALIGN_THREADS 8

typedef struct {
    const et_analyzer_options *o;
    batch_buffers *b;
    int n;
} align_job;

static int align_part(void *ctx, int t, int threads)
{
    align_job *j = ctx;
    batch_buffers *b = j->b;
    size_t begin, end;
    et_parallel_range((size_t)b->first[j->n], t, threads, &begin, &end);
    for (int i = 0; i < j->n; i++) {
        const et_frame *f = b->list[i];
        for (int k = b->first[i]; k < b->first[i + 1]; k++)
            if ((size_t)k >= begin && (size_t)k < end) {
                int rc = et_face_align_gray(f->rgb, f->width, f->height, f->stride, &b->faces[k], &j->o->align,
                                            b->crops + (size_t)k * CROP_PIXELS);
                if (rc != ET_OK)
                    return rc;
            }
    }
    return ET_OK;
}

/* Aligned crops of every face of the batch, faces shared out between threads. */
static int align_batch(const et_analyzer_options *o, batch_buffers *b, int n)
{
    align_job j = {o, b, n};
    return et_parallel_try(b->first[n] > 1 ? ALIGN_THREADS : 1, align_part, &j);
}

void et_analyzer_defaults(et_analyzer_options *o)
{
    memset(o, 0, sizeof *o);
    et_face_align_defaults(&o->align);
    o->max_gap = 1.0;
    o->image_fps = 1.0;
    o->label_margin = ET_LABEL_MARGIN;
    o->label_dwell = ET_LABEL_DWELL;
    o->lookahead = ET_LOOKAHEAD_WINDOW;
    o->person_threshold = ET_FACE_EMBED_THRESHOLD;
}

/* The detector's cadence: every frame of stills, photos and image
 * sequences (their frames need not be related), key frames of videos. */
static int detect_every(const et_analyzer_options *o, const et_media_item *item)
{
    if (o->stills || item->kind != ET_MEDIA_VIDEO)
        return 1;
    return o->detect_every > 0 ? o->detect_every : ET_DETECT_EVERY;
}

/* What the frames of one media item go through after the CNN. */
typedef struct {
    et_tracker *tracker;
    et_temporal *temporal;     /* NULL: none (the look-ahead, or stills) */
    et_lookahead *lookahead;   /* NULL: frames are reported at once */
    et_person_linker *linker;  /* NULL: persons not linked */
    et_sink *sink;
    const et_media_info *info;
    et_analyzer_stats *stats;
} media_run;

/* Reports one frame's final observations (after the temporal model or the
 * look-ahead): each track's label rule and totals, then the sink and the
 * observer. */
static int deliver_frame(const et_analyzer_options *o, const et_frame *frame, int analyzed,
                         et_observation *observations, const uint8_t *crops, int count, const media_run *run)
{
    int rc = ET_OK;
    double t0 = now();
    et_tracker *tracker = run->tracker;
    et_analyzer_stats *stats = run->stats;
    for (int j = 0; j < count && rc == ET_OK; j++) {
        et_observation *obs = &observations[j];
        et_track *track = &tracker->tracks[obs->track - 1]; /* ids count from 1 in order */
        float p[ET_EMOTIONS];
        for (int e = 0; e < ET_EMOTIONS; e++) {
            p[e] = (float)obs->prob[e];
            track->probability_sum[e] += obs->prob[e];
        }
        if (track->frames == 0)
            et_label_state_init(&track->label);
        obs->emotion = et_label_update(&track->label, p, obs->t, o->label_margin, o->label_dwell);
        track->frames++;
        stats->observations++;
        if (run->sink)
            rc = et_sink_write_observation(run->sink, obs);
    }
    stats->store += now() - t0;
    if (rc == ET_OK && o->on_frame) {
        et_frame_result r = {frame, observations, crops, count, ET_FACE_SIZE, analyzed, run->info};
        rc = o->on_frame(&r, o->on_frame_ctx);
    }
    return rc;
}

/* Hands on the frames the look-ahead has finished (all of them at the end). */
static int deliver_ready(const et_analyzer_options *o, int flush, const media_run *run)
{
    et_lookahead_frame ready;
    int got;
    while ((got = et_lookahead_pop(run->lookahead, flush, &ready)) == 1) {
        int rc = deliver_frame(o, ready.frame, ready.analyzed, ready.observations, ready.crops, ready.count, run);
        if (rc != ET_OK)
            return rc;
    }
    return got;
}

/* A frame --fps skips, for an observer of every frame: at once, or in its
 * place behind the frames the look-ahead still holds. */
static int pass_skipped(const et_analyzer_options *o, const et_frame *f, const media_run *run)
{
    if (!run->lookahead)
        return deliver_frame(o, f, 0, NULL, NULL, 0, run);
    int rc = et_lookahead_push_skipped(run->lookahead, f);
    return rc == ET_OK ? deliver_ready(o, 0, run) : rc;
}

/* Reads the next frame to analyse into f (time range and --fps, by
 * sampler when not NULL, applied): 1, 0 at the end, negative on error. */
static int read_next(const et_analyzer_options *o, et_media_reader *reader, et_frame *f, et_sampler *sampler,
                     double *last_t, const media_run *run)
{
    et_analyzer_stats *stats = run->stats;
    for (;;) {
        double t0 = now();
        int got = et_media_reader_read(reader, f);
        stats->decode += now() - t0;
        if (got <= 0)
            return got;
        stats->frames_decoded++;
        *last_t = f->t;
        if (f->t < o->start - 1e-9)
            continue;
        if (o->end > 0 && f->t > o->end + 1e-9)
            return 0;
        if (sampler && !et_sampler_keep(sampler, f->t)) {
            int rc = o->on_frame && o->on_frame_skipped ? pass_skipped(o, f, run) : ET_OK;
            if (rc != ET_OK)
                return rc;
            continue;
        }
        return 1;
    }
}

/* With --fps, the decoder learns the rule too: the frames it drops need
 * no pixels (and, where the codec allows, no decoding), unless on_frame
 * draws them. EMOTRACE_CONVERT_EVERY_FRAME=1 decodes and converts them all
 * anyway: the tests' reference for what the sampled frames must give. */
static int decoder_samples(const et_analyzer_options *o)
{
    const char *every = getenv("EMOTRACE_CONVERT_EVERY_FRAME");
    return o->max_fps > 0 && !(o->on_frame && o->on_frame_skipped) && !(every && *every == '1');
}

/* Runs the temporal model over frame i's faces (their CNN outputs are
 * ready) into b->smoothed; faces are in frame order, so states advance
 * exactly as if frames came one at a time. */
static int step_temporal(batch_buffers *b, int i, et_tracker *tracker, et_temporal *temporal,
                         et_analyzer_stats *stats)
{
    int first = b->first[i], count = b->counts[i];
    double t0 = now();
    for (int k = first; k < first + count; k++) {
        et_track *track = &tracker->tracks[b->track_index[k]];
        et_temporal_features(b->embeddings + (size_t)k * b->embedding_size, b->embedding_size,
                             b->probabilities + (size_t)k * ET_EMOTIONS, b->faces[k].score,
                             track->last_t - track->previous_t, track->frames == 0,
                             b->features + (size_t)k * b->feature_size);
        b->states[k] = track->state;
    }
    int rc = et_temporal_step(temporal, b->states + first, b->features + (size_t)first * b->feature_size, count,
                              b->smoothed + (size_t)first * ET_EMOTIONS);
    stats->temporal += now() - t0;
    return rc;
}

/* Links frame i's tracks to persons (new tracks, better chips). */
static int link_persons(batch_buffers *b, int i, const media_run *run)
{
    const et_frame *frame = b->list[i];
    int first = b->first[i];
    double t0 = now();
    int rc = et_person_linker_frame(run->linker, run->tracker, frame->rgb, frame->width, frame->height,
                                    frame->stride, b->faces + first, b->track_index + first, b->counts[i], frame->t,
                                    b->crops + (size_t)first * CROP_PIXELS, ET_FACE_SIZE);
    run->stats->persons += now() - t0;
    if (rc != ET_OK)
        return et_error_wrap(rc, "%s: frame %lld: ", run->info->path, (long long)frame->index);
    return ET_OK;
}

/* Tracks frame i of the batch and makes its observations: with the
 * temporal model's output, or the CNN's for the look-ahead to smooth. */
static int finish_frame(const et_analyzer_options *o, batch_buffers *b, int i, const media_run *run)
{
    const et_frame *frame = b->list[i];
    int first = b->first[i], count = b->counts[i], rc = ET_OK;
    const float *output = b->probabilities + (size_t)first * ET_EMOTIONS;
    if (count > 0 &&
        (rc = et_tracker_update(run->tracker, b->faces + first, count, frame->t, b->track_index + first)) != ET_OK)
        return rc;
    if (count > 0 && run->linker && (rc = link_persons(b, i, run)) != ET_OK)
        return rc;
    if (count > 0 && run->temporal) {
        if ((rc = step_temporal(b, i, run->tracker, run->temporal, run->stats)) != ET_OK)
            return rc;
        output = b->smoothed + (size_t)first * ET_EMOTIONS;
    }
    for (int j = 0; j < count; j++) {
        int k = first + j;
        const et_face *f = &b->faces[k];
        et_observation *obs = &b->observations[k];
        memset(obs, 0, sizeof *obs);
        obs->frame = frame->index;
        obs->t = frame->t;
        obs->track = run->tracker->tracks[b->track_index[k]].id;
        obs->person = run->linker ? et_person_linker_person(run->linker, b->track_index[k]) : 0;
        obs->x = f->x0;
        obs->y = f->y0;
        obs->w = f->x1 - f->x0;
        obs->h = f->y1 - f->y0;
        obs->score = f->score;
        for (int e = 0; e < ET_EMOTIONS; e++)
            obs->prob[e] = output[(size_t)j * ET_EMOTIONS + e];
    }
    const uint8_t *crops = b->crops + (size_t)first * CROP_PIXELS;
    if (!run->lookahead)
        return deliver_frame(o, frame, 1, b->observations + first, crops, count, run);
    if ((rc = et_lookahead_push(run->lookahead, frame, b->observations + first, crops, count)) != ET_OK)
        return rc;
    return deliver_ready(o, 0, run);
}

/* Frees what et_analyze_media holds for an item, done or failed (b may be
 * NULL). */
static void item_free(et_person_linker *linker, et_tracker *tracker, et_lookahead *lookahead, batch_buffers *b,
                      et_media_reader *reader)
{
    et_person_linker_free(linker);
    et_tracker_free(tracker);
    et_lookahead_free(lookahead);
    if (b)
        buffers_free(b);
    free(b);
    et_media_reader_close(reader);
}

int et_analyze_media(const et_analyzer_options *o, const et_media_item *item, et_media_info *info, et_sink *sink,
                     et_analyzer_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    et_media_reader reader;
    et_video_options video_options = {0};
    video_options.threads = o->decoder_threads;
    video_options.input_format = o->input_format;
    video_options.input_options = o->input_options;
    et_sampler sampler;
    if (o->max_fps > 0)
        et_sampler_init(&sampler, o->start, o->max_fps);
    if (decoder_samples(o))
        video_options.sampler = &sampler;
    int live = item->kind == ET_MEDIA_STREAM;
    et_live_options live_options = {o->live_policy, 0, o->finish};
    int rc = et_media_reader_open_live(&reader, item, o->image_fps, &video_options, &live_options);
    if (rc != ET_OK) {
        char message[1024];
        snprintf(message, sizeof message, "%s", et_error_message());
        info->status = ET_MEDIA_FAILED;
        if (sink)
            et_sink_fail_media(sink, info, message);
        return et_error_set(rc, "%s", message);
    }
    info->duration = reader.duration;
    info->fps = reader.fps;
    info->width = reader.width;
    info->height = reader.height;
    info->frames_analyzed = 0;
    info->frames_dropped = 0;
    info->status = ET_MEDIA_DONE;
    info->error = NULL;
    info->persons = !o->embedder ? ET_PERSONS_NONE : o->persons_across ? ET_PERSONS_RUN : ET_PERSONS_FILE;
    et_person_linker *linker = NULL;

    /* Recorded media are smoothed with the look-ahead instead of the causal
     * temporal model (a stream cannot wait for its future); an observer of
     * every frame (an annotated video) gets them from the look-ahead too,
     * pixels kept, with the frames --fps skips in their places. */
    int look_ahead = o->temporal && o->lookahead > 0 && !live && !o->stills;
    et_temporal *temporal = o->stills || look_ahead ? NULL : o->temporal;
    et_lookahead *lookahead = NULL;
    batch_buffers *b = calloc(1, sizeof *b);
    et_tracker tracker;
    et_tracker_init(&tracker, o->max_gap, temporal ? et_temporal_state_size(temporal) : 0);
    media_run run = {&tracker, temporal, NULL, NULL, sink, info, stats};
    double started = now(), last_t = 0.0, t0;

    int max_batch = o->batch_frames > 0 && o->batch_frames < BATCH_FRAMES ? o->batch_frames : BATCH_FRAMES;
    /* Frames --fps skips go to the observer as they are read: one frame at
     * a time keeps them in order with the analysed ones. A live source is
     * analysed as it arrives (a batch would add its length to the delay). */
    if ((o->on_frame && o->on_frame_skipped && o->max_fps > 0) || live)
        max_batch = 1;
    int ended = 0, begun = 0;

    if (!b) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", item->path);
        goto fail;
    }
    if (o->embedder &&
        (rc = et_person_linker_create(&linker, o->embedder, o->persons_across, o->person_threshold)) != ET_OK)
        goto fail;
    run.linker = linker;
    b->embedding_size = o->classifier->embedding_size;
    b->feature_size = temporal ? et_temporal_feature_size(temporal) : 0;
    if ((rc = buffers_reserve(b, 64)) != ET_OK ||
        (rc = et_face_cadence_create(&b->cadence, detect_every(o, item), ET_DETECT_MAX_INTERVAL)) != ET_OK)
        goto fail;
    if (look_ahead && (rc = et_lookahead_create(&lookahead, o->lookahead, o->on_frame ? CROP_PIXELS : 0,
                                              o->on_frame && o->on_frame_skipped)) != ET_OK)
        goto fail;
    run.lookahead = lookahead;
    if (sink) {
        et_sink_set_commit_interval(sink, live ? ET_LIVE_COMMIT_SECONDS : 0);
        if ((rc = et_sink_begin_media(sink, info)) != ET_OK)
            goto fail;
        begun = 1;
    }
    while (!ended) {
        /* Read a batch. */
        int n = 0;
        size_t bytes = 0;
        while (n < max_batch && bytes < BATCH_BYTES) {
            if (o->stop && *o->stop) {
                rc = et_error_set(ET_ERR_INTERRUPTED, "%s: interrupted", item->path);
                goto fail;
            }
            int got = read_next(o, &reader, &b->frames[n], o->max_fps > 0 ? &sampler : NULL, &last_t, &run);
            if (got < 0) {
                rc = got;
                goto fail;
            }
            if (got == 0) {
                ended = 1;
                break;
            }
            b->list[n] = &b->frames[n];
            bytes += (size_t)b->frames[n].stride * b->frames[n].height;
            if (!info->width) {
                info->width = b->frames[n].width;
                info->height = b->frames[n].height;
            }
            n++;
        }
        if (n == 0)
            break;
        stats->frames_analyzed += n;
        info->frames_analyzed += n;

        t0 = now();
        rc = detect_batch(b->cadence, o->detector, b, n);
        stats->detect += now() - t0;
        if (rc != ET_OK) {
            rc = et_error_wrap(rc, "%s: frame %lld: ", item->path, (long long)b->frames[0].index);
            goto fail;
        }
        int total = b->first[n];
        t0 = now();
        rc = align_batch(o, b, n);
        stats->align += now() - t0;
        if (rc != ET_OK)
            goto fail;
        t0 = now();
        rc = et_emotion_classifier_run(o->classifier, b->crops, total, b->probabilities,
                                       temporal ? b->embeddings : NULL);
        stats->cnn += now() - t0;
        if (rc != ET_OK)
            goto fail;
        for (int i = 0; i < n; i++) {
            if ((rc = finish_frame(o, b, i, &run)) != ET_OK)
                goto fail;
            info->frames_dropped = live ? et_media_reader_dropped(&reader) : 0;
            if (sink && (rc = et_sink_checkpoint(sink, info)) != ET_OK)
                goto fail;
            if (o->progress) {
                et_progress p = {b->frames[i].t, info->duration, stats->frames_analyzed - n + i + 1, now() - started};
                o->progress(&p, o->progress_ctx);
            }
        }
    }
    if (lookahead && (rc = deliver_ready(o, 1, &run)) != ET_OK)
        goto fail;
    stats->frames_dropped = info->frames_dropped = et_media_reader_dropped(&reader);
    et_face_cadence_counts(b->cadence, &stats->frames_detected, &stats->frames_interpolated);
    if (stats->frames_decoded == 0 && item->kind == ET_MEDIA_VIDEO) {
        rc = et_error_set(ET_ERR_FORMAT, "%s: no frame could be decoded", item->path);
        goto fail;
    }
    if (!info->duration && stats->frames_decoded)
        info->duration = last_t;
    t0 = now();
    rc = linker ? et_person_linker_finish(linker) : ET_OK;
    stats->persons += now() - t0;
    if (rc != ET_OK)
        goto fail;
    t0 = now();
    stats->tracks = tracker.count;
    rc = sink ? write_summaries(sink, info, &tracker, linker, o->store_embeddings) : ET_OK;
    stats->store += now() - t0;
    if (rc != ET_OK)
        goto fail;
    item_free(linker, &tracker, lookahead, b, &reader);
    return ET_OK;
fail: {
    char message[1024];
    snprintf(message, sizeof message, "%s", et_error_message());
    info->status = ET_MEDIA_FAILED;
    info->error = message;
    /* The sink decides what a failed item keeps: a file nothing (rolled
     * back), a live source committed per interval all it wrote, with the
     * tracks so far; so it gets them while it can still take them (after
     * its own error it takes nothing more). */
    if (sink && begun && !et_sink_error(sink)) {
        if (live) {
            info->frames_dropped = et_media_reader_dropped(&reader);
            if (!info->duration && stats->frames_decoded)
                info->duration = last_t;
        }
        if ((linker && et_person_linker_finish(linker) != ET_OK) ||
            (write_summaries(sink, info, &tracker, linker, o->store_embeddings) != ET_OK && !et_sink_error(sink)))
            et_sink_fail_media(sink, info, message); /* no memory for the summaries */
    } else if (sink) {
        et_sink_fail_media(sink, info, message);
    }
    item_free(linker, &tracker, lookahead, b, &reader);
    info->error = NULL;
    return et_error_set(rc, "%s", message);
}
}
