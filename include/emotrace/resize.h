/* Bilinear resizing of 8-bit gray images, and the taps every bilinear
 * sampler reads. */
#ifndef EMOTRACE_RESIZE_H
#define EMOTRACE_RESIZE_H

#include <stdint.h>

/* Resizes the sw x sh image src (row stride src_stride) to dw x dh, sampling
 * pixel centres (area-averaging is not needed for the mild scales used). */
void et_gray_resize(const uint8_t *src, int sw, int sh, int src_stride, uint8_t *dst, int dw, int dh);

/* The two samples a bilinear lookup at v reads along an axis of n: v clamped
 * to [0, n - 1] (NaN to 0), *lo below it, *hi the next (lo again at the
 * last), *t the weight of hi. Every bilinear sampler uses it. */
static inline void et_bilinear_tap(float v, int n, int *lo, int *hi, float *t)
{
    v = v > 0.0f ? v : 0.0f;
    v = v < (float)(n - 1) ? v : (float)(n - 1);
    *lo = (int)v;
    *hi = *lo + 1 < n ? *lo + 1 : *lo;
    *t = v - (float)*lo;
}

/* The bilinear mix of the four samples around a point: top-left a, top-right
 * b, bottom-left c, bottom-right d, with the weights tx, ty of the right and
 * bottom ones (et_bilinear_tap's t). */
static inline float et_bilinear_mix(float a, float b, float c, float d, float tx, float ty)
{
    float top = a * (1 - tx) + b * tx;
    float bottom = c * (1 - tx) + d * tx;
    return top * (1 - ty) + bottom * ty;
}

#endif
