#include "emotrace/analyzer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emotrace/error.h"
#include "emotrace/media_reader.h"
#include "emotrace/metrics.h"
#include "emotrace/tracker.h"

#define CROP_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Per-frame buffers, grown to the largest number of faces seen. */
typedef struct {
    et_face *faces;
    int *track_index;
    uint8_t *crops;
    et_observation *observations;
    float *probabilities, *embeddings, *features, *smoothed;
    float **states;
    int capacity, embedding_size, feature_size;
} frame_buffers;

static int buffers_reserve(frame_buffers *b, int count)
{
    if (count <= b->capacity)
        return ET_OK;
    int cap = b->capacity ? b->capacity : 16;
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
    if (!faces || !track_index || !crops || !observations || !probabilities || !smoothed || !embeddings || !features || !states)
        return et_error_set(ET_ERR_NOMEM, "out of memory for %d faces", count);
    b->capacity = cap;
    return ET_OK;
}

static void buffers_free(frame_buffers *b)
{
    free(b->faces);
    free(b->track_index);
    free(b->crops);
    free(b->observations);
    free(b->probabilities);
    free(b->smoothed);
    free(b->embeddings);
    free(b->features);
    free(b->states);
}

/* Detects all faces, growing the buffers when a frame holds more than fit. */
static int detect_all(et_face_detector *d, const et_frame *frame, frame_buffers *b)
{
    int found = et_face_detect_frame(d, frame, b->faces, b->capacity);
    if (found > b->capacity) {
        int rc = buffers_reserve(b, found);
        if (rc != ET_OK)
            return rc;
        found = et_face_detect_frame(d, frame, b->faces, b->capacity);
    }
    return found;
}

static int write_summaries(et_sink *sink, const et_media_info *info, const et_tracker *tracker)
{
    et_track_summary *summaries = calloc((size_t)tracker->count + 1, sizeof *summaries);
    if (!summaries)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", info->path);
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
    }
    int rc = et_sink_end_media(sink, info, summaries, tracker->count);
    free(summaries);
    return rc;
}

void et_analyzer_defaults(et_analyzer_options *o)
{
    memset(o, 0, sizeof *o);
    et_face_align_defaults(&o->align);
    o->max_gap = 1.0;
    o->image_fps = 1.0;
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

    et_temporal *temporal = o->stills ? NULL : o->temporal;
    frame_buffers b = {0};
    b.embedding_size = o->classifier->embedding_size;
    b.feature_size = temporal ? et_temporal_feature_size(temporal) : 0;
    et_tracker tracker;
    et_tracker_init(&tracker, o->max_gap, temporal ? et_temporal_state_size(temporal) : 0);
    et_frame frame = {0};
    double next_t = o->start, started = now(), t0 = now();

    if ((rc = buffers_reserve(&b, 16)) != ET_OK)
        goto fail;
    if (sink) {
        et_sink_set_commit_interval(sink, live ? ET_LIVE_COMMIT_SECONDS : 0);
        if ((rc = et_sink_begin_media(sink, info)) != ET_OK)
            goto fail;
    }
    for (;;) {
        if (o->stop && *o->stop) {
            rc = et_error_set(ET_ERR_INTERRUPTED, "%s: interrupted", item->path);
            goto fail;
        }
        t0 = now();
        int got = et_media_reader_read(&reader, &frame);
        stats->decode += now() - t0;
        if (got < 0) {
            rc = got;
            goto fail;
        }
        if (got == 0)
            break;
        stats->frames_decoded++;
        if (frame.t < o->start - 1e-9)
            continue;
        if (o->end > 0 && frame.t > o->end + 1e-9)
            break;
        /* --fps: keep a frame once its time reaches the next slot; the small
         * tolerance keeps exact multiples (30 fps -> 10 fps) regular. */
        if (o->max_fps > 0) {
            if (frame.t < next_t - 1e-6)
                continue;
            next_t += 1.0 / o->max_fps;
            if (next_t < frame.t)
                next_t = frame.t + 1.0 / o->max_fps;
        }
        stats->frames_analyzed++;
        info->frames_analyzed++;
        if (!info->width) {
            info->width = frame.width;
            info->height = frame.height;
        }

        t0 = now();
        int count = detect_all(o->detector, &frame, &b);
        stats->detect += now() - t0;
        if (count < 0) {
            rc = et_error_wrap(count, "%s: frame %lld: ", item->path, (long long)frame.index);
            goto fail;
        }
        if (count > 0) {
            if ((rc = et_tracker_update(&tracker, b.faces, count, frame.t, b.track_index)) != ET_OK)
                goto fail;
            t0 = now();
            for (int i = 0; i < count; i++)
                if ((rc = et_face_align_gray(frame.rgb, frame.width, frame.height, frame.stride, &b.faces[i], &o->align,
                                             b.crops + (size_t)i * CROP_PIXELS)) != ET_OK)
                    goto fail;
            stats->align += now() - t0;
            t0 = now();
            rc = et_emotion_classifier_run(o->classifier, b.crops, count, b.probabilities,
                                           temporal ? b.embeddings : NULL);
            stats->cnn += now() - t0;
            if (rc != ET_OK)
                goto fail;
            const float *output = b.probabilities;
            if (temporal) {
                t0 = now();
                for (int i = 0; i < count; i++) {
                    et_track *track = &tracker.tracks[b.track_index[i]];
                    et_temporal_features(b.embeddings + (size_t)i * b.embedding_size, b.embedding_size,
                                         b.probabilities + (size_t)i * ET_EMOTIONS, b.faces[i].score,
                                         track->last_t - track->previous_t, track->frames == 0,
                                         b.features + (size_t)i * b.feature_size);
                    b.states[i] = track->state;
                }
                rc = et_temporal_step(temporal, b.states, b.features, count, b.smoothed);
                stats->temporal += now() - t0;
                if (rc != ET_OK)
                    goto fail;
                output = b.smoothed;
            }
            t0 = now();
            for (int i = 0; i < count; i++) {
                et_track *track = &tracker.tracks[b.track_index[i]];
                const float *p = output + (size_t)i * ET_EMOTIONS;
                const et_face *f = &b.faces[i];
                et_observation obs;
                memset(&obs, 0, sizeof obs);
                obs.frame = frame.index;
                obs.t = frame.t;
                obs.track = track->id;
                obs.x = f->x0;
                obs.y = f->y0;
                obs.w = f->x1 - f->x0;
                obs.h = f->y1 - f->y0;
                obs.score = f->score;
                for (int k = 0; k < ET_EMOTIONS; k++) {
                    obs.prob[k] = p[k];
                    track->probability_sum[k] += p[k];
                }
                obs.emotion = et_argmax(p, ET_EMOTIONS);
                track->frames++;
                stats->observations++;
                b.observations[i] = obs;
                if (sink && (rc = et_sink_write_observation(sink, &obs)) != ET_OK) {
                    stats->store += now() - t0;
                    goto fail;
                }
            }
            stats->store += now() - t0;
        }
        info->frames_dropped = live ? et_media_reader_dropped(&reader) : 0;
        if (sink && (rc = et_sink_checkpoint(sink, info)) != ET_OK)
            goto fail;
        if (o->on_frame) {
            et_frame_result r = {&frame, b.observations, b.crops, count, ET_FACE_SIZE};
            if ((rc = o->on_frame(&r, o->on_frame_ctx)) != ET_OK)
                goto fail;
        }
        if (o->progress) {
            et_progress p = {frame.t, info->duration, stats->frames_analyzed, now() - started};
            o->progress(&p, o->progress_ctx);
        }
    }
    stats->frames_dropped = info->frames_dropped = et_media_reader_dropped(&reader);
    if (stats->frames_decoded == 0 && item->kind == ET_MEDIA_VIDEO) {
        rc = et_error_set(ET_ERR_FORMAT, "%s: no frame could be decoded", item->path);
        goto fail;
    }
    if (!info->duration && stats->frames_decoded)
        info->duration = frame.t;
    t0 = now();
    stats->tracks = tracker.count;
    rc = sink ? write_summaries(sink, info, &tracker) : ET_OK;
    stats->store += now() - t0;
    if (rc != ET_OK)
        goto fail;
    et_tracker_free(&tracker);
    et_frame_free(&frame);
    buffers_free(&b);
    et_media_reader_close(&reader);
    return ET_OK;
fail: {
    char message[1024];
    snprintf(message, sizeof message, "%s", et_error_message());
    info->status = ET_MEDIA_FAILED;
    info->error = message;
    /* The sink rolls back whatever this item wrote. */
    if (sink)
        et_sink_fail_media(sink, info, message);
    et_tracker_free(&tracker);
    et_frame_free(&frame);
    buffers_free(&b);
    et_media_reader_close(&reader);
    info->error = NULL;
    return et_error_set(rc, "%s", message);
}
}
