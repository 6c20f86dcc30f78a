/* Video encoding with FFmpeg: RGB frames in, a video file out, each frame
 * at its own timestamp (et_frame.t). H.264 (libx264) when the linked
 * libavcodec has that encoder, else MPEG-4 Part 2; the container follows
 * the file name (.mp4, .mkv, .mov, .avi ...).
 *
 *   et_video_writer *w;
 *   if (et_video_writer_open(&w, "out.mp4", 640, 360, 25) < 0) ...
 *   for each frame: et_video_writer_write(w, &frame);
 *   rc = et_video_writer_finish(w);   (flushes, writes the trailer)
 *   et_video_writer_close(w);
 */
#ifndef EMOTRACE_VIDEO_WRITER_H
#define EMOTRACE_VIDEO_WRITER_H

#include "emotrace/frame.h"

typedef struct et_video_writer et_video_writer;

/* Creates path for frames of width x height (an odd size loses its last
 * column or row: 4:2:0 video needs even sizes). fps is the nominal frame
 * rate (rate control and container hints; 0 if unknown). */
int et_video_writer_open(et_video_writer **out, const char *path, int width, int height, double fps);
/* Encodes frame at its time t (seconds). Frames must come in increasing t
 * and have the size given to open. */
int et_video_writer_write(et_video_writer *w, const et_frame *frame);
/* Drains the encoder and completes the file. */
int et_video_writer_finish(et_video_writer *w);
/* The encoder's name ("libx264", "mpeg4"). */
const char *et_video_writer_codec(const et_video_writer *w);
/* Closes the file and frees w (NULL is fine); a file not finished stays incomplete. */
void et_video_writer_close(et_video_writer *w);

#endif
