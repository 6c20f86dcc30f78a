/* Running analyze over a list of media items: one at a time, or several at
 * once (--jobs) with the cores split between the jobs.
 *
 * Parallel jobs each have their own detector, classifier and temporal
 * model and face embedder (the nets keep per-pass scratch state, so they
 * are not shared; persons linked across files share the gallery) and
 * analyse into their own memory sink (et_sink_memory_open). The calling
 * thread is the only writer: it hands out items, and replays each finished
 * file into the output, so every file is still one SQLite transaction and
 * one contiguous block of text rows, in the order files finish. A job
 * waits until its finished file is written before taking the next, so at
 * most one file's results per job are held in memory. */
#ifndef EMOTRACE_BATCH_H
#define EMOTRACE_BATCH_H

#include <signal.h>
#include <stdint.h>

#include "emotrace/analyzer.h"

typedef struct {
    const et_media_item *item;
    int rc;                         /* ET_OK, or the error; et_error_message() holds its text */
    int skipped;                    /* resume: already done, not analysed */
    const et_analyzer_stats *stats; /* when analysed */
} et_batch_report;

typedef struct {
    int jobs;    /* items analysed at once; <= 1: one at a time in the calling thread */
    int threads; /* total thread budget shared by the jobs; 0: openblas_get_num_threads() */
    int resume;  /* skip items the sink holds as done with the same size and mtime */
    /* Where the caller's models came from, so that each further job loads
     * its own copy (detector_path NULL: the shipped one). */
    const char *detector_path, *lstm_path;
    const char *embedder_path; /* NULL: the shipped face-embed */
    et_face_detector_options detector_options;
    /* Once nonzero no item is started; running ones finish (a second
     * signal should set the analyzer's stop flag to abandon them). */
    const volatile sig_atomic_t *interrupted;
    /* Called in the calling thread before an item starts (jobs <= 1 only,
     * e.g. to label progress) and after each item is written or skipped. */
    void (*on_start)(const et_media_item *item, void *ctx);
    void (*on_item)(const et_batch_report *r, void *ctx);
    void *ctx;
} et_batch_options;

typedef struct {
    long done, failed, skipped;
    int output_failed; /* the output broke; its error went to on_item */
} et_batch_summary;

/* Analyses every item of list into sink with the analyzer options ao (its
 * models serve the first job; progress only with one job; on_frame
 * observers need one job). Returns ET_OK when the output took everything
 * (items may have failed: see summary), else the output's or a job
 * setup's error. */
int et_batch_run(const et_batch_options *b, const et_analyzer_options *ao, const et_media_list *list,
                 et_sink *sink, et_batch_summary *summary);

/* Size and mtime identifying an item for resume: for an image sequence the
 * sum of the sizes and the newest mtime. -1 if the file cannot be stat'ed. */
int et_media_identity(const et_media_item *item, int64_t *size, int64_t *mtime);

#endif
