/* analyze --events: a track's first observation and every change of its
 * label become one JSON Lines object, flushed at once:
 *   {"path":"cam.ts","t":3.040,"track":1,"person":1,"from":"neutral","to":"happy","confidence":0.8123}
 * "from" is null when the track appears; "person" when persons are not linked. */
#include "analyze_events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/json.h"

struct analyze_events {
    FILE *f;
    int is_stdout;
    char *name;
    et_strbuf source;    /* the current input's path as a JSON string */
    int *last;           /* last label per track id, -1 before its first */
    int capacity;
    et_strbuf line;
};

int analyze_events_open(analyze_events **out, const char *path)
{
    analyze_events *e = calloc(1, sizeof *e);
    *out = NULL;
    if (!e || !(e->name = strdup(strcmp(path, "-") ? path : "standard output"))) {
        free(e);
        fprintf(stderr, "emotrace: analyze: %s: out of memory\n", path);
        return -1;
    }
    e->is_stdout = !strcmp(path, "-");
    e->f = e->is_stdout ? stdout : fopen(path, "w");
    if (!e->f) {
        fprintf(stderr, "emotrace: analyze: %s: cannot create: %s\n", path, strerror(errno));
        free(e->name);
        free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void analyze_events_begin(analyze_events *e, const char *source)
{
    e->source.length = 0;
    et_strbuf_json_string(&e->source, source);
    for (int i = 0; i < e->capacity; i++)
        e->last[i] = -1;
}

/* The slot of track id, grown as new ids appear. */
static int *last_of(analyze_events *e, int id)
{
    if (id < 0)
        return NULL;
    if (id >= e->capacity) {
        int cap = e->capacity ? e->capacity : 16;
        while (cap <= id)
            cap *= 2;
        int *grown = realloc(e->last, (size_t)cap * sizeof *grown);
        if (!grown)
            return NULL;
        for (int i = e->capacity; i < cap; i++)
            grown[i] = -1;
        e->last = grown;
        e->capacity = cap;
    }
    return &e->last[id];
}

int analyze_events_on_frame(const et_frame_result *r, void *ctx)
{
    analyze_events *e = ctx;
    for (int i = 0; i < r->count; i++) {
        const et_observation *o = &r->observations[i];
        int *last = last_of(e, o->track);
        if (!last)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory for track %d", e->name, o->track);
        if (*last == o->emotion)
            continue;
        e->line.length = 0;
        et_strbuf_printf(&e->line, "{\"path\":%s,\"t\":%.3f,\"track\":%d,\"person\":", e->source.data, o->t,
                         o->track);
        if (o->person > 0)
            et_strbuf_printf(&e->line, "%d,\"from\":", o->person);
        else
            et_strbuf_printf(&e->line, "null,\"from\":");
        if (*last < 0)
            et_strbuf_printf(&e->line, "null");
        else
            et_strbuf_json_string(&e->line, et_emotion_names[*last]);
        et_strbuf_printf(&e->line, ",\"to\":\"%s\",\"confidence\":%.4f}\n", et_emotion_names[o->emotion],
                         o->prob[o->emotion]);
        if (e->line.failed || e->source.failed)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory", e->name);
        errno = 0;
        if (fwrite(e->line.data, 1, e->line.length, e->f) != e->line.length || fflush(e->f) != 0)
            return et_error_set(ET_ERR_IO, "%s: cannot write events: %s", e->name, strerror(errno));
        *last = o->emotion;
    }
    return ET_OK;
}

int analyze_events_close(analyze_events *e)
{
    if (!e)
        return 0;
    int bad = ferror(e->f);
    if (!e->is_stdout)
        bad |= fclose(e->f) != 0;
    free(e->last);
    free(e->name);
    et_strbuf_free(&e->source);
    et_strbuf_free(&e->line);
    free(e);
    return bad;
}
