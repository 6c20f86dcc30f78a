/* Still images to upright RGB24 frames: JPEG via stb_image, with its EXIF
 * orientation applied; PNG, GIF (first image), BMP, TIFF, WebP, PSD,
 * PBM/PGM/PPM/PAM and TGA via libavcodec. */
#ifndef EMOTRACE_IMAGE_H
#define EMOTRACE_IMAGE_H

#include "emotrace/frame.h"

/* Larger images are refused from their header, before any pixel is decoded. */
#define ET_IMAGE_MAX_SIDE 32768
#define ET_IMAGE_MAX_PIXELS (100 * 1000 * 1000)

/* Decodes the image at path into out (storage reused; t = 0, index = 0).
 * Truncated or corrupt files and oversized headers are errors naming path. */
int et_image_load(const char *path, et_frame *out);
/* Decides by content (magic bytes; the .tga extension as TGA has none)
 * whether path is a still image for et_image_load rather than a video. An
 * animated GIF (two images or more) is a video, for FFmpeg to read.
 * Returns 1 for an image, 0 otherwise, negative if path cannot be read. */
int et_image_probe(const char *path);

#endif
