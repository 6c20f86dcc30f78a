/* A decoding thread in front of et_video for live sources. The thread
 * decodes into a spare frame and hands it over by swapping storage with a
 * queue slot, so frames are never copied and at most queue + 2 frames
 * exist: the queue, the spare, and the one the consumer holds. */
#include "emotrace/live_reader.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emotrace/error.h"

#define DEFAULT_QUEUE 8
/* The default queue holds fewer frames of large pictures: at most about
 * this many bytes of pixels (and at least 2 frames). */
#define DEFAULT_QUEUE_BYTES ((size_t)64 << 20)
#define POLL_NS 100000000L /* how often a waiting reader looks at the stop flag */

struct et_live_reader {
    et_video *video;
    et_live_policy policy;
    volatile int *stop;
    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t changed;  /* a frame was queued or taken, or the stream ended */
    et_frame *slots;         /* ring of capacity frames */
    int capacity, head, count;
    et_frame spare;          /* the decoding thread's frame */
    int closing;             /* close() asks the thread to end */
    int finished;            /* the thread has ended */
    int error;               /* why it ended, ET_OK at the end of the stream */
    char message[1024];
    long dropped;
};

/* Polled by libavformat while a read blocks. */
static int interrupted(void *ctx)
{
    et_live_reader *r = ctx;
    pthread_mutex_lock(&r->lock);
    int closing = r->closing;
    pthread_mutex_unlock(&r->lock);
    return closing || (r->stop && *r->stop);
}

static void swap_frames(et_frame *a, et_frame *b)
{
    et_frame t = *a;
    *a = *b;
    *b = t;
}

static void *decode_loop(void *arg)
{
    et_live_reader *r = arg;
    int ret;
    while ((ret = et_video_read(r->video, &r->spare)) > 0) {
        pthread_mutex_lock(&r->lock);
        if (r->policy == ET_LIVE_ALL)
            while (r->count == r->capacity && !r->closing)
                pthread_cond_wait(&r->changed, &r->lock); /* back-pressure */
        if (r->closing) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        if (r->count == r->capacity) {
            /* ET_LIVE_LATEST: the unread frame is replaced by the newer one. */
            swap_frames(&r->slots[r->head], &r->spare);
            r->dropped++;
        } else {
            swap_frames(&r->slots[(r->head + r->count) % r->capacity], &r->spare);
            r->count++;
        }
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
    pthread_mutex_lock(&r->lock);
    r->finished = 1;
    r->error = ret < 0 ? ret : ET_OK;
    if (ret < 0)
        snprintf(r->message, sizeof r->message, "%s", et_error_message());
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* DEFAULT_QUEUE frames, fewer when they are large. A sampled video
 * (sampler not NULL) queues the frames its sampler drops too, without
 * pixels: room for as many more as it drops for each one it keeps, so
 * that decoding still runs DEFAULT_QUEUE kept frames ahead. */
static int default_queue(const et_video *video, const et_sampler *sampler)
{
    et_video_info info;
    et_video_get_info(video, &info);
    size_t frames = DEFAULT_QUEUE;
    double per_kept = sampler && info.fps > 0 ? ceil(info.fps * sampler->period) : 1;
    if (per_kept > 1)
        frames *= (size_t)(per_kept < 16 ? per_kept : 16);
    size_t frame_bytes = (size_t)info.width * (size_t)info.height * 3;
    if (frame_bytes > 0 && frames * frame_bytes > DEFAULT_QUEUE_BYTES)
        frames = DEFAULT_QUEUE_BYTES / frame_bytes;
    return frames < 2 ? 2 : (int)frames;
}

int et_live_reader_open(et_live_reader **out, const char *url, const et_video_options *vo, const et_live_options *lo)
{
    static const et_live_options defaults = {ET_LIVE_LATEST, 0, NULL};
    et_video_options video_options = {0};
    pthread_condattr_t attr;
    int ret;

    *out = NULL;
    if (!lo)
        lo = &defaults;
    if (vo)
        video_options = *vo;
    et_live_reader *r = calloc(1, sizeof *r);
    if (!r)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", url);
    r->policy = lo->policy;
    r->stop = lo->stop;
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->changed, &attr);
    pthread_condattr_destroy(&attr);
    video_options.interrupt = interrupted;
    video_options.interrupt_ctx = r;
    /* FFmpeg names standard input pipe:0; "-" is what users type. */
    if ((ret = et_video_open(&r->video, strcmp(url, "-") ? url : "pipe:0", &video_options)) != ET_OK)
        goto fail;
    r->capacity = lo->policy == ET_LIVE_ALL ? (lo->queue > 0 ? lo->queue : default_queue(r->video, video_options.sampler)) : 1;
    r->slots = calloc((size_t)r->capacity, sizeof *r->slots);
    if (!r->slots) {
        ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory", url);
        goto fail;
    }
    if (pthread_create(&r->thread, NULL, decode_loop, r) != 0) {
        ret = et_error_set(ET_ERR_NOMEM, "%s: cannot start the decoding thread", url);
        goto fail;
    }
    r->thread_started = 1;
    *out = r;
    return ET_OK;
fail:
    et_live_reader_close(r);
    return ret;
}

int et_live_reader_read(et_live_reader *r, et_frame *frame)
{
    int ret = 0;
    pthread_mutex_lock(&r->lock);
    while (!r->count && !r->finished && !(r->stop && *r->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += POLL_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->changed, &r->lock, &until);
    }
    if (r->stop && *r->stop) {
        ret = 0;
    } else if (r->count) {
        swap_frames(frame, &r->slots[r->head]);
        r->head = (r->head + 1) % r->capacity;
        r->count--;
        pthread_cond_broadcast(&r->changed);
        ret = 1;
    } else if (r->error) {
        ret = et_error_set(r->error, "%s", r->message);
    }
    pthread_mutex_unlock(&r->lock);
    return ret;
}

long et_live_reader_dropped(et_live_reader *r)
{
    pthread_mutex_lock(&r->lock);
    long dropped = r->dropped;
    pthread_mutex_unlock(&r->lock);
    return dropped;
}

void et_live_reader_get_info(const et_live_reader *r, et_video_info *info)
{
    et_video_get_info(r->video, info);
}

void et_live_reader_close(et_live_reader *r)
{
    if (!r)
        return;
    if (r->thread_started) {
        pthread_mutex_lock(&r->lock);
        r->closing = 1;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    et_video_close(r->video);
    for (int i = 0; r->slots && i < r->capacity; i++)
        et_frame_free(&r->slots[i]);
    free(r->slots);
    et_frame_free(&r->spare);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
