/* Linking tracks into persons while a recording is analysed (the streaming
 * rule in persons.h): the gallery of descriptors seen so far, and the
 * per-file linker that the analyzer calls after each frame's tracking. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/persons.h"

/* One track's descriptor in the gallery. */
typedef struct {
    int person;
    int file;              /* serial number of its file: on screen together only within one file */
    double first_t, last_t;
    float descriptor[ET_FACE_EMBED_DIM];
} gallery_entry;

struct et_person_gallery {
    pthread_mutex_t lock;
    float threshold;
    int persons, files;
    gallery_entry *entries;
    int count, capacity;
};

int et_person_gallery_create(et_person_gallery **out, float threshold)
{
    et_person_gallery *g = calloc(1, sizeof *g);
    if (!g)
        return et_error_set(ET_ERR_NOMEM, "persons: out of memory");
    if (pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g);
        return et_error_set(ET_ERR, "persons: cannot create a lock");
    }
    g->threshold = threshold;
    *out = g;
    return ET_OK;
}

void et_person_gallery_free(et_person_gallery *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g->entries);
    free(g);
}

int et_person_gallery_count(et_person_gallery *g)
{
    pthread_mutex_lock(&g->lock);
    int n = g->persons;
    pthread_mutex_unlock(&g->lock);
    return n;
}

/* The person for a track of file starting at t with descriptor d: the
 * nearest person below the threshold not on screen in file at t, else a new
 * one. Adds the track's entry; *entry receives its index. Locked by caller. */
static int gallery_join(et_person_gallery *g, int file, double t, const float *d, int *entry)
{
    if (g->count == g->capacity) {
        int cap = g->capacity ? g->capacity * 2 : 16;
        gallery_entry *grown = realloc(g->entries, (size_t)cap * sizeof *grown);
        if (!grown)
            return et_error_set(ET_ERR_NOMEM, "persons: out of memory for %d tracks", cap);
        g->entries = grown;
        g->capacity = cap;
    }
    /* Nearest entry first; a person on screen now is ruled out after, by
     * looking at all its entries (it may have several in this file). */
    int best = 0;
    float best_distance = g->threshold;
    for (int i = 0; i < g->count; i++) {
        const gallery_entry *e = &g->entries[i];
        float distance = et_face_embed_distance(d, e->descriptor);
        if (distance >= best_distance || e->person == best)
            continue;
        int clash = 0;
        for (int j = 0; j < g->count && !clash; j++)
            clash = g->entries[j].person == e->person && g->entries[j].file == file && g->entries[j].last_t >= t;
        if (!clash) {
            best = e->person;
            best_distance = distance;
        }
    }
    gallery_entry *e = &g->entries[g->count];
    e->person = best ? best : ++g->persons;
    e->file = file;
    e->first_t = e->last_t = t;
    memcpy(e->descriptor, d, sizeof e->descriptor);
    *entry = g->count++;
    return e->person;
}

/* One track of the file being analysed. */
typedef struct {
    int started;       /* its first face has been seen */
    int person, entry; /* entry: index into the gallery; -1 without a descriptor */
    double last_offer;
    et_person_chips *chips; /* while the track is live */
    /* The first chip's descriptor, reused at the end while that chip is
     * still in slot 0 of chips (one network pass fewer per track). */
    int first_kept;
    float first[ET_FACE_EMBED_DIM];
} linked_track;

struct et_person_linker {
    et_face_embedder *embedder;
    et_person_gallery *gallery, *own;
    int file; /* its serial number in the gallery */
    linked_track *tracks;
    int count, capacity;
    uint8_t chip[ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3];
};

int et_person_linker_create(et_person_linker **out, et_face_embedder *e, et_person_gallery *shared, float threshold)
{
    *out = NULL;
    et_person_linker *l = calloc(1, sizeof *l);
    if (!l)
        return et_error_set(ET_ERR_NOMEM, "persons: out of memory");
    l->embedder = e;
    if (shared) {
        l->gallery = shared;
    } else {
        int rc = et_person_gallery_create(&l->own, threshold);
        if (rc != ET_OK) {
            free(l);
            return rc;
        }
        l->gallery = l->own;
    }
    pthread_mutex_lock(&l->gallery->lock);
    l->file = ++l->gallery->files;
    pthread_mutex_unlock(&l->gallery->lock);
    *out = l;
    return ET_OK;
}

void et_person_linker_free(et_person_linker *l)
{
    if (!l)
        return;
    for (int i = 0; i < l->count; i++)
        free(l->tracks[i].chips);
    free(l->tracks);
    et_person_gallery_free(l->own);
    free(l);
}

static int tracks_reserve(et_person_linker *l, int count)
{
    if (count <= l->capacity)
        return ET_OK;
    int cap = l->capacity ? l->capacity : 16;
    while (cap < count)
        cap *= 2;
    linked_track *grown = realloc(l->tracks, (size_t)cap * sizeof *grown);
    if (!grown)
        return et_error_set(ET_ERR_NOMEM, "persons: out of memory for %d tracks", cap);
    memset(grown + l->capacity, 0, (size_t)(cap - l->capacity) * sizeof *grown);
    l->tracks = grown;
    l->capacity = cap;
    return ET_OK;
}

/* A new track's person from the descriptor of its first face. */
static int track_start(et_person_linker *l, linked_track *lt, float quality, double t)
{
    float *d = lt->first;
    int rc = et_face_embed(l->embedder, l->chip, 1, d);
    if (rc != ET_OK)
        return rc;
    if (!(lt->chips = calloc(1, sizeof *lt->chips)))
        return et_error_set(ET_ERR_NOMEM, "persons: out of memory for a track's chips");
    /* Kept whatever its quality: the set is never empty once started. */
    et_person_chips_keep(lt->chips, l->chip, quality > 0 ? quality : 1e-9f);
    lt->first_kept = lt->chips->count == 1;
    lt->last_offer = t;
    lt->started = 1;
    pthread_mutex_lock(&l->gallery->lock);
    rc = gallery_join(l->gallery, l->file, t, d, &lt->entry);
    pthread_mutex_unlock(&l->gallery->lock);
    if (rc < 0)
        return rc;
    lt->person = rc;
    return ET_OK;
}

/* An ended track: the mean descriptor of its best chips becomes its entry
 * (the first chip's descriptor reused when it is among them). */
static int track_end(et_person_linker *l, linked_track *lt)
{
    et_person_chips *c = lt->chips;
    if (!c)
        return ET_OK;
    lt->chips = NULL;
    int skip = lt->first_kept ? 1 : 0, rc = ET_OK;
    float d[ET_PERSON_CHIPS][ET_FACE_EMBED_DIM], mean[ET_FACE_EMBED_DIM];
    if (c->count > skip)
        rc = et_face_embed(l->embedder, c->chips[skip], c->count - skip, d[skip]);
    if (rc == ET_OK && c->count > 0) {
        if (skip)
            memcpy(d[0], lt->first, sizeof d[0]);
        for (int k = 0; k < ET_FACE_EMBED_DIM; k++) {
            float sum = 0;
            for (int i = 0; i < c->count; i++)
                sum += d[i][k];
            mean[k] = sum / c->count;
        }
        pthread_mutex_lock(&l->gallery->lock);
        memcpy(l->gallery->entries[lt->entry].descriptor, mean, sizeof mean);
        pthread_mutex_unlock(&l->gallery->lock);
    }
    free(c);
    return rc;
}

int et_person_linker_frame(et_person_linker *l, const et_tracker *tracker, const uint8_t *rgb, int width,
                           int height, int stride, const et_face *faces, const int *track_index, int count,
                           double t, const uint8_t *crops, int crop_size)
{
    int rc = tracks_reserve(l, tracker->count);
    if (rc != ET_OK)
        return rc;
    l->count = tracker->count > l->count ? tracker->count : l->count;
    for (int i = 0; i < l->count; i++)
        if (l->tracks[i].chips && !tracker->tracks[i].live && (rc = track_end(l, &l->tracks[i])) != ET_OK)
            return rc;
    /* The tracks seen now are on screen until now: a new track in this
     * frame cannot join their persons. */
    pthread_mutex_lock(&l->gallery->lock);
    for (int k = 0; k < count; k++) {
        const linked_track *lt = &l->tracks[track_index[k]];
        if (lt->started)
            l->gallery->entries[lt->entry].last_t = t;
    }
    pthread_mutex_unlock(&l->gallery->lock);
    for (int k = 0; k < count; k++) {
        linked_track *lt = &l->tracks[track_index[k]];
        float geometry = et_face_id_geometry(&faces[k]);
        /* Chips are considered every ET_PERSON_OFFER_SECONDS at first, then
         * every tenth of the track's age: a long track is not cut into
         * chips every fraction of a second (about 10 + 10 ln(age / 2 s)
         * considered in all: 26 for 10 s, 44 for a minute, 85 for an hour). */
        double age = t - tracker->tracks[track_index[k]].first_t;
        double every = age / 10 > ET_PERSON_OFFER_SECONDS ? age / 10 : ET_PERSON_OFFER_SECONDS;
        /* Quality from the gray crop at hand; the chip (about 2 ms) is
         * cut only when it would enter the set. */
        float quality = 0;
        if (lt->started) {
            if (!lt->chips || t - lt->last_offer < every - 1e-9)
                continue;
            lt->last_offer = t;
            quality = geometry * et_face_gray_sharpness(crops + (size_t)k * crop_size * crop_size, crop_size);
            if (!et_person_chips_beats(lt->chips, quality))
                continue;
        }
        if ((rc = et_face_chip(rgb, width, height, stride, &faces[k], l->chip)) != ET_OK)
            return rc;
        if (!lt->started) {
            quality = geometry * et_face_gray_sharpness(crops + (size_t)k * crop_size * crop_size, crop_size);
            if ((rc = track_start(l, lt, quality, t)) != ET_OK)
                return rc;
        } else {
            et_person_chips_keep(lt->chips, l->chip, quality);
            /* Slot 0 now holds this chip: the first one is gone. */
            if (lt->first_kept && !memcmp(lt->chips->chips[0], l->chip, sizeof l->chip))
                lt->first_kept = 0;
        }
    }
    return ET_OK;
}

int et_person_linker_finish(et_person_linker *l)
{
    for (int i = 0; i < l->count; i++) {
        int rc = track_end(l, &l->tracks[i]);
        if (rc != ET_OK)
            return rc;
    }
    return ET_OK;
}

int et_person_linker_person(const et_person_linker *l, int track_index)
{
    return track_index >= 0 && track_index < l->count ? l->tracks[track_index].person : 0;
}

int et_person_linker_descriptor(const et_person_linker *l, int track_index, float *out)
{
    if (track_index < 0 || track_index >= l->count || !l->tracks[track_index].started)
        return 0;
    pthread_mutex_lock(&l->gallery->lock);
    memcpy(out, l->gallery->entries[l->tracks[track_index].entry].descriptor, ET_FACE_EMBED_DIM * sizeof(float));
    pthread_mutex_unlock(&l->gallery->lock);
    return 1;
}
