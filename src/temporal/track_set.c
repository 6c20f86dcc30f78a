/* Building, saving and loading precomputed synthetic tracks. */
#include "emotrace/track_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/safetensors.h"

#define FACE_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)
#define CNN_BATCH 128
#define FORMAT "emotrace-tracks-1"

void et_track_set_free(et_track_set *set)
{
    if (!set)
        return;
    free(set->start);
    free(set->features);
    free(set->labels);
    free(set->times);
    free(set->targets);
    memset(set, 0, sizeof *set);
}

static void one_hot_targets(float *targets, const int *labels, int frames)
{
    for (int i = 0; i < frames; i++)
        for (int k = 0; k < ET_EMOTIONS; k++)
            targets[(size_t)i * ET_EMOTIONS + k] = k == labels[i] ? 1.0f : 0.0f;
}

int et_track_set_append(et_track_set *set, const et_track_set *more, int repeat)
{
    if (set->tracks > 0 && set->feature_size != more->feature_size)
        return et_error_set(ET_ERR_USAGE, "tracks: features of %d and %d floats cannot be mixed", set->feature_size,
                            more->feature_size);
    if (set->tracks == 0) {
        set->embedding_size = more->embedding_size;
        set->feature_size = more->feature_size;
    }
    size_t frames = (size_t)set->frames + (size_t)more->frames * (size_t)repeat;
    size_t tracks = (size_t)set->tracks + (size_t)more->tracks * (size_t)repeat;
    if (frames >= (1u << 24))
        return et_error_set(ET_ERR_USAGE, "tracks: %zu frames are too many for one set", frames);
    int with_targets = set->targets || more->targets;
    float *features = realloc(set->features, frames * (size_t)set->feature_size * sizeof(float));
    if (features)
        set->features = features;
    int *labels = realloc(set->labels, frames * sizeof(int));
    if (labels)
        set->labels = labels;
    float *times = realloc(set->times, frames * sizeof(float));
    if (times)
        set->times = times;
    int *start = realloc(set->start, (tracks + 1) * sizeof(int));
    if (start)
        set->start = start;
    float *targets = with_targets ? realloc(set->targets, frames * ET_EMOTIONS * sizeof(float)) : NULL;
    if (targets) {
        if (!set->targets)
            one_hot_targets(targets, set->labels, set->frames);
        set->targets = targets;
    }
    if (!features || !labels || !times || !start || (with_targets && !targets))
        return et_error_set(ET_ERR_NOMEM, "tracks: out of memory for %zu frames", frames);
    if (set->tracks == 0)
        set->start[0] = 0;
    for (int r = 0; r < repeat; r++) {
        size_t at = (size_t)set->frames;
        memcpy(set->features + at * set->feature_size, more->features,
               (size_t)more->frames * set->feature_size * sizeof(float));
        memcpy(set->labels + at, more->labels, (size_t)more->frames * sizeof(int));
        memcpy(set->times + at, more->times, (size_t)more->frames * sizeof(float));
        if (more->targets && with_targets)
            memcpy(set->targets + at * ET_EMOTIONS, more->targets, (size_t)more->frames * ET_EMOTIONS * sizeof(float));
        else if (with_targets)
            one_hot_targets(set->targets + at * ET_EMOTIONS, more->labels, more->frames);
        for (int t = 1; t <= more->tracks; t++)
            set->start[set->tracks + t] = (int)at + more->start[t];
        set->frames += more->frames;
        set->tracks += more->tracks;
    }
    return ET_OK;
}

/* Grows the per-frame arrays to hold at least frames. */
static int reserve(et_track_set *set, int frames, int *capacity)
{
    if (frames <= *capacity)
        return ET_OK;
    int cap = *capacity ? *capacity : 4096;
    while (cap < frames)
        cap *= 2;
    float *features = realloc(set->features, (size_t)cap * set->feature_size * sizeof(float));
    if (features)
        set->features = features;
    int *labels = realloc(set->labels, (size_t)cap * sizeof(int));
    if (labels)
        set->labels = labels;
    float *times = realloc(set->times, (size_t)cap * sizeof(float));
    if (times)
        set->times = times;
    if (!features || !labels || !times)
        return et_error_set(ET_ERR_NOMEM, "tracks: out of memory for %d frames", frames);
    *capacity = cap;
    return ET_OK;
}

int et_track_set_build(et_track_set *set, const et_track_synth *s, int first, int count, et_emotion_classifier *cnn,
                       int progress)
{
    return et_track_set_build_planned(set, s, et_track_synth_plan, first, count, cnn, progress);
}

int et_track_set_build_planned(et_track_set *set, const et_track_synth *s, et_track_plan_fn plan, int first,
                               int count, et_emotion_classifier *cnn, int progress)
{
    memset(set, 0, sizeof *set);
    if (cnn->embedding_layer < 0)
        return et_error_set(ET_ERR_USAGE, "%s: the CNN has no '%s' layer", cnn->path, ET_EMBEDDING_LAYER);
    set->embedding_size = cnn->embedding_size;
    set->feature_size = cnn->embedding_size + ET_TEMPORAL_EXTRA_FEATURES;
    int capacity = 0, rc = ET_OK;
    uint8_t *crops = malloc((size_t)CNN_BATCH * FACE_PIXELS);
    float *probs = malloc((size_t)CNN_BATCH * ET_EMOTIONS * sizeof(float));
    float *emb = malloc((size_t)CNN_BATCH * cnn->embedding_size * sizeof(float));
    set->start = malloc((size_t)(count + 1) * sizeof(int));
    if (!crops || !probs || !emb || !set->start) {
        rc = et_error_set(ET_ERR_NOMEM, "tracks: out of memory");
        goto done;
    }
    set->start[0] = 0;
    for (int t = 0; t < count && rc == ET_OK; t++) {
        et_synth_track track;
        if ((rc = plan(s, first + t, &track)) != ET_OK)
            break;
        rc = reserve(set, set->frames + track.count, &capacity);
        for (int f0 = 0; f0 < track.count && rc == ET_OK; f0 += CNN_BATCH) {
            int n = track.count - f0 < CNN_BATCH ? track.count - f0 : CNN_BATCH;
            for (int i = 0; i < n; i++)
                et_track_synth_render(s, &track.frames[f0 + i], crops + (size_t)i * FACE_PIXELS);
            if ((rc = et_emotion_classifier_run(cnn, crops, n, probs, emb)) != ET_OK)
                break;
            for (int i = 0; i < n; i++) {
                const et_synth_frame *f = &track.frames[f0 + i];
                int j = f0 + i, row = set->frames + j;
                double dt = j ? f->time - track.frames[j - 1].time : 0.0;
                et_temporal_features(emb + (size_t)i * cnn->embedding_size, cnn->embedding_size,
                                     probs + (size_t)i * ET_EMOTIONS, f->detector_score, dt, j == 0,
                                     set->features + (size_t)row * set->feature_size);
                set->labels[row] = f->label;
                set->times[row] = (float)f->time;
            }
        }
        set->frames += track.count;
        set->start[t + 1] = set->frames;
        set->tracks = t + 1;
        et_synth_track_free(&track);
        if (progress && (t + 1) % 200 == 0)
            fprintf(stderr, "  %d/%d tracks, %d frames\n", t + 1, count, set->frames);
    }
done:
    free(crops);
    free(probs);
    free(emb);
    if (rc != ET_OK)
        et_track_set_free(set);
    return rc;
}

int et_track_set_save(const et_track_set *set, const char *path, const char *const *metadata)
{
    /* Integers go as float32: exact below 2^24 frames. */
    if (set->frames >= (1 << 24))
        return et_error_set(ET_ERR_USAGE, "%s: %d frames are too many for one track file", path, set->frames);
    float *ints = malloc(((size_t)set->frames + set->tracks + 1) * sizeof(float));
    if (!ints)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    float *labels = ints, *start = ints + set->frames;
    for (int i = 0; i < set->frames; i++)
        labels[i] = (float)set->labels[i];
    for (int t = 0; t <= set->tracks; t++)
        start[t] = (float)set->start[t];
    et_st_write_tensor tensors[5] = {
        {"features", set->features, 2, {set->frames, set->feature_size}},
        {"labels", labels, 1, {set->frames}},
        {"times", set->times, 1, {set->frames}},
        {"track_start", start, 1, {set->tracks + 1}},
        {"targets", set->targets, 2, {set->frames, ET_EMOTIONS}},
    };
    char embedding[32];
    snprintf(embedding, sizeof embedding, "%d", set->embedding_size);
    int n = 0;
    while (metadata && metadata[2 * n])
        n++;
    const char **meta = malloc((size_t)(2 * n + 5) * sizeof *meta);
    int rc;
    if (!meta) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    } else {
        meta[0] = "format";
        meta[1] = FORMAT;
        meta[2] = "embedding_size";
        meta[3] = embedding;
        for (int i = 0; i < 2 * n; i++)
            meta[4 + i] = metadata[i];
        meta[4 + 2 * n] = NULL;
        rc = et_safetensors_save(path, tensors, set->targets ? 5 : 4, meta);
    }
    free(meta);
    free(ints);
    return rc;
}

/* Checks a tensor's shape: dims values, 0 for "any". */
static int check_shape(const et_safetensors *st, const char *path, const char *name, int ndim, int64_t d0,
                       int64_t d1, int64_t *got0)
{
    const et_st_tensor *t = et_safetensors_find(st, name);
    if (!t || t->ndim != ndim || (d0 && t->shape[0] != d0) || (ndim > 1 && t->shape[1] != d1) || t->shape[0] < 1)
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' is missing or has the wrong shape", path, name);
    if (got0)
        *got0 = t->shape[0];
    return ET_OK;
}

int et_track_set_load(et_track_set *set, const char *path, const char *const *expect)
{
    memset(set, 0, sizeof *set);
    et_safetensors st;
    int rc = et_safetensors_load(&st, path);
    if (rc != ET_OK)
        return rc;
    const char *format = et_safetensors_meta(&st, "format"), *emb = et_safetensors_meta(&st, "embedding_size");
    if (!format || strcmp(format, FORMAT) != 0 || !emb || atoi(emb) < 1) {
        et_safetensors_free(&st);
        return et_error_set(ET_ERR_FORMAT, "%s: not a track file (format %s)", path, FORMAT);
    }
    for (int i = 0; expect && expect[i]; i += 2) {
        const char *have = et_safetensors_meta(&st, expect[i]);
        if (!have || strcmp(have, expect[i + 1]) != 0) {
            rc = et_error_set(ET_ERR_FORMAT, "%s: made with %s '%s', not '%s'", path, expect[i], have ? have : "",
                              expect[i + 1]);
            et_safetensors_free(&st);
            return rc;
        }
    }
    set->embedding_size = atoi(emb);
    set->feature_size = set->embedding_size + ET_TEMPORAL_EXTRA_FEATURES;
    int64_t frames = 0, starts = 0;
    if ((rc = check_shape(&st, path, "features", 2, 0, set->feature_size, &frames)) != ET_OK ||
        (rc = check_shape(&st, path, "labels", 1, frames, 0, NULL)) != ET_OK ||
        (rc = check_shape(&st, path, "times", 1, frames, 0, NULL)) != ET_OK ||
        (rc = check_shape(&st, path, "track_start", 1, 0, 0, &starts)) != ET_OK || starts < 2 ||
        frames >= (1 << 24)) {
        et_safetensors_free(&st);
        return rc != ET_OK ? rc : et_error_set(ET_ERR_FORMAT, "%s: no tracks", path);
    }
    set->frames = (int)frames;
    set->tracks = (int)starts - 1;
    float *tmp = malloc((size_t)(frames > starts ? frames : starts) * sizeof(float));
    set->features = malloc((size_t)frames * set->feature_size * sizeof(float));
    set->labels = malloc((size_t)frames * sizeof(int));
    set->times = malloc((size_t)frames * sizeof(float));
    set->start = malloc((size_t)starts * sizeof(int));
    if (!tmp || !set->features || !set->labels || !set->times || !set->start)
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    if (rc == ET_OK)
        rc = et_safetensors_load_f32(&st, "features", set->features, (size_t)frames * set->feature_size);
    if (rc == ET_OK)
        rc = et_safetensors_load_f32(&st, "times", set->times, (size_t)frames);
    if (rc == ET_OK && (rc = et_safetensors_load_f32(&st, "labels", tmp, (size_t)frames)) == ET_OK)
        for (int i = 0; i < set->frames && rc == ET_OK; i++) {
            set->labels[i] = (int)tmp[i];
            if (!(tmp[i] >= 0 && tmp[i] < ET_EMOTIONS) || (float)set->labels[i] != tmp[i])
                rc = et_error_set(ET_ERR_FORMAT, "%s: frame %d has label %g", path, i, tmp[i]);
        }
    if (rc == ET_OK && (rc = et_safetensors_load_f32(&st, "track_start", tmp, (size_t)starts)) == ET_OK)
        for (int t = 0; t < starts && rc == ET_OK; t++) {
            set->start[t] = (int)tmp[t];
            /* Offsets start at 0, never decrease and end at the frame count. */
            if ((t == 0 && tmp[t] != 0.0f) || (t > 0 && !(tmp[t] >= tmp[t - 1])) ||
                (t == starts - 1 && tmp[t] != (float)frames) || (float)set->start[t] != tmp[t])
                rc = et_error_set(ET_ERR_FORMAT, "%s: track offsets are inconsistent at track %d", path, t);
        }
    if (rc == ET_OK && et_safetensors_find(&st, "targets") &&
        (rc = check_shape(&st, path, "targets", 2, frames, ET_EMOTIONS, NULL)) == ET_OK) {
        if (!(set->targets = malloc((size_t)frames * ET_EMOTIONS * sizeof(float))))
            rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        else
            rc = et_safetensors_load_f32(&st, "targets", set->targets, (size_t)frames * ET_EMOTIONS);
    }
    free(tmp);
    et_safetensors_free(&st);
    if (rc != ET_OK)
        et_track_set_free(set);
    return rc;
}
