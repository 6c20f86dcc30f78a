/* RGB24 frame storage and the pixel operations every input needs:
 * orientation fixes and the gray plane for the classifier. */
#include "emotrace/frame.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"

int et_frame_resize(et_frame *f, int width, int height)
{
    if (width <= 0 || height <= 0 || width > INT_MAX / 3 ||
        (size_t)height > SIZE_MAX / ((size_t)width * 3))
        return et_error_set(ET_ERR_USAGE, "frame: invalid size %dx%d", width, height);
    size_t need = (size_t)width * 3 * (size_t)height;
    if (need > f->capacity) {
        /* No realloc: the old pixels are not wanted, so skip copying them.
         * The padding lets SIMD code (libswscale) read whole vectors past
         * the last pixel, as FFmpeg's own buffers allow. */
        uint8_t *p = malloc(need + ET_FRAME_PADDING);
        if (!p)
            return et_error_set(ET_ERR_NOMEM, "frame: out of memory for %dx%d pixels", width, height);
        free(f->rgb);
        f->rgb = p;
        f->capacity = need;
    }
    f->width = width;
    f->height = height;
    f->stride = width * 3;
    return ET_OK;
}

void et_frame_free(et_frame *f)
{
    if (!f)
        return;
    free(f->rgb);
    memset(f, 0, sizeof *f);
}

int et_frame_copy(et_frame *dst, const et_frame *src)
{
    int ret = et_frame_resize(dst, src->width, src->height);
    if (ret < 0)
        return ret;
    for (int y = 0; y < src->height; y++)
        memcpy(dst->rgb + (size_t)y * dst->stride, src->rgb + (size_t)y * src->stride,
               (size_t)src->width * 3);
    dst->t = src->t;
    dst->index = src->index;
    return ET_OK;
}

int et_frame_rotate(et_frame *dst, const et_frame *src, int degrees)
{
    int w = src->width, h = src->height;
    if (degrees != 0 && degrees != 90 && degrees != 180 && degrees != 270)
        return et_error_set(ET_ERR_USAGE, "frame: cannot rotate by %d degrees", degrees);
    if (degrees == 0)
        return et_frame_copy(dst, src);
    int ret = degrees == 180 ? et_frame_resize(dst, w, h) : et_frame_resize(dst, h, w);
    if (ret < 0)
        return ret;
    /* Walk the source row by row and scatter: (x, y) goes to (dx, dy). */
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src->rgb + (size_t)y * src->stride;
        for (int x = 0; x < w; x++, s += 3) {
            int dx, dy;
            if (degrees == 90) {
                dx = h - 1 - y;
                dy = x;
            } else if (degrees == 180) {
                dx = w - 1 - x;
                dy = h - 1 - y;
            } else {
                dx = y;
                dy = w - 1 - x;
            }
            uint8_t *d = dst->rgb + (size_t)dy * dst->stride + (size_t)dx * 3;
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    dst->t = src->t;
    dst->index = src->index;
    return ET_OK;
}

void et_frame_flip_horizontal(et_frame *f)
{
    for (int y = 0; y < f->height; y++) {
        uint8_t *l = f->rgb + (size_t)y * f->stride;
        uint8_t *r = l + (size_t)(f->width - 1) * 3;
        for (; l < r; l += 3, r -= 3)
            for (int c = 0; c < 3; c++) {
                uint8_t tmp = l[c];
                l[c] = r[c];
                r[c] = tmp;
            }
    }
}

void et_frame_to_gray(const et_frame *f, uint8_t *gray, int gray_stride)
{
    for (int y = 0; y < f->height; y++) {
        const uint8_t *s = f->rgb + (size_t)y * f->stride;
        uint8_t *d = gray + (size_t)y * gray_stride;
        /* BT.601 weights in 16.16 fixed point; they sum to 65536, so white stays 255. */
        for (int x = 0; x < f->width; x++, s += 3)
            d[x] = (uint8_t)((19595u * s[0] + 38470u * s[1] + 7471u * s[2] + 32768u) >> 16);
    }
}
