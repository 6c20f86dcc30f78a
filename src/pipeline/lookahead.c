/* The look-ahead smoother of recorded media (see lookahead.h). Frames wait
 * in one array, oldest first: those already handed back stay while a later
 * frame's window can still reach them. */
#include "emotrace/lookahead.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"

#define TIME_EPSILON 1e-6

typedef struct {
    et_frame frame; /* time, index, size; pixels while waiting, if kept */
    int analyzed;   /* 0: a frame --fps skipped, passed on for its pixels */
    int first;      /* its observations: obs[first .. first + count) */
    int count;
} held_frame;

struct et_lookahead {
    double window, sigma;
    int crop_bytes, keep_pixels;
    et_frame *spare; /* pixel storage of frames handed back, for reuse */
    int spare_count, spare_capacity;
    held_frame *frames;
    int frame_count, frame_capacity;
    int next; /* first frame not handed back yet */
    et_observation *obs;
    int obs_count, obs_capacity;
    uint8_t *crops; /* crop_bytes per observation */
    int crop_capacity;
    et_observation *out;
    int out_capacity;
};

int et_lookahead_init(et_lookahead **out, double window, int crop_bytes, int keep_pixels)
{
    *out = NULL;
    if (!(window > 0.0))
        return et_error_set(ET_ERR_USAGE, "look-ahead window must be positive, got %g s", window);
    et_lookahead *l = calloc(1, sizeof *l);
    if (!l)
        return et_error_set(ET_ERR_NOMEM, "out of memory for the look-ahead");
    l->window = window;
    l->sigma = window / 2.0;
    l->crop_bytes = crop_bytes;
    l->keep_pixels = keep_pixels;
    *out = l;
    return ET_OK;
}

void et_lookahead_free(et_lookahead *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->frame_count; i++)
        et_frame_free(&l->frames[i].frame);
    for (int i = 0; i < l->spare_count; i++)
        et_frame_free(&l->spare[i]);
    free(l->spare);
    free(l->frames);
    free(l->obs);
    free(l->crops);
    free(l->out);
    free(l);
}

/* Grows *items (of size bytes each) to hold at least need. */
static int grow(void **items, int *capacity, int need, size_t size)
{
    if (need <= *capacity)
        return ET_OK;
    int cap = *capacity ? *capacity : 64;
    while (cap < need)
        cap *= 2;
    void *p = realloc(*items, (size_t)cap * size);
    if (!p)
        return et_error_set(ET_ERR_NOMEM, "out of memory for the look-ahead (%d items)", need);
    *items = p;
    *capacity = cap;
    return ET_OK;
}

/* Gives the pixels of the frames handed back before the last one to the
 * spare storage (the last one's may still be in use by the caller). */
static int release_pixels(et_lookahead *l)
{
    for (int i = 0; i + 1 < l->next; i++) {
        et_frame *f = &l->frames[i].frame;
        if (!f->rgb)
            continue;
        int rc = grow((void **)&l->spare, &l->spare_capacity, l->spare_count + 1, sizeof *l->spare);
        if (rc != ET_OK)
            return rc;
        l->spare[l->spare_count++] = *f;
        f->rgb = NULL;
        f->capacity = 0;
    }
    return ET_OK;
}

/* Appends frame (its pixels too when they are kept) with count places for
 * observations. */
static int hold_frame(et_lookahead *l, const et_frame *frame, int analyzed, int count)
{
    int rc = release_pixels(l);
    if (rc == ET_OK)
        rc = grow((void **)&l->frames, &l->frame_capacity, l->frame_count + 1, sizeof *l->frames);
    if (rc == ET_OK)
        rc = grow((void **)&l->obs, &l->obs_capacity, l->obs_count + count, sizeof *l->obs);
    if (rc == ET_OK && l->crop_bytes)
        rc = grow((void **)&l->crops, &l->crop_capacity, l->obs_count + count, (size_t)l->crop_bytes);
    if (rc != ET_OK)
        return rc;
    held_frame *h = &l->frames[l->frame_count];
    memset(h, 0, sizeof *h);
    if (l->keep_pixels) {
        if (l->spare_count)
            h->frame = l->spare[--l->spare_count];
        if ((rc = et_frame_copy(&h->frame, frame)) != ET_OK) {
            et_frame_free(&h->frame);
            return rc;
        }
    } else {
        h->frame.width = frame->width;
        h->frame.height = frame->height;
        h->frame.t = frame->t;
        h->frame.index = frame->index;
    }
    h->analyzed = analyzed;
    h->first = l->obs_count;
    h->count = count;
    l->frame_count++;
    return ET_OK;
}

int et_lookahead_push(et_lookahead *l, const et_frame *frame, const et_observation *observations,
                      const uint8_t *crops, int count)
{
    int rc = hold_frame(l, frame, 1, count);
    if (rc != ET_OK)
        return rc;
    memcpy(l->obs + l->obs_count, observations, (size_t)count * sizeof *observations);
    if (l->crop_bytes && count)
        memcpy(l->crops + (size_t)l->obs_count * l->crop_bytes, crops, (size_t)count * l->crop_bytes);
    l->obs_count += count;
    return ET_OK;
}

int et_lookahead_push_skipped(et_lookahead *l, const et_frame *frame)
{
    return hold_frame(l, frame, 0, 0);
}

/* Forgets the frames handed back that lie more than a window before t. */
static void drop_old(et_lookahead *l, double t)
{
    int k = 0;
    while (k < l->next && l->frames[k].frame.t < t - l->window - TIME_EPSILON)
        k++;
    if (!k)
        return;
    int gone = l->frames[k].first;
    for (int i = 0; i < k; i++)
        et_frame_free(&l->frames[i].frame); /* pixels already spared: nothing */
    memmove(l->frames, l->frames + k, (size_t)(l->frame_count - k) * sizeof *l->frames);
    l->frame_count -= k;
    l->next -= k;
    for (int i = 0; i < l->frame_count; i++)
        l->frames[i].first -= gone;
    memmove(l->obs, l->obs + gone, (size_t)(l->obs_count - gone) * sizeof *l->obs);
    if (l->crop_bytes)
        memmove(l->crops, l->crops + (size_t)gone * l->crop_bytes, (size_t)(l->obs_count - gone) * l->crop_bytes);
    l->obs_count -= gone;
}

/* How far after t track reaches within the window (0 if not at all). */
static double reach_ahead(const et_lookahead *l, int track, double t)
{
    double reach = 0.0;
    for (int i = l->next + 1; i < l->frame_count && l->frames[i].frame.t <= t + l->window + TIME_EPSILON; i++) {
        const held_frame *h = &l->frames[i];
        for (int j = h->first; j < h->first + h->count; j++)
            if (l->obs[j].track == track)
                reach = h->frame.t - t;
    }
    return reach;
}

/* o's probabilities, smoothed over its track from t - behind to t + ahead. */
static void smooth_one(const et_lookahead *l, et_observation *o, double behind, double ahead)
{
    double sum[ET_EMOTIONS] = {0}, weights = 0.0;
    for (int i = 0; i < l->frame_count; i++) {
        const held_frame *h = &l->frames[i];
        double dt = h->frame.t - o->t;
        if (dt < -behind - TIME_EPSILON || dt > ahead + TIME_EPSILON)
            continue;
        double w = exp(-0.5 * (dt / l->sigma) * (dt / l->sigma));
        for (int j = h->first; j < h->first + h->count; j++) {
            if (l->obs[j].track != o->track)
                continue;
            for (int k = 0; k < ET_EMOTIONS; k++)
                sum[k] += w * l->obs[j].prob[k];
            weights += w;
        }
    }
    for (int k = 0; k < ET_EMOTIONS && weights > 0.0; k++)
        o->prob[k] = sum[k] / weights;
}

int et_lookahead_pop(et_lookahead *l, int flush, et_lookahead_frame *out)
{
    if (l->next >= l->frame_count)
        return 0;
    double t = l->frames[l->next].frame.t;
    if (!flush && l->frames[l->frame_count - 1].frame.t < t + l->window - TIME_EPSILON)
        return 0;
    int rc = release_pixels(l);
    if (rc != ET_OK)
        return rc;
    drop_old(l, t);
    const held_frame *h = &l->frames[l->next];
    rc = grow((void **)&l->out, &l->out_capacity, h->count, sizeof *l->out);
    if (rc != ET_OK)
        return rc;
    for (int j = 0; j < h->count; j++) {
        et_observation *o = &l->out[j];
        *o = l->obs[h->first + j];
        double ahead = reach_ahead(l, o->track, t);
        smooth_one(l, o, ahead < l->window ? ahead : l->window, ahead);
    }
    out->frame = &h->frame;
    out->analyzed = h->analyzed;
    out->observations = l->out;
    out->crops = l->crop_bytes ? l->crops + (size_t)h->first * l->crop_bytes : NULL;
    out->count = h->count;
    l->next++;
    return 1;
}
