/* Private to src/store: what every sink implementation provides. The
 * public functions in sink.c check arguments and call order, keep the first
 * output error, and then call these. */
#ifndef EMOTRACE_SINK_INTERNAL_H
#define EMOTRACE_SINK_INTERNAL_H

#include "emotrace/json.h"
#include "emotrace/store.h"

typedef struct {
    int (*begin_media)(et_sink *sink, const et_media_info *media);
    int (*write_observation)(et_sink *sink, const et_observation *obs);
    int (*end_media)(et_sink *sink, const et_media_info *final, const et_track_summary *tracks,
                     int ntracks);
    /* begun: whether begin_media succeeded for this media. */
    int (*fail_media)(et_sink *sink, const et_media_info *media, const char *error, int begun);
    int (*media_done)(et_sink *sink, const char *path, int64_t size, int64_t mtime);
    /* Makes the current media's rows so far readable (et_sink_checkpoint). */
    int (*checkpoint)(et_sink *sink, const et_media_info *progress);
    /* Flushes, releases everything and frees the sink (but not name). */
    int (*close)(et_sink *sink);
} et_sink_ops;

/* First member of every implementation's struct. */
struct et_sink {
    const et_sink_ops *ops;
    et_sink_format format;
    char *name;          /* output path, or "standard output", for messages */
    int in_media;
    int flush_lines;
    double commit_interval; /* seconds between live commits; 0: per media file */
    int error_code;      /* first output error, repeated from then on */
    char *error_message;
};

int et_sink_sqlite_open(et_sink **out, const char *path, const et_run_info *run);
/* Checks that db (named name in messages) holds the emotrace schema;
 * an empty one gets the tables when create is set, else is an error. A
 * failure rolls back the transaction that db has open. */
typedef struct sqlite3 sqlite3;
int et_store_sqlite_check(sqlite3 *db, const char *name, int create);
/* CSV or JSON Lines; path "-" is standard output. */
int et_sink_text_open(et_sink **out, const char *path, et_sink_format format);

/* Text lines (src/store/format_*.c). Each appends to b, without newline
 * for fields and with it for whole lines. */
typedef struct {
    void (*header)(et_strbuf *b);                       /* NULL when none */
    void (*path_field)(et_strbuf *b, const char *path); /* path as written in every row */
    void (*row)(et_strbuf *b, const char *path_field, const et_observation *obs);
} et_text_format;

extern const et_text_format et_csv_format;
extern const et_text_format et_jsonl_format;

/* Appends v rounded to decimals (0..9) places with '.' whatever the
 * locale; non-finite values append nonfinite instead. */
void et_text_fixed(et_strbuf *b, double v, int decimals, const char *nonfinite);

#endif
