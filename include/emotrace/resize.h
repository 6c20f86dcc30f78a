/* Bilinear resizing of 8-bit gray images. */
#ifndef EMOTRACE_RESIZE_H
#define EMOTRACE_RESIZE_H

#include <stdint.h>

/* Resizes the sw x sh image src (row stride src_stride) to dw x dh, sampling
 * pixel centres (area-averaging is not needed for the mild scales used). */
void et_gray_resize(const uint8_t *src, int sw, int sh, int src_stride, uint8_t *dst, int dw, int dh);

#endif
