/* Live sources (camera, network stream, pipe): a thread decodes as fast as
 * the source delivers, so that a slower consumer never makes the source
 * back up; what happens to frames the consumer has no time for is the
 * policy. Memory is bounded by the policy's queue, whatever the rates.
 *
 *   et_live_reader *r;
 *   if (et_live_reader_open(&r, "udp://127.0.0.1:5000", &vo, &lo) < 0) ...
 *   while ((ret = et_live_reader_read(r, &frame)) > 0) use(&frame);
 *   et_live_reader_close(r);
 */
#ifndef EMOTRACE_LIVE_READER_H
#define EMOTRACE_LIVE_READER_H

#include "emotrace/frame.h"
#include "emotrace/video.h"

typedef enum {
    ET_LIVE_LATEST, /* keep only the newest decoded frame; older unread ones are dropped */
    ET_LIVE_ALL     /* keep every frame: a bounded queue; a full queue pauses decoding */
} et_live_policy;

typedef struct {
    et_live_policy policy;
    int queue;          /* ET_LIVE_ALL: frames decoded ahead at most; 0: 8, fewer (at least 2) when 8 would hold over 64 MB of pixels */
    volatile int *stop; /* when set, reading ends (returns 0) within 0.1 s; NULL: never */
} et_live_options;

typedef struct et_live_reader et_live_reader;

/* Opens url with et_video_open (in the caller's thread, so that a bad URL
 * or option fails here) and starts the decoding thread. "-" is standard
 * input (pipe:0). lo may be NULL (latest, no stop flag). */
int et_live_reader_open(et_live_reader **out, const char *url, const et_video_options *vo, const et_live_options *lo);
/* Waits for the next frame (storage swapped with the queue's, not copied).
 * 1 for a frame, 0 at the end of the stream or when stop is set, negative
 * for a decoding error (message names the url). */
int et_live_reader_read(et_live_reader *r, et_frame *frame);
/* Frames decoded but never handed out (ET_LIVE_LATEST), so far. */
long et_live_reader_dropped(et_live_reader *r);
void et_live_reader_get_info(const et_live_reader *r, et_video_info *info);
/* Stops the thread (interrupting a blocked read) and frees everything;
 * NULL is fine. */
void et_live_reader_close(et_live_reader *r);

#endif
