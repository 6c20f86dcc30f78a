#include "emotrace/batch.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"

int et_media_identity(const et_media_item *item, int64_t *size, int64_t *mtime)
{
    if (item->kind == ET_MEDIA_STREAM) { /* a camera or stream is never "already done" */
        *size = *mtime = 0;
        return -1;
    }
    struct stat st;
    *size = 0;
    *mtime = 0;
    if (item->kind != ET_MEDIA_IMAGE_SEQUENCE) {
        if (stat(item->path, &st) != 0)
            return -1;
        *size = (int64_t)st.st_size;
        *mtime = (int64_t)st.st_mtime;
        return 0;
    }
    for (size_t i = 0; i < item->image_count; i++) {
        if (stat(item->images[i], &st) != 0)
            continue;
        *size += (int64_t)st.st_size;
        if ((int64_t)st.st_mtime > *mtime)
            *mtime = (int64_t)st.st_mtime;
    }
    return 0;
}

/* 1 if resume applies and the sink holds item as done; fills info's path,
 * size and mtime either way. */
static int already_done(const et_batch_options *b, const et_media_item *item, et_media_info *info, et_sink *sink)
{
    memset(info, 0, sizeof *info);
    info->path = item->path;
    return et_media_identity(item, &info->size, &info->mtime) == 0 && b->resume &&
           et_sink_media_done(sink, item->path, info->size, info->mtime) == 1;
}

static void report(const et_batch_options *b, const et_media_item *item, int rc, int skipped,
                   const et_analyzer_stats *stats)
{
    if (!b->on_item)
        return;
    et_batch_report r = {item, rc, skipped, stats};
    b->on_item(&r, b->ctx);
}

static int interrupted(const et_batch_options *b)
{
    return b->interrupted && *b->interrupted;
}

/* One job at a time, straight into the sink (text rows stream as they come). */
static int run_serial(const et_batch_options *b, const et_analyzer_options *ao, const et_media_list *list,
                      et_sink *sink, et_batch_summary *summary)
{
    for (size_t i = 0; i < list->count && !interrupted(b); i++) {
        const et_media_item *item = &list->items[i];
        et_media_info info;
        if (already_done(b, item, &info, sink)) {
            summary->skipped++;
            report(b, item, ET_OK, 1, NULL);
            continue;
        }
        if (b->on_start)
            b->on_start(item, b->ctx);
        et_analyzer_stats stats;
        int rc = et_analyze_media(ao, item, &info, sink, &stats);
        if (rc == ET_OK)
            summary->done++;
        else
            summary->failed++;
        report(b, item, rc, 0, &stats);
        if (et_sink_error(sink) != ET_OK) {
            summary->output_failed = 1;
            return et_sink_error(sink);
        }
    }
    return ET_OK;
}

/* --- parallel jobs --- */

typedef enum { JOB_IDLE, JOB_BUSY, JOB_FINISHED, JOB_EXIT } job_state;

typedef struct batch batch;

typedef struct {
    batch *owner;
    pthread_t thread;
    int started;
    int threads; /* this job's share of the cores */
    et_analyzer_options ao;
    /* Models of the jobs after the first (the first uses the caller's). */
    et_face_detector *detector;
    et_emotion_classifier classifier;
    et_temporal *temporal;
    et_face_embedder *embedder;
    et_sink *memory;
    /* Guarded by owner->lock. */
    job_state state;
    size_t item;
    et_media_info info;
    int rc;
    char message[1024];
    et_analyzer_stats stats;
} job;

struct batch {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* workers: a state changed to BUSY or EXIT */
    pthread_cond_t finished; /* writer: a job finished its item */
    const et_media_list *list;
    job *jobs;
    int count;
};

static void *job_main(void *arg)
{
    job *j = arg;
    batch *bt = j->owner;
    et_nn_set_local_threads(j->threads);
    pthread_mutex_lock(&bt->lock);
    for (;;) {
        while (j->state != JOB_BUSY && j->state != JOB_EXIT)
            pthread_cond_wait(&bt->work, &bt->lock);
        if (j->state == JOB_EXIT)
            break;
        const et_media_item *item = &bt->list->items[j->item];
        et_media_info info = j->info;
        pthread_mutex_unlock(&bt->lock);

        et_analyzer_stats stats;
        int rc = et_analyze_media(&j->ao, item, &info, j->memory, &stats);

        pthread_mutex_lock(&bt->lock);
        j->rc = rc;
        j->stats = stats;
        snprintf(j->message, sizeof j->message, "%s", rc == ET_OK ? "" : et_error_message());
        j->state = JOB_FINISHED;
        pthread_cond_signal(&bt->finished);
    }
    pthread_mutex_unlock(&bt->lock);
    return NULL;
}

/* Gives each job its models, memory sink and share of the threads. */
static int jobs_init(batch *bt, const et_batch_options *b, const et_analyzer_options *ao, int threads)
{
    for (int i = 0; i < bt->count; i++) {
        job *j = &bt->jobs[i];
        j->owner = bt;
        j->threads = threads / bt->count + (i < threads % bt->count);
        if (j->threads < 1)
            j->threads = 1;
        j->ao = *ao;
        j->ao.progress = NULL;
        j->ao.decoder_threads = j->threads;
        int rc = et_sink_memory_open(&j->memory);
        if (rc != ET_OK)
            return rc;
        if (i == 0)
            continue;
        if ((rc = et_emotion_classifier_load(&j->classifier, ao->classifier->path)) != ET_OK)
            return rc;
        j->classifier.flip_tta = ao->classifier->flip_tta;
        if ((rc = et_face_detector_load(&j->detector, b->detector_path, &b->detector_options)) != ET_OK)
            return rc;
        if (ao->temporal && (rc = et_temporal_load(&j->temporal, b->lstm_path)) != ET_OK)
            return rc;
        j->ao.classifier = &j->classifier;
        j->ao.detector = j->detector;
        j->ao.temporal = j->temporal;
        if (ao->embedder && (rc = et_face_embedder_load(&j->embedder, b->embedder_path)) != ET_OK)
            return rc;
        j->ao.embedder = j->embedder;
    }
    return ET_OK;
}

static void jobs_free(batch *bt)
{
    for (int i = 0; i < bt->count; i++) {
        job *j = &bt->jobs[i];
        et_sink_close(j->memory);
        et_face_detector_free(j->detector);
        et_emotion_classifier_free(&j->classifier);
        et_temporal_free(j->temporal);
        et_face_embedder_free(j->embedder);
    }
    free(bt->jobs);
}

/* Writes job j's finished file into the sink (unlocked: the job waits). */
static int write_finished(const et_batch_options *b, batch *bt, job *j, et_sink *sink, et_batch_summary *summary,
                          int *output_rc)
{
    const et_media_item *item = &bt->list->items[j->item];
    if (*output_rc != ET_OK) /* the output is gone: nothing more is written or reported */
        return ET_OK;
    int rc = et_sink_replay(j->memory, sink);
    if (rc != ET_OK) {
        *output_rc = rc;
        summary->output_failed = 1;
        summary->failed++;
        report(b, item, rc, 0, &j->stats);
        return rc;
    }
    if (j->rc == ET_OK)
        summary->done++;
    else
        summary->failed++;
    if (j->rc != ET_OK)
        et_error_set(j->rc, "%s", j->message);
    report(b, item, j->rc, 0, &j->stats);
    return ET_OK;
}

/* Gives job j the next item to analyse, or tells it to exit. Called with the
 * lock held; the resume check reads the sink, which only this thread uses. */
static void assign_next(const et_batch_options *b, batch *bt, job *j, size_t *next, et_sink *sink,
                        et_batch_summary *summary, int output_rc)
{
    while (*next < bt->list->count && output_rc == ET_OK && !interrupted(b)) {
        size_t i = (*next)++;
        const et_media_item *item = &bt->list->items[i];
        if (already_done(b, item, &j->info, sink)) {
            summary->skipped++;
            report(b, item, ET_OK, 1, NULL);
            continue;
        }
        j->item = i;
        j->state = JOB_BUSY;
        return;
    }
    j->state = JOB_EXIT;
}

static int run_parallel(const et_batch_options *b, const et_analyzer_options *ao, const et_media_list *list,
                        et_sink *sink, et_batch_summary *summary)
{
    if (ao->on_frame)
        return et_error_set(ET_ERR_USAGE, "frame observers need one job at a time");
    batch bt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, list, NULL, 0};
    bt.count = b->jobs < (int)list->count ? b->jobs : (int)list->count;
    bt.jobs = calloc((size_t)bt.count, sizeof *bt.jobs);
    if (!bt.jobs)
        return et_error_set(ET_ERR_NOMEM, "out of memory for %d jobs", b->jobs);
    int threads = b->threads > 0 ? b->threads : openblas_get_num_threads();
    /* GEMMs outside the engine's regions run in each job's own thread: with
     * OpenBLAS threads on top, the jobs would oversubscribe the cores. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    int rc = jobs_init(&bt, b, ao, threads), output_rc = ET_OK;
    size_t next = 0;
    /* Jobs start with SIGINT and SIGTERM blocked (they inherit the mask):
     * the signals go to this thread, whose flag decides what starts next. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_mutex_lock(&bt.lock);
    for (int i = 0; i < bt.count && rc == ET_OK; i++) {
        job *j = &bt.jobs[i];
        assign_next(b, &bt, j, &next, sink, summary, output_rc);
        if (j->state == JOB_EXIT)
            break;
        if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
            j->state = JOB_EXIT;
            next--;
            if (i == 0)
                rc = et_error_set(ET_ERR, "cannot start a job thread");
            break;
        }
        j->started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (;;) {
        int running = 0, finished = -1;
        for (int i = 0; i < bt.count; i++) {
            job *j = &bt.jobs[i];
            if (j->started && j->state != JOB_EXIT)
                running++;
            if (j->started && j->state == JOB_FINISHED && finished < 0)
                finished = i;
        }
        if (!running)
            break;
        if (finished < 0) {
            pthread_cond_wait(&bt.finished, &bt.lock);
            continue;
        }
        job *j = &bt.jobs[finished];
        pthread_mutex_unlock(&bt.lock);
        write_finished(b, &bt, j, sink, summary, &output_rc);
        pthread_mutex_lock(&bt.lock);
        assign_next(b, &bt, j, &next, sink, summary, output_rc);
        pthread_cond_broadcast(&bt.work);
    }
    pthread_mutex_unlock(&bt.lock);
    for (int i = 0; i < bt.count; i++)
        if (bt.jobs[i].started)
            pthread_join(bt.jobs[i].thread, NULL);
    openblas_set_num_threads(blas_threads);
    jobs_free(&bt);
    return rc != ET_OK ? rc : output_rc;
}

int et_batch_run(const et_batch_options *b, const et_analyzer_options *ao, const et_media_list *list,
                 et_sink *sink, et_batch_summary *summary)
{
    memset(summary, 0, sizeof *summary);
    if (b->jobs <= 1 || list->count <= 1)
        return run_serial(b, ao, list, sink, summary);
    return run_parallel(b, ao, list, sink, summary);
}
