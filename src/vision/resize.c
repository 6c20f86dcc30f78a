#include "emotrace/resize.h"

void et_gray_resize(const uint8_t *src, int sw, int sh, int src_stride, uint8_t *dst, int dw, int dh)
{
    float scale_x = (float)sw / (float)dw, scale_y = (float)sh / (float)dh;
    for (int y = 0; y < dh; y++) {
        float sy = (y + 0.5f) * scale_y - 0.5f;
        if (sy < 0) sy = 0;
        if (sy > sh - 1) sy = (float)(sh - 1);
        int y0 = (int)sy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        float fy = sy - (float)y0;
        for (int x = 0; x < dw; x++) {
            float sx = (x + 0.5f) * scale_x - 0.5f;
            if (sx < 0) sx = 0;
            if (sx > sw - 1) sx = (float)(sw - 1);
            int x0 = (int)sx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            float fx = sx - (float)x0;
            const uint8_t *r0 = src + (long)y0 * src_stride, *r1 = src + (long)y1 * src_stride;
            float v = (r0[x0] * (1 - fx) + r0[x1] * fx) * (1 - fy) + (r1[x0] * (1 - fx) + r1[x1] * fx) * fy;
            dst[y * dw + x] = (uint8_t)(v + 0.5f);
        }
    }
}
