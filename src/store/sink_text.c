/* The streaming text sinks (CSV, JSON Lines): lines go to a file or to
 * standard output, flushed after every media file or every line, and every
 * write is checked so that a full disk or a closed pipe is an error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "sink_internal.h"

typedef struct {
    et_sink base;
    const et_text_format *format;
    FILE *f;
    int is_stdout;
    int last_errno; /* of the last failed write, for a close that repeats it */
    et_strbuf line;
    et_strbuf path_field; /* the current media's path, already quoted */
} text_sink;

static void strbuf_clear(et_strbuf *b)
{
    b->length = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int write_error(text_sink *t, int err)
{
    if (err)
        t->last_errno = err;
    else
        err = t->last_errno;
    return et_error_set(ET_ERR_IO, "%s: cannot write: %s", t->base.name,
                        err ? strerror(err) : "unknown error");
}

static int text_flush(text_sink *t)
{
    errno = 0;
    if (fflush(t->f) != 0 || ferror(t->f))
        return write_error(t, errno);
    return ET_OK;
}

/* Writes and empties t->line. */
static int text_put_line(text_sink *t)
{
    if (t->line.failed)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory formatting output", t->base.name);
    errno = 0;
    if (t->line.length && fwrite(t->line.data, 1, t->line.length, t->f) != t->line.length)
        return write_error(t, errno);
    strbuf_clear(&t->line);
    return t->base.flush_lines ? text_flush(t) : ET_OK;
}

static int text_begin_media(et_sink *sink, const et_media_info *media)
{
    text_sink *t = (text_sink *)sink;
    strbuf_clear(&t->path_field);
    t->format->path_field(&t->path_field, media->path);
    if (t->path_field.failed)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory formatting output", sink->name);
    return ET_OK;
}

static int text_write_observation(et_sink *sink, const et_observation *obs)
{
    text_sink *t = (text_sink *)sink;
    t->format->row(&t->line, t->path_field.data, obs);
    return text_put_line(t);
}

static int text_end_media(et_sink *sink, const et_media_info *final, const et_track_summary *tracks,
                          int ntracks)
{
    (void)final, (void)tracks, (void)ntracks;
    return text_flush((text_sink *)sink);
}

static int text_fail_media(et_sink *sink, const et_media_info *media, const char *error, int begun)
{
    (void)media, (void)error, (void)begun;
    return text_flush((text_sink *)sink);
}

static int text_checkpoint(et_sink *sink, const et_media_info *progress)
{
    (void)progress;
    return text_flush((text_sink *)sink);
}

static int text_media_done(et_sink *sink, const char *path, int64_t size, int64_t mtime)
{
    (void)sink, (void)path, (void)size, (void)mtime;
    return 0;
}

static int text_close(et_sink *sink)
{
    text_sink *t = (text_sink *)sink;
    int rc = ET_OK;
    if (t->f) {
        if (t->is_stdout) {
            rc = text_flush(t);
        } else {
            errno = 0;
            int bad = ferror(t->f);
            if (fclose(t->f) != 0 || bad)
                rc = write_error(t, errno);
        }
    }
    et_strbuf_free(&t->line);
    et_strbuf_free(&t->path_field);
    free(t);
    return rc;
}

static const et_sink_ops text_ops = {text_begin_media, text_write_observation, text_end_media,
                                     text_fail_media,  text_media_done,        text_checkpoint,
                                     text_close};

int et_sink_text_open(et_sink **out, const char *path, et_sink_format format)
{
    *out = NULL;
    text_sink *t = calloc(1, sizeof *t);
    if (!t)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    t->base.ops = &text_ops;
    t->format = format == ET_SINK_CSV ? &et_csv_format : &et_jsonl_format;
    t->is_stdout = !strcmp(path, "-");
    t->base.name = strdup(t->is_stdout ? "standard output" : path);
    if (!t->base.name) {
        free(t);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    if (t->is_stdout) {
        t->f = stdout;
    } else if (!(t->f = fopen(path, "w"))) {
        int rc = et_error_set(ET_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        free(t->base.name);
        free(t);
        return rc;
    }
    int rc = ET_OK;
    if (t->format->header) {
        t->format->header(&t->line);
        rc = text_put_line(t);
    }
    if (rc != ET_OK) {
        char *name = t->base.name;
        text_close(&t->base);
        free(name);
        return rc;
    }
    *out = &t->base;
    return ET_OK;
}
