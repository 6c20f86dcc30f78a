/* Rendering a planned synthetic frame: blend, warp, occlude, relight, blur,
 * add noise. One bilinear resampling per frame, so the only blur is the one
 * the plan asks for. (et_augment_face draws its parameters independently per
 * call; a track needs them to drift smoothly, hence this renderer.) */
#include <math.h>
#include <string.h>

#include "emotrace/resize.h"
#include "emotrace/rng.h"
#include "emotrace/track_synth.h"

#define N ET_FACE_SIZE
#define MAX_RADIUS 8

/* Bilinear sample, border replicated (as in augment.c). */
static float sample(const float *src, float x, float y)
{
    int x0, x1, y0, y1;
    float fx, fy;
    et_bilinear_tap(x, N, &x0, &x1, &fx);
    et_bilinear_tap(y, N, &y0, &y1, &fy);
    return et_bilinear_mix(src[y0 * N + x0], src[y0 * N + x1], src[y1 * N + x0], src[y1 * N + x1], fx, fy);
}

/* Separable Gaussian blur in place, edges replicated. */
static void blur(float *img, float sigma)
{
    int radius = (int)ceilf(3.0f * sigma);
    if (radius < 1)
        return;
    if (radius > MAX_RADIUS)
        radius = MAX_RADIUS;
    float kernel[2 * MAX_RADIUS + 1], sum = 0.0f, tmp[N * N];
    for (int i = -radius; i <= radius; i++)
        sum += kernel[i + radius] = expf(-0.5f * (float)(i * i) / (sigma * sigma));
    for (int i = 0; i <= 2 * radius; i++)
        kernel[i] /= sum;
    for (int pass = 0; pass < 2; pass++) {
        const float *src = pass ? tmp : img;
        float *dst = pass ? img : tmp;
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                float v = 0.0f;
                for (int i = -radius; i <= radius; i++) {
                    int xx = pass ? x : x + i, yy = pass ? y + i : y;
                    xx = xx < 0 ? 0 : xx >= N ? N - 1 : xx;
                    yy = yy < 0 ? 0 : yy >= N ? N - 1 : yy;
                    v += kernel[i + radius] * src[yy * N + xx];
                }
                dst[y * N + x] = v;
            }
    }
}

void et_track_synth_render(const et_track_synth *s, const et_synth_frame *f, uint8_t *crop)
{
    const uint8_t *a = s->ds->pixels + (size_t)f->image_a * N * N;
    const uint8_t *b = s->ds->pixels + (size_t)f->image_b * N * N;
    float src[N * N], img[N * N];
    for (int i = 0; i < N * N; i++)
        src[i] = a[i] * (1.0f - f->mix) + b[i] * f->mix;

    /* Inverse map about the centre: output pixel -> source pixel. */
    float c = (N - 1) * 0.5f, angle = f->angle_deg * 3.14159265f / 180.0f;
    float cos_a = cosf(angle) / f->scale, sin_a = sinf(angle) / f->scale;
    float shift_x = f->shift_x * N, shift_y = f->shift_y * N, mean = 0.0f;
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            float dx = (f->flip ? (float)(N - 1 - x) : (float)x) - c - shift_x, dy = (float)y - c - shift_y;
            float v = sample(src, cos_a * dx + sin_a * dy + c, -sin_a * dx + cos_a * dy + c);
            img[y * N + x] = v;
            mean += v;
        }
    mean /= (float)(N * N);

    /* The occluder is part of the scene: lit, blurred and noisy with it. */
    if (f->occluded) {
        int x0 = (int)(f->occ_x0 * N + 0.5f), x1 = (int)(f->occ_x1 * N + 0.5f);
        int y0 = (int)(f->occ_y0 * N + 0.5f), y1 = (int)(f->occ_y1 * N + 0.5f);
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                img[y * N + x] = f->occ_value;
    }
    for (int i = 0; i < N * N; i++) {
        float v = (img[i] - mean) * f->contrast + mean + f->brightness * 255.0f;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        img[i] = 255.0f * powf(v / 255.0f, f->gamma);
    }
    if (f->blur_sigma >= 0.3f)
        blur(img, f->blur_sigma);
    et_rng rng;
    et_rng_seed(&rng, f->noise_seed);
    for (int i = 0; i < N * N; i++) {
        float v = img[i] + (f->noise_sigma > 0 ? f->noise_sigma * (float)et_rng_normal(&rng) : 0.0f);
        crop[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
}
