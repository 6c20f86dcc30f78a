/* Upright face crops: a similarity transform (rotation from the eye line,
 * scale and centre from the box or the eyes) sampled bilinearly. */
#include "emotrace/face_align.h"

#include <math.h>
#include <stdlib.h>

#include "emotrace/error.h"
#include "emotrace/resize.h"

/* Samples per axis and output pixel are capped: beyond 8x8 the crop is
 * smooth enough and the cost grows quadratically. */
#define MAX_SUPERSAMPLE 8

void et_face_align_defaults(et_face_align_options *o)
{
    o->size = ET_FACE_ALIGN_SIZE;
    o->box_scale = ET_FACE_ALIGN_BOX_SCALE;
    o->offset_y = 0.0f;
    o->eye_distance = 0.0f;
    o->eye_y = 0.4f;
}

void et_face_align_transform(const et_face *face, const et_face_align_options *o, float m[6])
{
    const float *re = face->keypoints[ET_FACE_RIGHT_EYE], *le = face->keypoints[ET_FACE_LEFT_EYE];
    /* The person's right eye is on the image's left in an upright face, so
     * right -> left eye points along the crop's +u axis. */
    float dx = le[0] - re[0], dy = le[1] - re[1];
    float eyes = sqrtf(dx * dx + dy * dy);
    float c = 1.0f, s = 0.0f;
    if (eyes > 1e-6f) {
        c = dx / eyes;
        s = dy / eyes;
    }
    float side, cx, cy;
    if (o->eye_distance > 0.0f && eyes > 1e-6f) {
        side = eyes / o->eye_distance;
        /* From the eye midpoint down (along the rotated v axis) to the centre. */
        float down = (0.5f - o->eye_y) * side;
        cx = (re[0] + le[0]) * 0.5f - s * down;
        cy = (re[1] + le[1]) * 0.5f + c * down;
    } else {
        float box = ((face->x1 - face->x0) + (face->y1 - face->y0)) * 0.5f;
        side = box * o->box_scale;
        float down = o->offset_y * box;
        cx = (face->x0 + face->x1) * 0.5f - s * down;
        cy = (face->y0 + face->y1) * 0.5f + c * down;
    }
    float k = side / (float)o->size; /* frame pixels per crop pixel */
    m[0] = c * k;
    m[1] = -s * k;
    m[3] = s * k;
    m[4] = c * k;
    /* The crop centre (size/2, size/2) lands on (cx, cy). */
    float half = (float)o->size * 0.5f;
    m[2] = cx - m[0] * half - m[1] * half;
    m[5] = cy - m[3] * half - m[4] * half;
}

/* Bilinear RGB at continuous frame coordinates (pixel centres at +0.5),
 * clamped to the image. */
static void sample_rgb(const uint8_t *rgb, int width, int height, int stride, float x, float y, float out[3])
{
    int x0, x1, y0, y1;
    float tx, ty;
    et_bilinear_tap(x - 0.5f, width, &x0, &x1, &tx);
    et_bilinear_tap(y - 0.5f, height, &y0, &y1, &ty);
    const uint8_t *a = rgb + (size_t)y0 * stride + 3 * x0, *b = rgb + (size_t)y0 * stride + 3 * x1;
    const uint8_t *cc = rgb + (size_t)y1 * stride + 3 * x0, *d = rgb + (size_t)y1 * stride + 3 * x1;
    for (int ch = 0; ch < 3; ch++) {
        float top = a[ch] + tx * (b[ch] - a[ch]), bottom = cc[ch] + tx * (d[ch] - cc[ch]);
        out[ch] = top + ty * (bottom - top);
    }
}

static uint8_t to_byte(float v)
{
    v += 0.5f;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

/* Supersampled crop straight from the frame: n x n bilinear samples per
 * output pixel. */
static void sample_direct(const uint8_t *rgb, int width, int height, int stride, const float m[6], int size, int n,
                          uint8_t *out, int channels)
{
    float inv = 1.0f / (float)(n * n);
    for (int v = 0; v < size; v++)
        for (int u = 0; u < size; u++) {
            float acc[3] = {0, 0, 0};
            for (int j = 0; j < n; j++)
                for (int i = 0; i < n; i++) {
                    float cu = (float)u + ((float)i + 0.5f) / (float)n;
                    float cv = (float)v + ((float)j + 0.5f) / (float)n;
                    float px[3];
                    sample_rgb(rgb, width, height, stride, m[0] * cu + m[1] * cv + m[2], m[3] * cu + m[4] * cv + m[5],
                               px);
                    acc[0] += px[0];
                    acc[1] += px[1];
                    acc[2] += px[2];
                }
            uint8_t *dst = out + ((size_t)v * size + u) * channels;
            if (channels == 1) {
                /* BT.601 luma, as et_frame_to_gray. */
                dst[0] = to_byte((0.299f * acc[0] + 0.587f * acc[1] + 0.114f * acc[2]) * inv);
            } else {
                dst[0] = to_byte(acc[0] * inv);
                dst[1] = to_byte(acc[1] * inv);
                dst[2] = to_byte(acc[2] * inv);
            }
        }
}

/* Gray crop of a face much larger than the crop: the frame region under
 * the crop is first averaged over f x f blocks (luma), then sampled 2 x 2
 * per output pixel. Same anti-aliasing as dense supersampling, at a cost
 * that grows with the region's area once instead of per output pixel. */
static int sample_gray_shrunk(const uint8_t *rgb, int width, int height, int stride, const float m[6], int size,
                              int f, uint8_t *out)
{
    /* The crop's bounding box in the frame, clamped: outside the image the
     * edge repeats, which clamping the samples below reproduces. */
    float xs[4], ys[4], s = (float)size;
    const float corner[4][2] = {{0, 0}, {s, 0}, {0, s}, {s, s}};
    for (int k = 0; k < 4; k++) {
        xs[k] = m[0] * corner[k][0] + m[1] * corner[k][1] + m[2];
        ys[k] = m[3] * corner[k][0] + m[4] * corner[k][1] + m[5];
    }
    float fx0 = fminf(fminf(xs[0], xs[1]), fminf(xs[2], xs[3])), fx1 = fmaxf(fmaxf(xs[0], xs[1]), fmaxf(xs[2], xs[3]));
    float fy0 = fminf(fminf(ys[0], ys[1]), fminf(ys[2], ys[3])), fy1 = fmaxf(fmaxf(ys[0], ys[1]), fmaxf(ys[2], ys[3]));
    int x0 = fx0 > 0 ? (int)fx0 : 0, y0 = fy0 > 0 ? (int)fy0 : 0;
    int x1 = fx1 < (float)width ? (int)ceilf(fx1) : width, y1 = fy1 < (float)height ? (int)ceilf(fy1) : height;
    if (x1 <= x0 || y1 <= y0) { /* entirely outside: the nearest edge pixels */
        x0 = x0 < width ? x0 : width - 1;
        y0 = y0 < height ? y0 : height - 1;
        x1 = x0 + 1;
        y1 = y0 + 1;
    }
    int sw = (x1 - x0 + f - 1) / f, sh = (y1 - y0 + f - 1) / f;
    float *small = malloc((size_t)sw * sh * sizeof *small);
    if (!small)
        return et_error_set(ET_ERR_NOMEM, "face align: out of memory");
    for (int by = 0; by < sh; by++) {
        int ya = y0 + by * f, yb = ya + f < y1 ? ya + f : y1;
        for (int bx = 0; bx < sw; bx++) {
            int xa = x0 + bx * f, xb = xa + f < x1 ? xa + f : x1;
            float sum = 0.0f;
            for (int y = ya; y < yb; y++) {
                const uint8_t *p = rgb + (size_t)y * stride + 3 * xa;
                for (int x = xa; x < xb; x++, p += 3)
                    sum += 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
            }
            small[(size_t)by * sw + bx] = sum / (float)((yb - ya) * (xb - xa));
        }
    }
    /* Block (bx, by) covers frame pixels [x0 + bx f, x0 + (bx + 1) f): its
     * centre is at frame x0 + (bx + 0.5) f. */
    float inv_f = 1.0f / (float)f;
    for (int v = 0; v < size; v++)
        for (int u = 0; u < size; u++) {
            float acc = 0.0f;
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < 2; i++) {
                    float cu = (float)u + 0.25f + 0.5f * (float)i, cv = (float)v + 0.25f + 0.5f * (float)j;
                    float x = (m[0] * cu + m[1] * cv + m[2] - (float)x0) * inv_f - 0.5f;
                    float y = (m[3] * cu + m[4] * cv + m[5] - (float)y0) * inv_f - 0.5f;
                    int ix, ix1, iy, iy1;
                    float tx, ty;
                    et_bilinear_tap(x, sw, &ix, &ix1, &tx);
                    et_bilinear_tap(y, sh, &iy, &iy1, &ty);
                    const float *r0 = small + (size_t)iy * sw, *r1 = small + (size_t)iy1 * sw;
                    float top = r0[ix] + tx * (r0[ix1] - r0[ix]), bottom = r1[ix] + tx * (r1[ix1] - r1[ix]);
                    acc += top + ty * (bottom - top);
                }
            out[(size_t)v * size + u] = to_byte(acc * 0.25f);
        }
    free(small);
    return ET_OK;
}

static int align(const uint8_t *rgb, int width, int height, int stride, const et_face *face,
                 const et_face_align_options *o, uint8_t *out, int channels)
{
    if (!rgb || width < 1 || height < 1 || stride < 3 * width || o->size < 1 || o->size > 4096)
        return et_error_set(ET_ERR_USAGE, "face align: bad image %dx%d or crop size %d", width, height, o->size);
    float m[6];
    et_face_align_transform(face, o, m);
    /* Frame pixels per crop pixel: sample about once per frame pixel so
     * that shrinking the face does not alias. */
    float step = sqrtf(m[0] * m[0] + m[3] * m[3]);
    if (channels == 1 && step > 3.0f && step < 1e6f)
        return sample_gray_shrunk(rgb, width, height, stride, m, o->size, (int)ceilf(step * 0.5f), out);
    int n = (int)ceilf(step);
    n = n < 1 ? 1 : n > MAX_SUPERSAMPLE ? MAX_SUPERSAMPLE : n;
    sample_direct(rgb, width, height, stride, m, o->size, n, out, channels);
    return ET_OK;
}

int et_face_align_gray(const uint8_t *rgb, int width, int height, int stride, const et_face *face,
                       const et_face_align_options *o, uint8_t *out)
{
    return align(rgb, width, height, stride, face, o, out, 1);
}

int et_face_align_rgb(const uint8_t *rgb, int width, int height, int stride, const et_face *face,
                      const et_face_align_options *o, uint8_t *out)
{
    return align(rgb, width, height, stride, face, o, out, 3);
}
