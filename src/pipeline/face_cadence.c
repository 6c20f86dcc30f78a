/* Detection on key frames, interpolation between agreeing ones
 * (face_cadence.h). */
#include "emotrace/face_cadence.h"

#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/tracker.h"

/* Detector slots per frame in one batch; a frame with more faces is
 * detected again on its own with room for all. */
#define SLOTS 16
/* Two key frames agree when each face of one continues a face of the
 * other at least this well (et_track_similarity: box overlap and keypoint
 * agreement, 0..1) ... */
#define AGREE_SIMILARITY 0.7f
/* ... and every one of those faces was found with at least this score
 * (the detector's own threshold is 0.5 or 0.6: a face near it may come
 * and go between the key frames). */
#define AGREE_SCORE 0.7f
/* More faces than this are never interpolated (the matching is quadratic). */
#define AGREE_MAX_FACES 32

/* A growable list of faces. */
typedef struct {
    et_face *faces;
    int count, cap;
} face_pool;

static int pool_reserve(face_pool *p, int more)
{
    if (p->count + more <= p->cap)
        return ET_OK;
    int cap = p->cap ? p->cap : 64;
    while (cap < p->count + more)
        cap *= 2;
    et_face *grown = realloc(p->faces, (size_t)cap * sizeof *grown);
    if (!grown)
        return et_error_set(ET_ERR_NOMEM, "face detection: out of memory for %d faces", p->count + more);
    p->faces = grown;
    p->cap = cap;
    return ET_OK;
}

enum { FROM_KEY, FROM_FILL, FROM_INTERPOLATION };

/* Where frame i's faces come from: a pool and their place in it. */
typedef struct {
    int from, offset, count;
} frame_faces;

struct et_face_cadence {
    int every;
    double max_interval;
    face_pool anchor; /* the last key frame of the previous call */
    int has_anchor;
    double anchor_t;
    face_pool keys, fills, interpolated, out;
    et_face *slots;
    int *slot_counts, *offsets, *counts, *list_index, frames_cap;
    frame_faces *frames;
    const et_frame **list;
    long detected, interpolated_frames;
};

int et_face_cadence_create(et_face_cadence **out, int every, double max_interval)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return et_error_set(ET_ERR_NOMEM, "face detection: out of memory");
    (*out)->every = every < 1 ? 1 : every;
    (*out)->max_interval = max_interval;
    return ET_OK;
}

/* The per-frame arrays, sized for the largest batch so far. */
static void frame_arrays_free(et_face_cadence *c)
{
    free(c->slots);
    free(c->slot_counts);
    free(c->offsets);
    free(c->counts);
    free(c->list_index);
    free(c->frames);
    free(c->list);
}

void et_face_cadence_free(et_face_cadence *c)
{
    if (!c)
        return;
    free(c->anchor.faces);
    free(c->keys.faces);
    free(c->fills.faces);
    free(c->interpolated.faces);
    free(c->out.faces);
    frame_arrays_free(c);
    free(c);
}

void et_face_cadence_counts(const et_face_cadence *c, long *detected, long *interpolated)
{
    *detected = c->detected;
    *interpolated = c->interpolated_frames;
}

static int reserve_frames(et_face_cadence *c, int n)
{
    if (n <= c->frames_cap)
        return ET_OK;
    frame_arrays_free(c);
    c->slots = malloc((size_t)n * SLOTS * sizeof *c->slots);
    c->slot_counts = malloc((size_t)n * sizeof *c->slot_counts);
    c->offsets = malloc((size_t)n * sizeof *c->offsets);
    c->counts = malloc((size_t)n * sizeof *c->counts);
    c->list_index = malloc((size_t)n * sizeof *c->list_index);
    c->frames = malloc((size_t)n * sizeof *c->frames);
    c->list = malloc((size_t)n * sizeof *c->list);
    c->frames_cap = n;
    if (!c->slots || !c->slot_counts || !c->offsets || !c->counts || !c->list_index || !c->frames || !c->list) {
        c->frames_cap = 0;
        return et_error_set(ET_ERR_NOMEM, "face detection: out of memory for %d frames", n);
    }
    return ET_OK;
}

/* Detects the m frames of c->list into pool: frame i's faces at
 * c->offsets[i], c->counts[i] of them. */
static int detect_frames(et_face_cadence *c, et_face_detector *d, int m, face_pool *pool)
{
    if (m == 0)
        return ET_OK;
    int rc = et_face_detect_batch(d, c->list, m, c->slots, SLOTS, c->slot_counts);
    if (rc != ET_OK)
        return rc;
    for (int i = 0; i < m; i++) {
        int count = c->slot_counts[i];
        if ((rc = pool_reserve(pool, count)) != ET_OK)
            return rc;
        et_face *dst = pool->faces + pool->count;
        if (count > 0 && count <= SLOTS) {
            memcpy(dst, c->slots + (size_t)i * SLOTS, (size_t)count * sizeof *dst);
        } else if (count > SLOTS) {
            int found = et_face_detect_frame(d, c->list[i], dst, count);
            if (found < 0)
                return found;
            count = found < count ? found : count;
        }
        c->offsets[i] = pool->count;
        c->counts[i] = count;
        pool->count += count;
    }
    c->detected += m;
    return ET_OK;
}

/* Whether two key frames' faces agree (face_cadence.h); if so match[i] is
 * the face of b continuing face i of a. Greedy, best pair first. */
static int faces_agree(const et_face *a, const et_face *b, int count, int *match)
{
    /* No face at either end: one may show on any frame between (measured:
     * the detector's brief, low-score finds on the real clips' faceless
     * stretches), so those frames are all detected. */
    if (count < 1 || count > AGREE_MAX_FACES)
        return 0;
    int b_taken[AGREE_MAX_FACES] = {0};
    for (int i = 0; i < count; i++)
        match[i] = -1;
    for (int round = 0; round < count; round++) {
        float best = -1.0f;
        int best_i = -1, best_j = -1;
        for (int i = 0; i < count; i++)
            for (int j = 0; match[i] < 0 && j < count; j++) {
                float s = b_taken[j] ? -1.0f : et_track_similarity(&a[i], &b[j]);
                if (s > best) {
                    best = s;
                    best_i = i;
                    best_j = j;
                }
            }
        if (best < AGREE_SIMILARITY || a[best_i].score < AGREE_SCORE || b[best_j].score < AGREE_SCORE)
            return 0;
        match[best_i] = best_j;
        b_taken[best_j] = 1;
    }
    return 1;
}

static float lerp(float a, float b, float w)
{
    return a + (b - a) * w;
}

/* The face a fraction w of the way from a to b. */
static et_face face_between(const et_face *a, const et_face *b, float w)
{
    et_face f;
    f.x0 = lerp(a->x0, b->x0, w);
    f.y0 = lerp(a->y0, b->y0, w);
    f.x1 = lerp(a->x1, b->x1, w);
    f.y1 = lerp(a->y1, b->y1, w);
    f.score = lerp(a->score, b->score, w);
    for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
        f.keypoints[k][0] = lerp(a->keypoints[k][0], b->keypoints[k][0], w);
        f.keypoints[k][1] = lerp(a->keypoints[k][1], b->keypoints[k][1], w);
    }
    return f;
}

/* Interpolates frames (from, to) of frames[] between key faces a (at time
 * ta) and b (at frames[to]), matched by match, into c->interpolated. */
static int interpolate(et_face_cadence *c, const et_frame *const *frames, int from, int to, const et_face *a,
                       double ta, const et_face *b, int count, const int *match)
{
    double tb = frames[to]->t;
    for (int j = from + 1; j < to; j++) {
        float w = tb > ta ? (float)((frames[j]->t - ta) / (tb - ta)) : (float)(j - from) / (float)(to - from);
        int rc = pool_reserve(&c->interpolated, count);
        if (rc != ET_OK)
            return rc;
        c->frames[j] = (frame_faces){FROM_INTERPOLATION, c->interpolated.count, count};
        for (int i = 0; i < count; i++)
            c->interpolated.faces[c->interpolated.count++] = face_between(&a[i], &b[match[i]], w);
        c->interpolated_frames++;
    }
    return ET_OK;
}

/* Marks the key frames of this call and detects them into c->keys. */
static int detect_keys(et_face_cadence *c, et_face_detector *d, const et_frame *const *frames, int n)
{
    int m = 0, last = -1, has_key = c->has_anchor;
    double last_t = c->anchor_t;
    for (int j = 0; j < n; j++) {
        int key = !has_key || j - last >= c->every || j == n - 1 ||
                  (c->max_interval > 0 && frames[j]->t - last_t >= c->max_interval - 1e-9);
        c->list_index[j] = key ? m : -1;
        if (key) {
            c->list[m++] = frames[j];
            last = j;
            last_t = frames[j]->t;
            has_key = 1;
        }
    }
    int rc = detect_frames(c, d, m, &c->keys);
    for (int j = 0; rc == ET_OK && j < n; j++)
        if (c->list_index[j] >= 0)
            c->frames[j] = (frame_faces){FROM_KEY, c->offsets[c->list_index[j]], c->counts[c->list_index[j]]};
    return rc;
}

/* Between consecutive key frames: interpolated when they agree, otherwise
 * gathered into c->list and detected into c->fills. */
static int fill_between_keys(et_face_cadence *c, et_face_detector *d, const et_frame *const *frames, int n)
{
    int match[AGREE_MAX_FACES], m = 0, rc = ET_OK;
    int prev = -1; /* -1: the anchor */
    for (int j = 0; j < n && rc == ET_OK; j++) {
        if (c->frames[j].from != FROM_KEY)
            continue;
        const et_face *a = prev < 0 ? c->anchor.faces : c->keys.faces + c->frames[prev].offset;
        int a_count = prev < 0 ? c->anchor.count : c->frames[prev].count;
        double ta = prev < 0 ? c->anchor_t : frames[prev]->t;
        const et_face *b = c->keys.faces + c->frames[j].offset;
        if (j > prev + 1 && (prev >= 0 || c->has_anchor)) {
            if (a_count == c->frames[j].count && faces_agree(a, b, a_count, match))
                rc = interpolate(c, frames, prev, j, a, ta, b, a_count, match);
            else
                for (int i = prev + 1; i < j; i++) {
                    c->list_index[i] = m;
                    c->list[m++] = frames[i];
                }
        }
        prev = j;
    }
    if (rc == ET_OK)
        rc = detect_frames(c, d, m, &c->fills);
    for (int j = 0; rc == ET_OK && j < n; j++)
        if (c->frames[j].from != FROM_KEY && c->frames[j].from != FROM_INTERPOLATION)
            c->frames[j] = (frame_faces){FROM_FILL, c->offsets[c->list_index[j]], c->counts[c->list_index[j]]};
    return rc;
}

int et_face_cadence_detect(et_face_cadence *c, et_face_detector *d, const et_frame *const *frames, int n,
                           const et_face **faces, int *first)
{
    first[0] = 0;
    *faces = c->out.faces;
    if (n < 1)
        return ET_OK;
    int rc = reserve_frames(c, n);
    if (rc != ET_OK)
        return rc;
    c->keys.count = c->fills.count = c->interpolated.count = c->out.count = 0;
    for (int j = 0; j < n; j++)
        c->frames[j].from = -1;
    if ((rc = detect_keys(c, d, frames, n)) != ET_OK || (rc = fill_between_keys(c, d, frames, n)) != ET_OK)
        return rc;
    for (int j = 0; j < n; j++) {
        const frame_faces *f = &c->frames[j];
        const face_pool *from = f->from == FROM_KEY ? &c->keys : f->from == FROM_FILL ? &c->fills : &c->interpolated;
        if ((rc = pool_reserve(&c->out, f->count)) != ET_OK)
            return rc;
        if (f->count > 0)
            memcpy(c->out.faces + c->out.count, from->faces + f->offset, (size_t)f->count * sizeof(et_face));
        c->out.count += f->count;
        first[j + 1] = c->out.count;
    }
    /* The last frame is a key frame: the anchor of the next call. */
    c->anchor.count = 0;
    if ((rc = pool_reserve(&c->anchor, c->frames[n - 1].count)) != ET_OK)
        return rc;
    if (c->frames[n - 1].count > 0)
        memcpy(c->anchor.faces, c->out.faces + first[n - 1], (size_t)c->frames[n - 1].count * sizeof(et_face));
    c->anchor.count = c->frames[n - 1].count;
    c->anchor_t = frames[n - 1]->t;
    c->has_anchor = 1;
    *faces = c->out.faces;
    return ET_OK;
}
