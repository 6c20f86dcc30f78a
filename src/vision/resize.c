#include "emotrace/resize.h"

void et_gray_resize(const uint8_t *src, int sw, int sh, int src_stride, uint8_t *dst, int dw, int dh)
{
    float scale_x = (float)sw / (float)dw, scale_y = (float)sh / (float)dh;
    for (int y = 0; y < dh; y++) {
        int y0, y1;
        float fy;
        et_bilinear_tap((y + 0.5f) * scale_y - 0.5f, sh, &y0, &y1, &fy);
        for (int x = 0; x < dw; x++) {
            int x0, x1;
            float fx;
            et_bilinear_tap((x + 0.5f) * scale_x - 0.5f, sw, &x0, &x1, &fx);
            const uint8_t *r0 = src + (long)y0 * src_stride, *r1 = src + (long)y1 * src_stride;
            float v = et_bilinear_mix(r0[x0], r0[x1], r1[x0], r1[x1], fx, fy);
            dst[y * dw + x] = (uint8_t)(v + 0.5f);
        }
    }
}
