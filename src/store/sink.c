/* The public sink API: format choice, argument and call-order checks, and
 * the "first error sticks" rule; the work is done by the implementations. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emotrace/error.h"
#include "sink_internal.h"

static const struct {
    const char *name;
    et_sink_format format;
} format_names[] = {{"sqlite", ET_SINK_SQLITE}, {"csv", ET_SINK_CSV}, {"jsonl", ET_SINK_JSONL}};

static const struct {
    const char *ext;
    et_sink_format format;
} extensions[] = {{".sqlite", ET_SINK_SQLITE}, {".sqlite3", ET_SINK_SQLITE}, {".db", ET_SINK_SQLITE},
                  {".csv", ET_SINK_CSV},       {".jsonl", ET_SINK_JSONL}};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

int et_sink_format_choose(const char *path, const char *format, et_sink_format *out)
{
    if (!path || !*path)
        return et_error_set(ET_ERR_USAGE, "no output file given");
    int is_stdout = !strcmp(path, "-");
    if (format) {
        for (int i = 0; i < COUNT(format_names); i++) {
            if (strcmp(format, format_names[i].name))
                continue;
            if (is_stdout && format_names[i].format == ET_SINK_SQLITE)
                return et_error_set(ET_ERR_USAGE,
                                    "an SQLite database cannot be written to standard output");
            *out = format_names[i].format;
            return ET_OK;
        }
        return et_error_set(ET_ERR_USAGE, "unknown output format '%s' (use sqlite, csv or jsonl)",
                            format);
    }
    if (is_stdout) {
        *out = ET_SINK_CSV;
        return ET_OK;
    }
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        for (int i = 0; i < COUNT(extensions); i++) {
            if (!strcasecmp(dot, extensions[i].ext)) {
                *out = extensions[i].format;
                return ET_OK;
            }
        }
    }
    return et_error_set(ET_ERR_USAGE,
                        "%s: cannot tell the output format from the name (use .sqlite, .db, .csv "
                        "or .jsonl, or name the format)",
                        path);
}

const char *et_sink_format_name(et_sink_format format)
{
    for (int i = 0; i < COUNT(format_names); i++)
        if (format_names[i].format == format)
            return format_names[i].name;
    return "unknown";
}

int et_sink_open(et_sink **out, const char *path, const char *format, const et_run_info *run)
{
    et_sink_format f = ET_SINK_CSV;
    *out = NULL;
    int rc = et_sink_format_choose(path, format, &f);
    if (rc != ET_OK)
        return rc;
    et_sink *s = NULL;
    rc = f == ET_SINK_SQLITE ? et_sink_sqlite_open(&s, path, run) : et_sink_text_open(&s, path, f);
    if (rc != ET_OK)
        return rc;
    s->format = f;
    *out = s;
    return ET_OK;
}

void et_sink_set_flush_lines(et_sink *sink, int on)
{
    sink->flush_lines = on != 0;
}

void et_sink_set_commit_interval(et_sink *sink, double seconds)
{
    sink->commit_interval = seconds > 0 ? seconds : 0;
}

et_sink_format et_sink_format_of(const et_sink *sink)
{
    return sink->format;
}

/* Repeats the first output error: once the output is broken every later
 * call would fail anyway, and the first message is the useful one. */
static int sticky_error(const et_sink *s)
{
    return et_error_set(s->error_code, "%s", s->error_message ? s->error_message : "earlier error");
}

/* Remembers rc (an implementation's failure) unless it was a usage error,
 * which left the output untouched. */
static int remember(et_sink *s, int rc)
{
    if (rc < 0 && rc != ET_ERR_USAGE && s->error_code == ET_OK) {
        s->error_code = rc;
        s->error_message = strdup(et_error_message());
    }
    return rc;
}

static int check_emotion(const et_sink *s, int emotion, const char *what)
{
    if (emotion < 0 || emotion >= ET_EMOTIONS)
        return et_error_set(ET_ERR_USAGE, "%s: %s has emotion index %d (must be 0..%d)", s->name,
                            what, emotion, ET_EMOTIONS - 1);
    return ET_OK;
}

int et_sink_begin_media(et_sink *sink, const et_media_info *media)
{
    if (sink->error_code)
        return sticky_error(sink);
    if (!media || !media->path)
        return et_error_set(ET_ERR_USAGE, "%s: media without a path", sink->name);
    if (sink->in_media)
        return et_error_set(ET_ERR_USAGE, "%s: %s begun while another media file is open",
                            sink->name, media->path);
    int rc = remember(sink, sink->ops->begin_media(sink, media));
    sink->in_media = rc == ET_OK;
    return rc;
}

int et_sink_write_observation(et_sink *sink, const et_observation *obs)
{
    if (sink->error_code)
        return sticky_error(sink);
    if (!sink->in_media)
        return et_error_set(ET_ERR_USAGE, "%s: observation written outside a media file", sink->name);
    int rc = check_emotion(sink, obs->emotion, "observation");
    if (rc != ET_OK)
        return rc;
    rc = remember(sink, sink->ops->write_observation(sink, obs));
    if (rc != ET_OK && rc != ET_ERR_USAGE)
        sink->in_media = 0; /* the implementation has abandoned it */
    return rc;
}

int et_sink_end_media(et_sink *sink, const et_media_info *final, const et_track_summary *tracks,
                      int ntracks)
{
    if (sink->error_code)
        return sticky_error(sink);
    if (!sink->in_media)
        return et_error_set(ET_ERR_USAGE, "%s: end of a media file that was not begun", sink->name);
    if (!final || ntracks < 0 || (ntracks > 0 && !tracks))
        return et_error_set(ET_ERR_USAGE, "%s: bad arguments ending a media file", sink->name);
    /* A file is one transaction, all or nothing: failed, it keeps nothing.
     * Media committed per interval (live) has shown its rows to readers
     * already: failed, it keeps them, gets its tracks, and the failure is
     * recorded on its media row. */
    if (final->status == ET_MEDIA_FAILED && sink->commit_interval <= 0)
        return et_sink_fail_media(sink, final, final->error);
    for (int i = 0; i < ntracks; i++) {
        int rc = check_emotion(sink, tracks[i].emotion, "track summary");
        if (rc != ET_OK)
            return rc;
    }
    int rc = remember(sink, sink->ops->end_media(sink, final, tracks, ntracks));
    sink->in_media = 0;
    return rc;
}

int et_sink_fail_media(et_sink *sink, const et_media_info *media, const char *error)
{
    if (sink->error_code)
        return sticky_error(sink);
    if (!media || !media->path)
        return et_error_set(ET_ERR_USAGE, "%s: media without a path", sink->name);
    int rc = remember(sink, sink->ops->fail_media(sink, media, error, sink->in_media));
    sink->in_media = 0;
    return rc;
}

int et_sink_checkpoint(et_sink *sink, const et_media_info *progress)
{
    if (sink->error_code)
        return sticky_error(sink);
    if (!sink->in_media || !progress)
        return et_error_set(ET_ERR_USAGE, "%s: checkpoint outside a media file", sink->name);
    int rc = remember(sink, sink->ops->checkpoint(sink, progress));
    if (rc != ET_OK && rc != ET_ERR_USAGE)
        sink->in_media = 0; /* the implementation has abandoned it */
    return rc;
}

int et_sink_media_done(et_sink *sink, const char *path, int64_t size, int64_t mtime)
{
    if (sink->error_code)
        return sticky_error(sink);
    if (!path)
        return et_error_set(ET_ERR_USAGE, "%s: resume check without a path", sink->name);
    return remember(sink, sink->ops->media_done(sink, path, size, mtime));
}

int et_sink_error(const et_sink *sink)
{
    return sink->error_code;
}

int et_sink_close(et_sink *sink)
{
    if (!sink)
        return ET_OK;
    char *name = sink->name, *message = sink->error_message;
    int rc = sink->ops->close(sink);
    free(name);
    free(message);
    return rc;
}
