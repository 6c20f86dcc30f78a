#include "emotrace/augment.h"

#include <math.h>
#include <string.h>

#include "emotrace/resize.h"

/* The largest image the video degradations work on (they use stack buffers). */
#define ET_AUGMENT_MAX_SIZE 64

void et_augment_defaults(et_augment_options *o)
{
    o->max_rotation_deg = 10.0f;
    o->min_scale = 0.9f;
    o->max_scale = 1.1f;
    o->max_shift = 0.1f;
    o->flip_probability = 0.5f;
    o->max_brightness = 0.15f;
    o->max_contrast = 0.3f;
    o->max_gamma = 0.3f;
    o->erase_probability = 0.5f;
    o->motion_blur_probability = 0.0f;
    o->low_resolution_probability = 0.0f;
    o->noise_probability = 0.0f;
    o->max_aspect = 0.0f;
}

void et_augment_video_defaults(et_augment_options *o)
{
    o->motion_blur_probability = 0.25f;
    o->low_resolution_probability = 0.25f;
    o->noise_probability = 0.25f;
}

static float uniform(et_rng *rng, float lo, float hi)
{
    return lo + (hi - lo) * (float)et_rng_uniform(rng);
}

/* Bilinear sample with the border replicated (a face crop continues past its
 * edge better than black does). */
static float sample(const uint8_t *src, int size, float x, float y)
{
    int x0, x1, y0, y1;
    float fx, fy;
    et_bilinear_tap(x, size, &x0, &x1, &fx);
    et_bilinear_tap(y, size, &y0, &y1, &fy);
    return et_bilinear_mix(src[y0 * size + x0], src[y0 * size + x1], src[y1 * size + x0], src[y1 * size + x1], fx,
                           fy);
}

/* Mean of `length` samples along (dx, dy) through each pixel: the smear of a
 * head moving during the exposure. */
static void motion_blur(uint8_t *img, int size, float dx, float dy, int length)
{
    float tmp[ET_AUGMENT_MAX_SIZE * ET_AUGMENT_MAX_SIZE];
    for (int i = 0; i < size * size; i++)
        tmp[i] = img[i];
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float sum = 0.0f;
            for (int k = 0; k < length; k++) {
                float t = (float)k - 0.5f * (float)(length - 1);
                int sx = (int)lroundf((float)x + t * dx), sy = (int)lroundf((float)y + t * dy);
                sx = sx < 0 ? 0 : sx >= size ? size - 1 : sx;
                sy = sy < 0 ? 0 : sy >= size ? size - 1 : sy;
                sum += tmp[sy * size + sx];
            }
            img[y * size + x] = (uint8_t)(sum / (float)length + 0.5f);
        }
}

/* Box-averages the image down to small x small and samples it back up
 * bilinearly: the detail a face of `small` pixels in the frame has. */
static void low_resolution(uint8_t *img, int size, int small)
{
    uint8_t low[ET_AUGMENT_MAX_SIZE * ET_AUGMENT_MAX_SIZE];
    for (int y = 0; y < small; y++)
        for (int x = 0; x < small; x++) {
            int x0 = x * size / small, x1 = (x + 1) * size / small;
            int y0 = y * size / small, y1 = (y + 1) * size / small;
            float sum = 0.0f;
            for (int v = y0; v < y1; v++)
                for (int u = x0; u < x1; u++)
                    sum += img[v * size + u];
            low[y * small + x] = (uint8_t)(sum / (float)((x1 - x0) * (y1 - y0)) + 0.5f);
        }
    float ratio = (float)small / (float)size;
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float v = sample(low, small, ((float)x + 0.5f) * ratio - 0.5f, ((float)y + 0.5f) * ratio - 0.5f);
            img[y * size + x] = (uint8_t)(v + 0.5f);
        }
}

/* Adds Gaussian noise (Box-Muller) of the given sigma. */
static void add_noise(uint8_t *img, int size, float sigma, et_rng *rng)
{
    for (int i = 0; i < size * size; i++) {
        double u1 = et_rng_uniform(rng), u2 = et_rng_uniform(rng);
        float g = (float)(sqrt(-2.0 * log(u1 + 1e-12)) * cos(6.283185307179586 * u2));
        float v = (float)img[i] + sigma * g;
        img[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
}

/* The video degradations, drawn after every default draw so that runs
 * without them see the same augmentations as before. */
static void degrade_like_video(uint8_t *img, int size, const et_augment_options *o, et_rng *rng)
{
    if (size > ET_AUGMENT_MAX_SIZE)
        return;
    if (o->motion_blur_probability > 0 && et_rng_uniform(rng) < o->motion_blur_probability) {
        float angle = uniform(rng, 0.0f, 3.14159265f);
        int length = 2 + (int)et_rng_below(rng, 4);
        motion_blur(img, size, cosf(angle), sinf(angle), length);
    }
    if (o->low_resolution_probability > 0 && et_rng_uniform(rng) < o->low_resolution_probability) {
        int small = 12 + (int)et_rng_below(rng, 19);
        if (small < size)
            low_resolution(img, size, small);
    }
    if (o->noise_probability > 0 && et_rng_uniform(rng) < o->noise_probability)
        add_noise(img, size, uniform(rng, 2.0f, 10.0f), rng);
}

void et_augment_face(const uint8_t *src, uint8_t *dst, int size, const et_augment_options *o, et_rng *rng)
{
    /* Draw every random number in a fixed order so runs are reproducible. */
    float angle = uniform(rng, -o->max_rotation_deg, o->max_rotation_deg) * 3.14159265f / 180.0f;
    float scale = uniform(rng, o->min_scale, o->max_scale);
    float shift_x = uniform(rng, -o->max_shift, o->max_shift) * size;
    float shift_y = uniform(rng, -o->max_shift, o->max_shift) * size;
    int flip = et_rng_uniform(rng) < o->flip_probability;
    float brightness = uniform(rng, -o->max_brightness, o->max_brightness) * 255.0f;
    float contrast = uniform(rng, 1.0f - o->max_contrast, 1.0f + o->max_contrast);
    float gamma_log = uniform(rng, -logf(1.0f + o->max_gamma), logf(1.0f + o->max_gamma));
    float gamma = expf(gamma_log);
    int erase = et_rng_uniform(rng) < o->erase_probability;
    float erase_area = uniform(rng, 0.02f, 0.2f) * size * size;
    float erase_aspect = expf(uniform(rng, logf(0.3f), logf(3.3f)));
    float erase_cx = uniform(rng, 0.0f, (float)size), erase_cy = uniform(rng, 0.0f, (float)size);
    uint8_t erase_value = (uint8_t)et_rng_below(rng, 256);
    /* Drawn last and only when on, so that runs without it draw as before. */
    float aspect_log = o->max_aspect > 0 ? uniform(rng, -logf(1.0f + o->max_aspect), logf(1.0f + o->max_aspect)) : 0.0f;
    float stretch_x = expf(0.5f * aspect_log), stretch_y = 1.0f / stretch_x;

    /* Inverse map: output pixel -> source pixel, about the centre. */
    float c = (size - 1) * 0.5f;
    float cos_a = cosf(angle) / scale, sin_a = sinf(angle) / scale;
    float mean = 0.0f;
    for (int i = 0; i < size * size; i++)
        mean += src[i];
    mean /= (float)(size * size);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float dx = (flip ? (float)(size - 1 - x) : (float)x) - c - shift_x;
            float dy = (float)y - c - shift_y;
            float sx = (cos_a * dx + sin_a * dy) / stretch_x + c;
            float sy = (-sin_a * dx + cos_a * dy) / stretch_y + c;
            float v = sample(src, size, sx, sy);
            v = (v - mean) * contrast + mean + brightness;
            if (v < 0) v = 0;
            if (v > 255) v = 255;
            v = 255.0f * powf(v / 255.0f, gamma);
            dst[y * size + x] = (uint8_t)(v + 0.5f);
        }
    if (erase) {
        int w = (int)(sqrtf(erase_area * erase_aspect) + 0.5f), h = (int)(sqrtf(erase_area / erase_aspect) + 0.5f);
        int x0 = (int)erase_cx - w / 2, y0 = (int)erase_cy - h / 2;
        for (int y = y0 < 0 ? 0 : y0; y < y0 + h && y < size; y++)
            for (int x = x0 < 0 ? 0 : x0; x < x0 + w && x < size; x++)
                dst[y * size + x] = erase_value;
    }
    degrade_like_video(dst, size, o, rng);
}
