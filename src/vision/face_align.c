/* Upright face crops: a similarity transform (rotation from the eye line,
 * scale and centre from the box or the eyes) sampled bilinearly. */
#include "emotrace/face_align.h"

#include <math.h>

#include "emotrace/error.h"

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
    x -= 0.5f;
    y -= 0.5f;
    /* Written so that NaN clamps to 0 too. */
    x = x > 0.0f ? x : 0.0f;
    x = x < (float)(width - 1) ? x : (float)(width - 1);
    y = y > 0.0f ? y : 0.0f;
    y = y < (float)(height - 1) ? y : (float)(height - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < width ? x0 + 1 : x0, y1 = y0 + 1 < height ? y0 + 1 : y0;
    float tx = x - (float)x0, ty = y - (float)y0;
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

static int align(const uint8_t *rgb, int width, int height, int stride, const et_face *face,
                 const et_face_align_options *o, uint8_t *out, int channels)
{
    if (!rgb || width < 1 || height < 1 || stride < 3 * width || o->size < 1 || o->size > 4096)
        return et_error_set(ET_ERR_USAGE, "face align: bad image %dx%d or crop size %d", width, height, o->size);
    float m[6];
    et_face_align_transform(face, o, m);
    /* Enough samples per axis that neighbouring samples are about one frame
     * pixel apart (no aliasing when the crop shrinks the face). */
    float step = sqrtf(m[0] * m[0] + m[3] * m[3]);
    int n = (int)ceilf(step);
    n = n < 1 ? 1 : n > MAX_SUPERSAMPLE ? MAX_SUPERSAMPLE : n;
    float inv = 1.0f / (float)(n * n);
    for (int v = 0; v < o->size; v++)
        for (int u = 0; u < o->size; u++) {
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
            uint8_t *dst = out + ((size_t)v * o->size + u) * channels;
            if (channels == 1) {
                /* BT.601 luma, as et_frame_to_gray. */
                dst[0] = to_byte((0.299f * acc[0] + 0.587f * acc[1] + 0.114f * acc[2]) * inv);
            } else {
                dst[0] = to_byte(acc[0] * inv);
                dst[1] = to_byte(acc[1] * inv);
                dst[2] = to_byte(acc[2] * inv);
            }
        }
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
