/* Frames of one media item, whatever its kind: a video's decoded frames, a
 * single image (t = 0), an image sequence (frame i at i / image_fps), or a
 * live stream's frames as the policy lets them through (live_reader.h). */
#ifndef EMOTRACE_MEDIA_READER_H
#define EMOTRACE_MEDIA_READER_H

#include "emotrace/frame.h"
#include "emotrace/live_reader.h"
#include "emotrace/media_input.h"
#include "emotrace/video.h"

typedef struct {
    const et_media_item *item;
    et_video *video;
    et_live_reader *live;
    size_t next_image;
    double image_fps;
    double duration, fps;
    int width, height;
    long skipped_images; /* unreadable images skipped inside a sequence */
} et_media_reader;

int et_media_reader_open(et_media_reader *r, const et_media_item *item, double image_fps,
                         const et_video_options *video_options);
/* The same, with the options for a stream (NULL: latest frame, no stop);
 * a video file is decoded ahead in a thread of its own too (a few frames,
 * none dropped), overlapping decoding with the caller's work. */
int et_media_reader_open_live(et_media_reader *r, const et_media_item *item, double image_fps,
                              const et_video_options *video_options, const et_live_options *live_options);
/* Frames a live stream dropped so far (0 for other kinds). */
long et_media_reader_dropped(et_media_reader *r);
/* 1 for a frame, 0 at the end, negative on error. An unreadable image in a
 * sequence is skipped (counted in skipped_images, message in the error
 * buffer) unless every image fails. */
int et_media_reader_read(et_media_reader *r, et_frame *frame);
void et_media_reader_close(et_media_reader *r);
/* The first picture of the file at path, decoded as analyze decodes it:
 * stb_image for the still image types it knows, FFmpeg for the rest (WebP,
 * a video's first frame). */
int et_media_read_picture(const char *path, et_frame *out);

#endif
