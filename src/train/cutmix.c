/* CutMix (Yun et al., ICCV 2019): a box of each image is replaced by the same
 * box of another image of the batch, and its target becomes the two targets
 * weighted by the areas they show. A regulariser against the overfitting of
 * long runs: the net has to read the expression from every part of the face. */
#include "emotrace/augment.h"

#include <math.h>
#include <string.h>

void et_cutmix_batch(float *images, float *targets, int n, int size, int classes, float probability,
                     const float *original_images, const float *original_targets, et_rng *rng)
{
    size_t pixels = (size_t)size * size;
    for (int i = 0; i < n && n > 1; i++) {
        /* Every draw is made for every image, so the stream of random
         * numbers does not depend on which images were mixed. */
        int mixed = et_rng_uniform(rng) < probability;
        int partner = (i + 1 + (int)et_rng_below(rng, (uint32_t)(n - 1))) % n; /* never i */
        float side = sqrtf((float)et_rng_uniform(rng)) * (float)size; /* area uniform in [0, 1) */
        float cx = (float)et_rng_uniform(rng) * (float)size, cy = (float)et_rng_uniform(rng) * (float)size;
        if (!mixed)
            continue;
        int x0 = (int)lroundf(cx - side / 2), x1 = (int)lroundf(cx + side / 2);
        int y0 = (int)lroundf(cy - side / 2), y1 = (int)lroundf(cy + side / 2);
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > size ? size : x1;
        y1 = y1 > size ? size : y1;
        if (x1 <= x0 || y1 <= y0)
            continue;
        for (int y = y0; y < y1; y++)
            memcpy(images + i * pixels + (size_t)y * size + x0,
                   original_images + partner * pixels + (size_t)y * size + x0, (size_t)(x1 - x0) * sizeof(float));
        /* The weights are the areas after clipping to the image. */
        float pasted = (float)((x1 - x0) * (y1 - y0)) / (float)pixels;
        for (int k = 0; k < classes; k++)
            targets[(size_t)i * classes + k] = (1.0f - pasted) * original_targets[(size_t)i * classes + k] +
                                               pasted * original_targets[(size_t)partner * classes + k];
    }
}
