/* Result stores: where per-face, per-frame emotion observations go.
 *
 * A sink receives media files one at a time:
 *
 *     et_sink_open(&sink, "out.sqlite", NULL, &run);
 *     for each file:
 *         et_sink_begin_media(sink, &media);
 *         for each face in each frame: et_sink_write_observation(sink, &obs);
 *         et_sink_end_media(sink, &final, tracks, ntracks);
 *         (or et_sink_fail_media(sink, &media, "why") at any point)
 *     et_sink_close(sink);
 *
 * Three formats: SQLite (one transaction per media file, so a crash never
 * leaves half a file, or per interval for live sources, which keep their
 * rows when they fail; failures are recorded; --resume can skip finished
 * files), CSV (RFC 4180) and JSON Lines, the latter two streamed. After any
 * output error the sink refuses further work (repeating the first error);
 * only et_sink_close is still useful. */
#ifndef EMOTRACE_STORE_H
#define EMOTRACE_STORE_H

#include <stdint.h>

#include "emotrace/emotion.h" /* ET_EMOTIONS, et_emotion_names (FER2013 order) */

typedef enum { ET_MEDIA_DONE, ET_MEDIA_FAILED } et_media_status;

/* Persons not linked (0 in every row), linked within each file (numbers
 * per file, like tracks), or across all files of the run (one number per
 * person in every file of the run). */
typedef enum { ET_PERSONS_NONE, ET_PERSONS_FILE, ET_PERSONS_RUN } et_persons_scope;

/* One input file. Unknown or not applicable numbers are 0 (a still image
 * has no duration or fps); the SQLite store writes them as NULL. */
typedef struct {
    const char *path;        /* as given on the command line */
    int64_t size;            /* bytes */
    int64_t mtime;           /* modification time, seconds since the epoch */
    double duration;         /* seconds */
    double fps;              /* frames per second of the source */
    int width, height;       /* pixels */
    int64_t frames_analyzed; /* frames actually run through the detector */
    int64_t frames_dropped;  /* live sources: frames analysis had no time for */
    et_media_status status;
    const char *error;       /* why it failed, or NULL */
    /* How person numbers were given (see et_observation.person). */
    et_persons_scope persons;
} et_media_info;

/* One face in one frame. Times and boxes are relative to the media file. */
typedef struct {
    int64_t frame;           /* frame index in the source, from 0 */
    double t;                /* seconds from the start */
    int track;               /* per-file track number */
    int person;              /* the track's person, 1, 2, ...; 0 when persons are not linked */
    double x, y, w, h;       /* face box in source pixels, top-left origin */
    double score;            /* detector confidence, 0..1 */
    double prob[ET_EMOTIONS];
    int emotion;             /* index into et_emotion_names, usually the argmax of prob */
} et_observation;

/* What one track looked like over the whole file. */
typedef struct {
    int track;
    int person;              /* as in its observations */
    const float *embedding;  /* the track's face descriptor, or NULL: stored only when asked */
    int embedding_size;
    double first_t, last_t;  /* seconds */
    int64_t frames;          /* observations in the track */
    int emotion;             /* dominant emotion index */
    double mean_prob[ET_EMOTIONS];
} et_track_summary;

/* Provenance of one invocation (SQLite keeps it in the runs table). Any
 * field may be NULL: tool_version defaults to this build, others to "". */
typedef struct {
    const char *tool_version;
    const char *weights;     /* SHA-256 of each weights file, e.g. "emotion-cnn.safetensors=ab12..." */
    const char *options;     /* the analysis options as text */
} et_run_info;

/* ET_SINK_MEMORY: see et_sink_memory_open. */
typedef enum { ET_SINK_SQLITE, ET_SINK_CSV, ET_SINK_JSONL, ET_SINK_MEMORY } et_sink_format;

typedef struct et_sink et_sink;

/* Picks the format for an output path: an explicit format name ("sqlite",
 * "csv", "jsonl") wins, else the extension (.sqlite .sqlite3 .db .csv
 * .jsonl, any case); "-" means standard output and CSV. Returns
 * ET_ERR_USAGE with a message when neither tells or the pair is impossible
 * (SQLite cannot go to standard output). */
int et_sink_format_choose(const char *path, const char *format, et_sink_format *out);
const char *et_sink_format_name(et_sink_format format);

/* Opens (creates or truncates; SQLite: creates or adds to) an output.
 * format NULL = by extension. run may be NULL. */
int et_sink_open(et_sink **out, const char *path, const char *format, const et_run_info *run);
/* Text sinks: flush after every line instead of after every media file
 * (for watching results live through a pipe). No effect on SQLite. */
void et_sink_set_flush_lines(et_sink *sink, int on);
et_sink_format et_sink_format_of(const et_sink *sink);
/* Live sources have no end, so SQLite's one transaction per media file
 * becomes one per interval: with seconds > 0, et_sink_checkpoint commits
 * what the current media has so far whenever that long has passed since
 * the last commit. 0 (the default): one transaction per media file. */
void et_sink_set_commit_interval(et_sink *sink, double seconds);
/* Called after each analysed frame of the current media: text sinks flush
 * (lines are usable while a run goes on); SQLite commits when the commit
 * interval says so, with the media row updated from progress and marked
 * failed ("still being analysed") until et_sink_end_media. */
int et_sink_checkpoint(et_sink *sink, const et_media_info *progress);

/* Starts a media file. SQLite: opens its transaction and drops any earlier
 * result for the same path (committed only with the new one). */
int et_sink_begin_media(et_sink *sink, const et_media_info *media);
int et_sink_write_observation(et_sink *sink, const et_observation *obs);
/* Finishes the current media file with its final record (every field but
 * path is taken from final) and track summaries (only SQLite keeps them,
 * and there derives the persons table from the observations).
 * A final status of ET_MEDIA_FAILED (with final->error) acts like
 * et_sink_fail_media, except with a commit interval (live sources): then
 * the rows already written stay, the tracks are stored and the media row
 * records the failure. Text sinks flush here. */
int et_sink_end_media(et_sink *sink, const et_media_info *final, const et_track_summary *tracks,
                      int ntracks);
/* Records that a media file failed, whether or not it was begun. SQLite
 * keeps a 'failed' row with the error and no observations (with a commit
 * interval: with the observations written, as et_sink_end_media); text
 * sinks cannot take back lines already written and just flush. */
int et_sink_fail_media(et_sink *sink, const et_media_info *media, const char *error);
/* 1 if the store already holds path with this size and mtime and status
 * done, 0 if not (always 0 for text sinks), negative on error. */
int et_sink_media_done(et_sink *sink, const char *path, int64_t size, int64_t mtime);
/* Flushes and frees. A media file still open is abandoned (SQLite rolls it
 * back). Returns the first error of the final flush/close; NULL is fine. */
int et_sink_close(et_sink *sink);
/* The first output error of sink (ET_OK while it works): once set the sink
 * refuses all further work. */
int et_sink_error(const et_sink *sink);

/* A sink that keeps one media file's results in memory (parallel jobs
 * analyse into one each); et_sink_replay then writes the kept file into
 * target as one unit (begin, observations, end; or the failure) and
 * empties the memory sink. Returns target's error, if any. */
int et_sink_memory_open(et_sink **out);
int et_sink_replay(et_sink *memory, et_sink *target);

#endif
