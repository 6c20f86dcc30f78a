/* Private to src/media: a frame decoded by libavcodec to our RGB24 frame,
 * for videos and for the still images FFmpeg decodes alike. */
#ifndef EMOTRACE_MEDIA_AV_FRAME_H
#define EMOTRACE_MEDIA_AV_FRAME_H

#include <libavutil/frame.h>

#include "emotrace/frame.h"

struct SwsContext;

/* Converts src into out (resized to src's size) with the scaler at *sws,
 * created or re-created as src's size or pixel format asks (free it with
 * sws_freeContext). YUV uses the frame's own matrix and range. Errors name
 * path. */
int et_av_frame_to_rgb(struct SwsContext **sws, const AVFrame *src, et_frame *out, const char *path);

#endif
