#include "emotrace/tracker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"

/* Below this similarity a detection starts a new track. */
#define MIN_SIMILARITY 0.25f

void et_tracker_init(et_tracker *t, double max_gap, size_t state_size)
{
    memset(t, 0, sizeof *t);
    t->max_gap = max_gap;
    t->state_size = state_size;
}

void et_tracker_free(et_tracker *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->count; i++)
        free(t->tracks[i].state);
    free(t->tracks);
    memset(t, 0, sizeof *t);
}

float et_track_similarity(const et_face *last, const et_face *face)
{
    float size = 0.5f * ((last->x1 - last->x0) + (last->y1 - last->y0));
    if (size <= 0)
        return 0;
    float distance = 0;
    for (int k = 0; k < ET_FACE_KEYPOINTS; k++)
        distance += hypotf(last->keypoints[k][0] - face->keypoints[k][0],
                           last->keypoints[k][1] - face->keypoints[k][1]);
    distance /= ET_FACE_KEYPOINTS;
    float keypoint_agreement = 1.0f - distance / (0.5f * size);
    if (keypoint_agreement < 0)
        keypoint_agreement = 0;
    return 0.5f * et_face_iou(last, face) + 0.5f * keypoint_agreement;
}

static int start_track(et_tracker *t, const et_face *face, double time)
{
    if (t->count == t->capacity) {
        int cap = t->capacity ? t->capacity * 2 : 8;
        et_track *grown = realloc(t->tracks, (size_t)cap * sizeof *grown);
        if (!grown)
            return et_error_set(ET_ERR_NOMEM, "tracker: out of memory");
        t->tracks = grown;
        t->capacity = cap;
    }
    et_track *track = &t->tracks[t->count];
    memset(track, 0, sizeof *track);
    if (t->state_size) {
        track->state = calloc(t->state_size, sizeof(float));
        if (!track->state)
            return et_error_set(ET_ERR_NOMEM, "tracker: out of memory");
    }
    track->id = t->count + 1;
    track->face = *face;
    track->first_t = track->last_t = track->previous_t = time;
    track->live = 1;
    return t->count++;
}

typedef struct {
    float similarity;
    int track, face;
} candidate;

static int by_similarity(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->similarity != y->similarity)
        return x->similarity < y->similarity ? 1 : -1;
    /* Ties broken by index so the result never depends on qsort's order. */
    return x->track != y->track ? x->track - y->track : x->face - y->face;
}

int et_tracker_update(et_tracker *t, const et_face *faces, int count, double time, int *track_index)
{
    for (int i = 0; i < t->count; i++)
        if (t->tracks[i].live && time - t->tracks[i].last_t > t->max_gap) {
            t->tracks[i].live = 0;
            free(t->tracks[i].state);
            t->tracks[i].state = NULL;
        }
    int live = 0;
    for (int i = 0; i < t->count; i++)
        live += t->tracks[i].live;
    candidate *pairs = NULL;
    int pair_count = 0;
    if (live && count) {
        pairs = malloc((size_t)live * count * sizeof *pairs);
        if (!pairs)
            return et_error_set(ET_ERR_NOMEM, "tracker: out of memory");
        for (int i = 0; i < t->count; i++) {
            if (!t->tracks[i].live)
                continue;
            for (int f = 0; f < count; f++) {
                float s = et_track_similarity(&t->tracks[i].face, &faces[f]);
                if (s >= MIN_SIMILARITY)
                    pairs[pair_count++] = (candidate){s, i, f};
            }
        }
        qsort(pairs, (size_t)pair_count, sizeof *pairs, by_similarity);
    }
    for (int f = 0; f < count; f++)
        track_index[f] = -1;
    /* Greedy matching, best pairs first; a track takes one face per frame. */
    char *taken = calloc((size_t)t->count + 1, 1);
    if (!taken) {
        free(pairs);
        return et_error_set(ET_ERR_NOMEM, "tracker: out of memory");
    }
    for (int p = 0; p < pair_count; p++) {
        if (taken[pairs[p].track] || track_index[pairs[p].face] >= 0)
            continue;
        taken[pairs[p].track] = 1;
        track_index[pairs[p].face] = pairs[p].track;
    }
    free(taken);
    free(pairs);
    for (int f = 0; f < count; f++) {
        if (track_index[f] < 0) {
            int index = start_track(t, &faces[f], time);
            if (index < 0)
                return index;
            track_index[f] = index;
        } else {
            et_track *track = &t->tracks[track_index[f]];
            track->face = faces[f];
            track->previous_t = track->last_t;
            track->last_t = time;
        }
    }
    return ET_OK;
}
