/* emotrace analyze: videos, images and image folders in, per-face per-frame
 * emotion timelines out (SQLite, CSV or JSON Lines). The steps: parse
 * options (analyze_options.c) -> load models -> list inputs -> run ->
 * report. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "analyze.h"
#include "analyze_events.h"
#include "cli.h"
#include "emotrace/analyzer.h"
#include "emotrace/annotate.h"
#include "emotrace/batch.h"
#include "emotrace/error.h"
#include "emotrace/json.h"
#include "emotrace/sha256.h"
#include "emotrace/weights_path.h"

static volatile sig_atomic_t interrupt_count;
static volatile int stop_now, finish_now;

static void on_signal(int sig)
{
    (void)sig;
    interrupt_count++;
    finish_now = 1; /* a live source ends here, as if its stream had ended */
    /* The first signal lets the current file finish; a second abandons it. */
    if (interrupt_count > 1)
        stop_now = 1;
}

typedef struct {
    const char *path;
    int tty;
    double last_print;
} progress_state;

static void show_progress(const et_progress *p, void *ctx)
{
    progress_state *s = ctx;
    if (!s->tty || p->elapsed - s->last_print < 0.25)
        return;
    s->last_print = p->elapsed;
    double fps = p->elapsed > 0 ? p->frames_analyzed / p->elapsed : 0;
    if (p->duration > 0) {
        double fraction = p->t / p->duration;
        double eta = fraction > 0 ? p->elapsed * (1 - fraction) / fraction : 0;
        fprintf(stderr, "\r\033[K%s  %3.0f%%  %.0f frames/s  ETA %d:%02d", s->path, 100 * fraction, fps,
                (int)eta / 60, (int)eta % 60);
    } else {
        fprintf(stderr, "\r\033[K%s  %ld frames  %.0f frames/s", s->path, p->frames_analyzed, fps);
    }
}

static void print_warning(const char *message, void *ctx)
{
    if (!*(int *)ctx)
        fprintf(stderr, "emotrace: warning: %s\n", message);
}

/* The frame consumers (--annotate, --events): each sees every frame of the
 * analysis, in the order they were added, and may be told when a new input
 * begins. The output sink is not one of them: it also opens each item with
 * its size and time, closes it with the track summaries or rolls it back,
 * answers --resume, has one memory copy per --jobs worker replayed in
 * input order, and an error of its own ends the run rather than the item;
 * none of that is a frame. */
typedef struct {
    void (*begin)(const char *path, void *ctx); /* NULL: nothing to do */
    int (*on_frame)(const et_frame_result *r, void *ctx);
    void *ctx;
} frame_consumer;

typedef struct {
    frame_consumer items[2];
    int count;
} frame_consumers;

static void frame_consumers_add(frame_consumers *l, frame_consumer c)
{
    l->items[l->count++] = c;
}

static void frame_consumers_begin(const frame_consumers *l, const char *path)
{
    for (int i = 0; i < l->count; i++)
        if (l->items[i].begin)
            l->items[i].begin(path, l->items[i].ctx);
}

/* The analyzer's on_frame: the first consumer that fails fails the item. */
static int frame_consumers_on_frame(const et_frame_result *r, void *ctx)
{
    const frame_consumers *l = ctx;
    int rc = ET_OK;
    for (int i = 0; rc == ET_OK && i < l->count; i++)
        rc = l->items[i].on_frame(r, l->items[i].ctx);
    return rc;
}

static void events_begin(const char *path, void *ctx)
{
    analyze_events_begin(ctx, path);
}

typedef struct {
    int quiet;
    progress_state progress;
    const frame_consumers *consumers;
} item_printer;

static void start_item(const et_media_item *item, void *ctx)
{
    item_printer *p = ctx;
    p->progress.path = item->path;
    p->progress.last_print = 0;
    frame_consumers_begin(p->consumers, item->path);
}

static void print_item(const et_batch_report *r, void *ctx)
{
    item_printer *p = ctx;
    if (p->progress.tty && !r->skipped)
        fprintf(stderr, "\r\033[K");
    if (r->rc != ET_OK) {
        fprintf(stderr, "emotrace: %s\n", et_error_message());
    } else if (!p->quiet && !r->skipped) {
        const et_analyzer_stats *st = r->stats;
        double total = st->decode + st->detect + st->align + st->cnn + st->temporal + st->store;
        fprintf(stderr, "%s: %ld frames, %ld track%s, %ld faces, %.1f s (%.0f frames/s)", r->item->path,
                st->frames_analyzed, st->tracks, st->tracks == 1 ? "" : "s", st->observations, total,
                total > 0 ? st->frames_analyzed / total : 0.0);
        if (r->item->kind == ET_MEDIA_STREAM)
            fprintf(stderr, ", %ld frames dropped (analysis behind the source)", st->frames_dropped);
        fprintf(stderr, "\n");
    }
}

/* The models, where each came from, and what the output records of them
 * and of the settings. */
typedef struct {
    et_face_detector *detector;
    et_emotion_classifier classifier;
    et_temporal *temporal; /* NULL: none found, --no-temporal or --stills */
    et_face_embedder *embedder;
    et_person_gallery *gallery;
    const char *cnn_path, *lstm_path;
    char cnn_found[1024], lstm_found[1024], detector_found[1024], embedder_path[1024];
    et_strbuf weights, settings;
} analyze_models;

static int temporal_load(analyze_models *m, const analyze_args *a)
{
    m->lstm_path = a->lstm_path;
    if (!m->lstm_path && et_weights_find("emotion-lstm.safetensors", m->lstm_found, sizeof m->lstm_found) == ET_OK)
        m->lstm_path = m->lstm_found;
    if (!m->lstm_path) {
        if (!a->quiet)
            fprintf(stderr, "emotrace: warning: no temporal model found; reporting the CNN's per-frame output\n");
        return ET_OK;
    }
    int rc = et_temporal_load(&m->temporal, m->lstm_path);
    if (rc != ET_OK)
        return rc;
    if (et_temporal_embedding_size(m->temporal) != m->classifier.embedding_size)
        return et_error_set(ET_ERR_FORMAT, "%s: made for a CNN embedding of %d values, %s gives %d", m->lstm_path,
                            et_temporal_embedding_size(m->temporal), m->cnn_path, m->classifier.embedding_size);
    return ET_OK;
}

static int persons_open(analyze_models *m, const analyze_args *a)
{
    int rc = et_weights_find("face-embed.safetensors", m->embedder_path, sizeof m->embedder_path);
    if (rc == ET_OK)
        rc = et_face_embedder_load(&m->embedder, m->embedder_path);
    if (rc == ET_OK && a->persons_across)
        rc = et_person_gallery_create(&m->gallery, a->ao.person_threshold);
    return rc;
}

static int models_load(analyze_models *m, const analyze_args *a)
{
    m->cnn_path = a->cnn_path;
    int rc = ET_OK;
    if (!m->cnn_path && (rc = et_weights_find("emotion-cnn.safetensors", m->cnn_found, sizeof m->cnn_found)) == ET_OK)
        m->cnn_path = m->cnn_found;
    if (rc == ET_OK)
        rc = et_emotion_classifier_load(&m->classifier, m->cnn_path);
    if (rc != ET_OK)
        return rc;
    m->classifier.flip_tta = a->tta;
    if ((rc = et_face_detector_load(&m->detector, a->detector_path, &a->detector_options)) != ET_OK)
        return rc;
    if (!a->no_temporal && !a->input_options.stills && (rc = temporal_load(m, a)) != ET_OK)
        return rc;
    return a->no_persons ? ET_OK : persons_open(m, a);
}

static void append_sha(et_strbuf *b, const char *label, const char *hex)
{
    et_strbuf_printf(b, "%s%s=%s", b->length ? " " : "", label, hex);
}

static void append_file_sha(et_strbuf *b, const char *label, const char *path)
{
    char hex[65];
    if (et_sha256_file(path, hex) == ET_OK)
        append_sha(b, label, hex);
}

/* The weights' hashes for the output (the CNN file hashed once, for the
 * output and the check against the LSTM). */
static void weights_describe(analyze_models *m, const analyze_args *a)
{
    char cnn_hex[65];
    int cnn_hashed = et_sha256_file(m->cnn_path, cnn_hex) == ET_OK;
    if (cnn_hashed)
        append_sha(&m->weights, "emotion-cnn", cnn_hex);
    /* The LSTM reads the CNN's embedding: it is only valid with the CNN it
     * was trained on. */
    const char *trained_with = m->temporal ? et_temporal_cnn_sha256(m->temporal) : "";
    if (cnn_hashed && *trained_with && strcmp(cnn_hex, trained_with) != 0 && !a->quiet)
        fprintf(stderr, "emotrace: warning: %s was trained with another emotion CNN (sha256 %.12s..., this one "
                        "%.12s...); retrain it (emotrace train --temporal) or use --no-temporal\n",
                m->lstm_path, trained_with, cnn_hex);
    if (m->temporal)
        append_file_sha(&m->weights, "emotion-lstm", m->lstm_path);
    const char *detector = a->detector_options.model == ET_FACE_MODEL_FULL ? "face-full.safetensors"
                                                                           : "face-short.safetensors";
    if (a->detector_path)
        append_file_sha(&m->weights, "detector", a->detector_path);
    else if (et_weights_find(detector, m->detector_found, sizeof m->detector_found) == ET_OK)
        append_file_sha(&m->weights, "detector", m->detector_found);
    if (m->embedder)
        append_file_sha(&m->weights, "face-embed", m->embedder_path);
}

static void settings_describe(analyze_models *m, const analyze_args *a)
{
    const et_analyzer_options *ao = &a->ao;
    const et_face_detector_options *d = &a->detector_options;
    et_strbuf_printf(&m->settings,
                     "detector=%s min_score=%g min_face=%g max_faces=%d max_gap=%g fps=%g start=%g end=%g "
                     "image_fps=%g stills=%d temporal=%s lookahead=%g tta=%s live_policy=%s label_margin=%g "
                     "label_dwell=%g persons=%s person_threshold=%g store_embeddings=%d",
                     d->model == ET_FACE_MODEL_FULL ? "full" : "short", d->min_score, d->min_face_px, d->max_faces,
                     ao->max_gap, ao->max_fps, ao->start, ao->end, ao->image_fps, ao->stills,
                     m->temporal ? "lstm" : "none", m->temporal ? ao->lookahead : 0.0, a->tta ? "flip" : "none",
                     ao->live_policy == ET_LIVE_ALL ? "all" : "latest", ao->label_margin, ao->label_dwell,
                     a->no_persons ? "none" : a->persons_across ? "run" : "file", ao->person_threshold,
                     ao->store_embeddings);
    et_strbuf_printf(&m->settings, " detect_every=%d", ao->detect_every);
}

static void models_free(analyze_models *m)
{
    et_temporal_free(m->temporal);
    et_face_detector_free(m->detector);
    et_emotion_classifier_free(&m->classifier);
    et_face_embedder_free(m->embedder);
    et_person_gallery_free(m->gallery);
    et_strbuf_free(&m->weights);
    et_strbuf_free(&m->settings);
}

/* Inputs: each expanded now; one that cannot be read is listed, to be
 * reported in turn. */
static int inputs_list(et_media_list *list, analyze_args *a)
{
    a->input_options.warn = print_warning;
    a->input_options.warn_ctx = &a->quiet;
    for (int i = 0; i < a->input_count; i++) {
        const char *path = a->inputs[i];
        int rc = strcmp(path, "-") ? et_media_list_add_path(list, path, &a->input_options)
                 : a->stdin_media  ? et_media_list_add_live(list, "-")
                                   : et_media_list_add_stream(list, stdin, &a->input_options);
        if (rc != ET_OK && (rc = et_media_list_add_unreadable(list, path)) != ET_OK)
            return rc;
    }
    if (a->shards)
        et_media_list_shard(list, a->shard, a->shards);
    return ET_OK;
}

/* A live source has no end: its results must reach the output as they
 * come, which a job's buffer would hold back. Returns -1 or EXIT_USAGE. */
static int inputs_check_live(const et_media_list *list, int jobs)
{
    for (size_t k = 0; jobs > 1 && k < list->count; k++)
        if (list->items[k].kind == ET_MEDIA_STREAM)
            return cli_usage_error("analyze", "%s: live sources need --jobs 1", list->items[k].path);
    return -1;
}

/* One run: the output, the frame consumers and what the batch reported. */
typedef struct {
    et_sink *sink;
    et_annotator *annotator;
    analyze_events *events;
    frame_consumers consumers;
    item_printer printer;
    et_batch_summary summary;
} analyze_run;

/* Opens the output and the frame consumers, attached to a->ao; on failure
 * the error is printed. */
static int run_open(analyze_run *r, analyze_args *a, const analyze_models *m)
{
    et_run_info info = {ET_VERSION, m->weights.data ? m->weights.data : "", m->settings.data ? m->settings.data : ""};
    int rc = et_sink_open(&r->sink, a->output, a->format, &info);
    /* The annotated video keeps every frame, also those --fps skips (they
     * come with no faces, which the events pass over). */
    if (rc == ET_OK && a->annotate_path && (rc = et_annotator_open(&r->annotator, a->annotate_path)) == ET_OK) {
        frame_consumers_add(&r->consumers, (frame_consumer){NULL, et_annotator_on_frame, r->annotator});
        a->ao.on_frame_skipped = 1;
    }
    if (rc != ET_OK) {
        fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
        return rc;
    }
    if (a->events_path) {
        if (analyze_events_open(&r->events, a->events_path) != 0)
            return ET_ERR_IO;
        frame_consumers_add(&r->consumers, (frame_consumer){events_begin, analyze_events_on_frame, r->events});
    }
    if (r->consumers.count) {
        a->ao.on_frame = frame_consumers_on_frame;
        a->ao.on_frame_ctx = &r->consumers;
    }
    return ET_OK;
}

static void run_batch(analyze_run *r, analyze_args *a, analyze_models *m, const et_media_list *list)
{
    et_analyzer_options *ao = &a->ao;
    ao->detector = m->detector;
    ao->classifier = &m->classifier;
    ao->temporal = m->temporal;
    ao->embedder = m->embedder;
    ao->persons_across = m->gallery;
    ao->stop = &stop_now;
    ao->finish = &finish_now;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    r->printer = (item_printer){a->quiet, {NULL, isatty(2) && !a->quiet && a->jobs == 1, 0}, &r->consumers};
    ao->progress = show_progress;
    ao->progress_ctx = &r->printer.progress;
    et_batch_options bo = {a->jobs, a->threads, a->resume, a->detector_path, m->temporal ? m->lstm_path : NULL,
                           m->embedder_path, a->detector_options, &interrupt_count, start_item, print_item,
                           &r->printer};
    if (et_batch_run(&bo, ao, list, r->sink, &r->summary) != ET_OK && !r->summary.output_failed) {
        fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
        r->summary.failed++;
    }
}

/* Finishes the outputs and prints the run's line; returns the exit status. */
static int run_report(analyze_run *r, const analyze_args *a, const et_media_list *list)
{
    long failed = r->summary.failed, done = r->summary.done, skipped = r->summary.skipped;
    long undone = (long)list->count - done - failed - skipped;
    if (r->annotator && (!done || et_annotator_finish(r->annotator) != ET_OK)) {
        fprintf(stderr, "emotrace: analyze: %s: %s\n", a->annotate_path,
                done      ? et_error_message()
                : skipped ? "not written: the input is already done in the output (--resume skipped it)"
                          : "not written: the input was not analysed");
        failed++;
    }
    if (analyze_events_close(r->events) != 0) {
        fprintf(stderr, "emotrace: analyze: %s: cannot write events\n", a->events_path);
        failed++;
    }
    r->events = NULL;
    if (et_sink_close(r->sink) != ET_OK) {
        fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
        failed++;
    }
    r->sink = NULL;
    if (!a->quiet && (list->count > 1 || skipped))
        fprintf(stderr, "%ld done, %ld failed, %ld skipped (already done)%s\n", done, failed, skipped,
                undone > 0 ? ", interrupted" : "");
    /* An interrupt that left inputs undone fails the run; one that ended a
     * live source (or came during the last input) does not. */
    return failed || undone > 0 ? EXIT_SOME_FAILED : EXIT_OK;
}

static void run_close(analyze_run *r)
{
    analyze_events_close(r->events);
    et_sink_close(r->sink);
    et_annotator_close(r->annotator);
    r->annotator = NULL;
}

int cmd_analyze(int argc, char **argv)
{
    analyze_args a;
    int status = analyze_args_parse(&a, argc, argv);
    if (status >= 0)
        return status;
    if (a.threads > 0 && a.jobs == 1)
        openblas_set_num_threads(a.threads);
    /* SIGPIPE keeps its default: "analyze ... -o - | head" ends quietly, as
     * other filters do. File outputs never see it. */
    analyze_models m = {0};
    et_media_list list = {0};
    analyze_run run = {0};
    status = EXIT_SOME_FAILED;
    if (models_load(&m, &a) != ET_OK) {
        fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
        goto done;
    }
    weights_describe(&m, &a);
    settings_describe(&m, &a);
    if (inputs_list(&list, &a) != ET_OK) {
        fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
        goto done;
    }
    if ((status = inputs_check_live(&list, a.jobs)) >= 0)
        goto done;
    status = EXIT_SOME_FAILED;
    if (run_open(&run, &a, &m) != ET_OK)
        goto done;
    run_batch(&run, &a, &m, &list);
    status = run_report(&run, &a, &list);
done:
    run_close(&run);
    et_media_list_free(&list);
    models_free(&m);
    return status;
}
