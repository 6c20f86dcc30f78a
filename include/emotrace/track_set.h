/* A set of synthetic tracks turned into temporal-model inputs: every frame
 * rendered (track_synth.h) and run through the frozen emotion CNN once, so
 * that training and evaluating the LSTM never touch pixels again. Saved as
 * .safetensors (features, labels, times, track offsets) with metadata that
 * says how it was made (CNN hash, generator settings, seed, rows). */
#ifndef EMOTRACE_TRACK_SET_H
#define EMOTRACE_TRACK_SET_H

#include "emotrace/emotion_classifier.h"
#include "emotrace/temporal.h"
#include "emotrace/track_synth.h"

typedef struct {
    int tracks, frames;
    int embedding_size, feature_size; /* feature_size = embedding + ET_TEMPORAL_EXTRA_FEATURES */
    int *start;      /* tracks + 1 offsets: track t is frames start[t] .. start[t+1]-1 */
    float *features; /* frames x feature_size (et_temporal_features layout) */
    int *labels;     /* frames: true emotion */
    float *times;    /* frames: seconds since the track's first frame */
    /* frames x 7 target distributions where there is no true label (real
     * tracks: labels then hold their argmax), or NULL: the labels are the
     * targets. Not saved: only synthetic sets are cached. */
    float *targets;
} et_track_set;

/* Plans, renders and classifies tracks first .. first+count-1 of s.
 * progress: print a line to stderr every few hundred tracks. */
int et_track_set_build(et_track_set *set, const et_track_synth *s, int first, int count, et_emotion_classifier *cnn,
                       int progress);
/* The same with another planner (e.g. et_track_onset_plan). */
typedef int (*et_track_plan_fn)(const et_track_synth *s, int index, et_synth_track *track);
int et_track_set_build_planned(et_track_set *set, const et_track_synth *s, et_track_plan_fn plan, int first,
                               int count, et_emotion_classifier *cnn, int progress);
/* metadata: NULL-terminated key/value pairs stored with the set. */
int et_track_set_save(const et_track_set *set, const char *path, const char *const *metadata);
/* expect: NULL or NULL-terminated key/value pairs the file's metadata must
 * hold; a mismatch is ET_ERR_FORMAT naming the key (e.g. another CNN). */
int et_track_set_load(et_track_set *set, const char *path, const char *const *expect);
void et_track_set_free(et_track_set *set);
/* Appends repeat copies of every track of more to set (same feature size);
 * where only one of them has targets, the other's labels become one-hot
 * targets. */
int et_track_set_append(et_track_set *set, const et_track_set *more, int repeat);

/* How to make a set from FER2013 rows, and where to keep it. */
typedef struct {
    const char *data;       /* FER2013 CSV (gzip or plain) */
    const char *usage;      /* rows to draw faces from: "Training", "PublicTest" */
    et_track_synth_options synth;
    uint64_t seed;
    int tracks;
    const char *cache;      /* reused when made the same way, else (re)written; or NULL */
    int progress;
} et_track_set_recipe;

/* Loads recipe->cache when its metadata matches (CNN hash, rows, generator
 * settings, seed, count); otherwise loads the rows, builds the tracks with
 * cnn and saves them to the cache. The generator is seeded from both seed
 * and usage, so training and validation tracks never share their timing. */
int et_track_set_make(et_track_set *set, const et_track_set_recipe *recipe, et_emotion_classifier *cnn,
                      const char *cnn_sha256);

/* Runs m over every track of set as the pipeline does: one
 * et_temporal_step per frame position for all tracks that have a frame
 * there, each track's state kept between steps. probabilities: frames x 7. */
int et_temporal_stream_set(et_temporal *m, const et_track_set *set, float *probabilities);

static inline const float *et_track_set_cnn_probabilities(const et_track_set *set, int frame)
{
    return set->features + (size_t)frame * set->feature_size + set->embedding_size;
}

#endif
