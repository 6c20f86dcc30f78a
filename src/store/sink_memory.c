/* The memory sink: keeps one media file's results (begin record,
 * observations, end or failure) in memory, to be replayed into a real sink
 * later. Parallel jobs analyse into one of these each while a single
 * writer replays finished files, so that every file still reaches the
 * output as one unit (one SQLite transaction, contiguous text rows) and
 * memory stays bounded by one file's results per job. */
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "sink_internal.h"

typedef enum { KEPT_NONE, KEPT_OPEN, KEPT_DONE, KEPT_FAILED } kept_state;

typedef struct {
    et_sink base;
    kept_state state;
    int begun;              /* begin_media was recorded */
    et_media_info media;    /* begin record, or the failed media */
    et_media_info final;
    char *path, *error;     /* owned copies of the strings in media/final */
    et_observation *observations;
    size_t count, capacity;
    et_track_summary *tracks;
    float *embeddings;      /* owned copies of the tracks' embeddings */
    int ntracks;
} memory_sink;

static void memory_reset(memory_sink *m)
{
    free(m->path);
    free(m->error);
    free(m->tracks);
    free(m->embeddings);
    m->path = m->error = NULL;
    m->tracks = NULL;
    m->embeddings = NULL;
    m->ntracks = 0;
    m->count = 0;
    m->begun = 0;
    m->state = KEPT_NONE;
}

static int keep_media(memory_sink *m, const et_media_info *media)
{
    memory_reset(m);
    m->media = *media;
    m->path = strdup(media->path);
    if (!m->path)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory keeping results", media->path);
    m->media.path = m->path;
    m->media.error = NULL;
    return ET_OK;
}

static int memory_begin_media(et_sink *sink, const et_media_info *media)
{
    memory_sink *m = (memory_sink *)sink;
    int rc = keep_media(m, media);
    if (rc == ET_OK) {
        m->begun = 1;
        m->state = KEPT_OPEN;
    }
    return rc;
}

static int memory_write_observation(et_sink *sink, const et_observation *obs)
{
    memory_sink *m = (memory_sink *)sink;
    if (m->count == m->capacity) {
        size_t cap = m->capacity ? m->capacity * 2 : 256;
        et_observation *grown = realloc(m->observations, cap * sizeof *grown);
        if (!grown)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory keeping %zu observations", m->path, m->count);
        m->observations = grown;
        m->capacity = cap;
    }
    m->observations[m->count++] = *obs;
    return ET_OK;
}

/* The tracks' embeddings point into the caller's memory: copied. */
static int keep_embeddings(memory_sink *m)
{
    size_t total = 0;
    for (int i = 0; i < m->ntracks; i++)
        total += m->tracks[i].embedding ? (size_t)m->tracks[i].embedding_size : 0;
    if (total == 0)
        return ET_OK;
    if (!(m->embeddings = malloc(total * sizeof *m->embeddings)))
        return ET_ERR_NOMEM;
    float *at = m->embeddings;
    for (int i = 0; i < m->ntracks; i++) {
        et_track_summary *t = &m->tracks[i];
        if (!t->embedding)
            continue;
        memcpy(at, t->embedding, (size_t)t->embedding_size * sizeof *at);
        t->embedding = at;
        at += t->embedding_size;
    }
    return ET_OK;
}

static int memory_end_media(et_sink *sink, const et_media_info *final, const et_track_summary *tracks, int ntracks)
{
    memory_sink *m = (memory_sink *)sink;
    if (ntracks > 0) {
        m->tracks = malloc((size_t)ntracks * sizeof *m->tracks);
        if (!m->tracks)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory keeping %d tracks", m->path, ntracks);
        memcpy(m->tracks, tracks, (size_t)ntracks * sizeof *tracks);
        m->ntracks = ntracks;
        if (keep_embeddings(m) != ET_OK)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory keeping %d embeddings", m->path, ntracks);
    }
    m->ntracks = ntracks;
    m->final = *final;
    m->final.path = m->path;
    m->final.error = NULL;
    m->state = KEPT_DONE;
    /* A failed end (live) is replayed as one, with its error. */
    if (final->status == ET_MEDIA_FAILED) {
        if (!(m->error = strdup(final->error ? final->error : "failed")))
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory", m->path);
        m->final.error = m->error;
    }
    return ET_OK;
}

static int memory_fail_media(et_sink *sink, const et_media_info *media, const char *error, int begun)
{
    memory_sink *m = (memory_sink *)sink;
    int rc = begun ? ET_OK : keep_media(m, media);
    if (rc != ET_OK)
        return rc;
    m->count = 0; /* nothing partial is kept */
    m->media = *media;
    m->media.path = m->path;
    m->error = strdup(error ? error : "failed");
    m->media.error = m->error;
    m->begun = begun;
    m->state = KEPT_FAILED;
    return m->error ? ET_OK : et_error_set(ET_ERR_NOMEM, "%s: out of memory", m->path);
}

static int memory_media_done(et_sink *sink, const char *path, int64_t size, int64_t mtime)
{
    (void)sink, (void)path, (void)size, (void)mtime;
    return 0;
}

/* Rows are only ever read back whole (et_sink_replay): nothing to publish early. */
static int memory_checkpoint(et_sink *sink, const et_media_info *progress)
{
    (void)sink;
    (void)progress;
    return ET_OK;
}

static int memory_close(et_sink *sink)
{
    memory_sink *m = (memory_sink *)sink;
    memory_reset(m);
    free(m->observations);
    free(m);
    return ET_OK;
}

static const et_sink_ops memory_ops = {memory_begin_media, memory_write_observation, memory_end_media,
                                       memory_fail_media,  memory_media_done,        memory_checkpoint,
                                       memory_close};

int et_sink_memory_open(et_sink **out)
{
    memory_sink *m = calloc(1, sizeof *m);
    char *name = strdup("memory");
    if (!m || !name) {
        free(m);
        free(name);
        return et_error_set(ET_ERR_NOMEM, "out of memory for a result buffer");
    }
    m->base.ops = &memory_ops;
    m->base.name = name;
    m->base.format = ET_SINK_MEMORY;
    *out = &m->base;
    return ET_OK;
}

int et_sink_replay(et_sink *memory, et_sink *target)
{
    if (memory->ops != &memory_ops)
        return et_error_set(ET_ERR_USAGE, "%s: not a memory sink", memory->name);
    memory_sink *m = (memory_sink *)memory;
    int rc = ET_OK;
    switch (m->state) {
    case KEPT_NONE:
        break;
    case KEPT_OPEN: /* abandoned without an end: like a failure, nothing is kept */
    case KEPT_FAILED:
        rc = et_sink_fail_media(target, &m->media, m->error ? m->error : "abandoned");
        break;
    case KEPT_DONE:
        if ((rc = et_sink_begin_media(target, &m->media)) != ET_OK)
            break;
        for (size_t i = 0; i < m->count && rc == ET_OK; i++)
            rc = et_sink_write_observation(target, &m->observations[i]);
        if (rc == ET_OK)
            rc = et_sink_end_media(target, &m->final, m->tracks, m->ntracks);
        else if (target->in_media)
            et_sink_fail_media(target, &m->media, et_error_message());
        break;
    }
    memory_reset(m);
    return rc;
}
