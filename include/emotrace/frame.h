/* A decoded picture as everything downstream sees it: upright, packed RGB24.
 * Frames own their pixels; storage only grows, so a frame reused in a
 * decode loop allocates once. Start from a zeroed frame (et_frame f = {0}). */
#ifndef EMOTRACE_FRAME_H
#define EMOTRACE_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Bytes allocated past the last pixel row, readable but unused. */
#define ET_FRAME_PADDING 64

typedef struct {
    int width, height;
    int stride;       /* bytes per row, >= 3 * width */
    uint8_t *rgb;     /* RGB24, row 0 at the top */
    double t;         /* presentation time in seconds from the stream start */
    int64_t index;    /* 0-based position in the sequence it came from */
    size_t capacity;  /* bytes allocated at rgb */
} et_frame;

/* Sets the size (stride = 3 * width), growing storage if needed; pixels are
 * then undefined. t and index are left alone. */
int et_frame_resize(et_frame *f, int width, int height);
void et_frame_free(et_frame *f);
/* Deep copy of pixels, size, t and index into dst (reusing its storage). */
int et_frame_copy(et_frame *dst, const et_frame *src);
/* dst = src rotated clockwise by degrees (0, 90, 180 or 270); dst != src. */
int et_frame_rotate(et_frame *dst, const et_frame *src, int degrees);
/* Mirrors left-right in place. */
void et_frame_flip_horizontal(et_frame *f);
/* Writes the 8-bit full-range ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B)
 * of f into gray, which has width x height bytes at gray_stride per row. */
void et_frame_to_gray(const et_frame *f, uint8_t *gray, int gray_stride);

#endif
