/* Real face tracks as temporal-model training data (see real_tracks.h). */
#include "emotrace/real_tracks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/emotion_scores.h"
#include "emotrace/error.h"

#define FACE_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)
#define CNN_BATCH 128

void et_real_tracks_defaults(et_real_tracks_options *o)
{
    memset(o, 0, sizeof *o);
    et_analyzer_defaults(&o->analyzer);
    o->min_observations = 15;
    o->sigma = 0.5;
}

void et_real_tracks_smooth(const float *probabilities, const float *times, int count, double sigma, float *out)
{
    for (int i = 0, first = 0; i < count; i++) {
        /* The window: every observation within 3 sigma on either side. */
        while (times[i] - times[first] > 3 * sigma)
            first++;
        double sum[ET_EMOTIONS] = {0}, total = 0.0;
        for (int j = first; j < count && times[j] - times[i] <= 3 * sigma; j++) {
            double d = (times[j] - times[i]) / sigma, w = exp(-0.5 * d * d);
            total += w;
            for (int k = 0; k < ET_EMOTIONS; k++)
                sum[k] += w * probabilities[(size_t)j * ET_EMOTIONS + k];
        }
        for (int k = 0; k < ET_EMOTIONS; k++)
            out[(size_t)i * ET_EMOTIONS + k] = (float)(sum[k] / total);
    }
}

int et_real_tracks_retarget(et_track_set *set, double sigma)
{
    size_t values = (size_t)(set->frames ? set->frames : 1) * ET_EMOTIONS;
    if (!set->targets)
        set->targets = malloc(values * sizeof(float));
    float *probs = malloc(values * sizeof(float));
    if (!probs || !set->targets) {
        free(probs);
        return et_error_set(ET_ERR_NOMEM, "tracks: out of memory");
    }
    for (int i = 0; i < set->frames; i++)
        memcpy(probs + (size_t)i * ET_EMOTIONS, et_track_set_cnn_probabilities(set, i), ET_EMOTIONS * sizeof(float));
    for (int t = 0; t < set->tracks; t++) {
        int first = set->start[t], n = set->start[t + 1] - first;
        et_real_tracks_smooth(probs + (size_t)first * ET_EMOTIONS, set->times + first, n, sigma,
                              set->targets + (size_t)first * ET_EMOTIONS);
    }
    for (int i = 0; i < set->frames; i++)
        set->labels[i] = et_argmax(set->targets + (size_t)i * ET_EMOTIONS, ET_EMOTIONS);
    free(probs);
    return ET_OK;
}

/* What the analyzer reported of one video: per face, its track, time,
 * detector score and aligned crop. */
typedef struct {
    int count, capacity;
    int *track;
    float *t, *score;
    uint8_t *crops;
} observations;

static void observations_free(observations *obs)
{
    free(obs->track);
    free(obs->t);
    free(obs->score);
    free(obs->crops);
    memset(obs, 0, sizeof *obs);
}

static int collect(const et_frame_result *r, void *ctx)
{
    observations *obs = ctx;
    if (obs->count + r->count > obs->capacity) {
        int cap = obs->capacity ? obs->capacity * 2 : 1024;
        while (cap < obs->count + r->count)
            cap *= 2;
        int *track = realloc(obs->track, (size_t)cap * sizeof(int));
        if (track)
            obs->track = track;
        float *t = realloc(obs->t, (size_t)cap * sizeof(float)), *score = realloc(obs->score, (size_t)cap * sizeof(float));
        if (t)
            obs->t = t;
        if (score)
            obs->score = score;
        uint8_t *crops = realloc(obs->crops, (size_t)cap * FACE_PIXELS);
        if (crops)
            obs->crops = crops;
        if (!track || !t || !score || !crops)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory for %d faces", r->media->path, cap);
        obs->capacity = cap;
    }
    for (int i = 0; i < r->count; i++) {
        int k = obs->count++;
        obs->track[k] = r->observations[i].track;
        obs->t[k] = (float)r->observations[i].t;
        obs->score[k] = (float)r->observations[i].score;
        memcpy(obs->crops + (size_t)k * FACE_PIXELS, r->crops + (size_t)i * FACE_PIXELS, FACE_PIXELS);
    }
    return ET_OK;
}

/* Appends the track made of observations idx[0..n) (in time order), its
 * targets still to be made (et_real_tracks_retarget). */
static int add_track(et_track_set *set, const observations *obs, const int *idx, int n,
                     const et_real_tracks_options *o, uint8_t *crops, float *probs, float *emb)
{
    et_emotion_classifier *cnn = o->analyzer.classifier;
    et_track_set one = {0};
    one.embedding_size = cnn->embedding_size;
    one.feature_size = cnn->embedding_size + ET_TEMPORAL_EXTRA_FEATURES;
    one.tracks = 1;
    one.frames = n;
    int start[2] = {0, n};
    one.start = start;
    one.features = malloc((size_t)n * one.feature_size * sizeof(float));
    one.labels = malloc((size_t)n * sizeof(int));
    one.times = malloc((size_t)n * sizeof(float));
    int rc = ET_OK;
    if (!one.features || !one.labels || !one.times)
        rc = et_error_set(ET_ERR_NOMEM, "tracks: out of memory for a track of %d faces", n);
    for (int f0 = 0; f0 < n && rc == ET_OK; f0 += CNN_BATCH) {
        int m = n - f0 < CNN_BATCH ? n - f0 : CNN_BATCH;
        for (int i = 0; i < m; i++)
            memcpy(crops + (size_t)i * FACE_PIXELS, obs->crops + (size_t)idx[f0 + i] * FACE_PIXELS, FACE_PIXELS);
        if ((rc = et_emotion_classifier_run(cnn, crops, m, probs, emb)) != ET_OK)
            break;
        for (int i = 0; i < m; i++) {
            int j = f0 + i, k = idx[j];
            double dt = j ? obs->t[k] - obs->t[idx[j - 1]] : 0.0;
            et_temporal_features(emb + (size_t)i * cnn->embedding_size, cnn->embedding_size,
                                 probs + (size_t)i * ET_EMOTIONS, obs->score[k], dt, j == 0,
                                 one.features + (size_t)j * one.feature_size);
            one.labels[j] = 0;
            one.times[j] = obs->t[k] - obs->t[idx[0]];
        }
    }
    if (rc == ET_OK)
        rc = et_track_set_append(set, &one, 1);
    one.start = NULL;
    et_track_set_free(&one);
    return rc;
}

/* Splits one video's observations into tracks (each in time order). */
static int add_tracks(et_track_set *set, const observations *obs, const et_real_tracks_options *o, int *added)
{
    int *idx = malloc((size_t)(obs->count ? obs->count : 1) * sizeof(int));
    char *taken = calloc((size_t)(obs->count ? obs->count : 1), 1);
    uint8_t *crops = malloc((size_t)CNN_BATCH * FACE_PIXELS);
    float *probs = malloc((size_t)CNN_BATCH * ET_EMOTIONS * sizeof(float));
    float *emb = malloc((size_t)CNN_BATCH * o->analyzer.classifier->embedding_size * sizeof(float));
    int rc = ET_OK;
    if (!idx || !taken || !crops || !probs || !emb)
        rc = et_error_set(ET_ERR_NOMEM, "tracks: out of memory");
    for (int i = 0; i < obs->count && rc == ET_OK; i++) {
        if (taken[i])
            continue;
        int n = 0;
        for (int j = i; j < obs->count; j++)
            if (obs->track[j] == obs->track[i]) {
                taken[j] = 1;
                idx[n++] = j;
            }
        if (n >= o->min_observations) {
            rc = add_track(set, obs, idx, n, o, crops, probs, emb);
            ++*added;
        }
    }
    free(idx);
    free(taken);
    free(crops);
    free(probs);
    free(emb);
    return rc;
}

int et_real_tracks_build(et_track_set *set, const et_media_list *list, const et_real_tracks_options *o)
{
    memset(set, 0, sizeof *set);
    if (o->analyzer.classifier->embedding_layer < 0)
        return et_error_set(ET_ERR_USAGE, "%s: the CNN has no '%s' layer", o->analyzer.classifier->path,
                            ET_EMBEDDING_LAYER);
    et_analyzer_options ao = o->analyzer;
    observations obs = {0};
    ao.temporal = NULL;
    ao.on_frame = collect;
    ao.on_frame_ctx = &obs;
    int rc = ET_OK;
    for (size_t i = 0; i < list->count && rc == ET_OK; i++) {
        const et_media_item *item = &list->items[i];
        et_media_info info;
        et_analyzer_stats stats;
        memset(&info, 0, sizeof info);
        info.path = item->path;
        obs.count = 0;
        int added = 0;
        if ((rc = et_analyze_media(&ao, item, &info, NULL, &stats)) == ET_OK)
            rc = add_tracks(set, &obs, o, &added);
        if (rc == ET_OK && o->progress)
            fprintf(stderr, "  %s: %ld frames, %d faces, %d tracks kept\n", item->path, stats.frames_analyzed,
                    obs.count, added);
    }
    observations_free(&obs);
    if (rc == ET_OK && set->tracks == 0)
        rc = et_error_set(ET_ERR_USAGE, "tracks: no track of %d or more faces in the %zu inputs", o->min_observations,
                          list->count);
    if (rc == ET_OK)
        rc = et_real_tracks_retarget(set, o->sigma);
    if (rc != ET_OK)
        et_track_set_free(set);
    return rc;
}
