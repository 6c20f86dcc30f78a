/* Private to src/media: FFmpeg's error codes to ours, for the reader and
 * the writer alike. */
#ifndef EMOTRACE_MEDIA_AV_ERROR_H
#define EMOTRACE_MEDIA_AV_ERROR_H

/* Sets "path: what: FFmpeg's reason" and returns ET_ERR_NOMEM, ET_ERR_FORMAT
 * (data FFmpeg cannot read or has no decoder, demuxer or stream for) or
 * ET_ERR_IO (anything else) for the AVERROR averr. */
int et_av_error(int averr, const char *path, const char *what);

#endif
