/* Video decoding with FFmpeg: every container and codec the linked libraries
 * read, threaded, to upright RGB24 frames with timestamps in seconds.
 *
 *   et_video *v;
 *   et_frame f = {0};
 *   if (et_video_open(&v, path, NULL) < 0) ...
 *   while ((ret = et_video_read(v, &f)) > 0) use(&f);
 *   et_frame_free(&f);
 *   et_video_close(v);
 */
#ifndef EMOTRACE_VIDEO_H
#define EMOTRACE_VIDEO_H

#include <stdint.h>

#include "emotrace/frame.h"
#include "emotrace/sampler.h"

typedef struct et_video et_video;

typedef struct {
    int threads;                /* decoder threads; 0 = one per core */
    const char *input_format;   /* demuxer name such as "v4l2"; NULL = probe the content */
    /* NULL-terminated "key=value" strings for avformat_open_input (such as
     * "video_size=640x480"); NULL for none. Unknown keys are an error. */
    const char *const *input_options;
    /* An AVIOContext to read the container from instead of opening path
     * (which then only names the input in messages); the caller frees it
     * after et_video_close. NULL: read path. */
    void *io;
    /* Polled while opening or reading blocks (a live source waiting for
     * data); nonzero abandons the wait, and reading then ends the stream
     * as if it had ended. NULL: never. */
    int (*interrupt)(void *ctx);
    void *interrupt_ctx;
    /* Frames this sampler (copied, in its initial state) drops come back
     * with t and index only, as those et_video_skip_pixels_before names
     * do. Where the codec allows it (H.264, HEVC, MPEG-1/2 with timestamps
     * on their packets), the non-reference frames among them are not even
     * decoded: their times and indices come from their packets, exactly as
     * decoding would give them, and the kept frames' pixels are those of
     * decoding every frame. Should a frame the sampler keeps have been left
     * undecoded all the same (a damaged stream can defeat the look-ahead
     * that decides), it is left out, as a frame the decoder failed on is:
     * every frame that comes back and the sampler keeps has its own
     * pixels. NULL: every frame gets pixels. */
    const et_sampler *sampler;
} et_video_options;

typedef struct {
    double duration;      /* seconds; 0 if unknown */
    double fps;           /* average frame rate; 0 if unknown */
    int width, height;    /* of the frames et_video_read returns (after rotation) */
    int rotation;         /* 0, 90, 180 or 270: clockwise turn applied to make frames upright */
    char codec[32];       /* FFmpeg codec name, e.g. "h264" */
    int64_t frame_count;  /* from the container, else duration x fps; 0 if unknown */
} et_video_info;

/* Opens path (opt may be NULL for defaults) and the decoder of its best video
 * stream. path is anything libavformat opens: a file, a URL (udp://,
 * rtsp://, http://, pipe:0) or a device (/dev/video0 with input_format
 * "v4l2"). On failure *out is NULL and the message names path. */
int et_video_open(et_video **out, const char *path, const et_video_options *opt);
/* Decodes the next frame into frame (storage reused). Returns 1 for a frame,
 * 0 at the end of the stream, negative on error. Damaged packets are skipped;
 * a stream with no decodable frame at all is an error. */
int et_video_read(et_video *v, et_frame *frame);
/* Frames earlier than t seconds come back from et_video_read with t and
 * index only: their pixels are not converted to RGB (frame->rgb keeps what
 * it held), which is most of the cost of a frame a sampler drops anyway.
 * -HUGE_VAL (the default) converts every frame. */
void et_video_skip_pixels_before(et_video *v, double t);
/* Frames whose decoding was skipped so far (et_video_options.sampler). */
int64_t et_video_frames_not_decoded(const et_video *v);
void et_video_get_info(const et_video *v, et_video_info *info);
/* Frees everything; NULL is fine. */
void et_video_close(et_video *v);

#endif
