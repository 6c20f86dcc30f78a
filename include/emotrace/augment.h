/* Training-time augmentation of 48x48 gray face crops: random affine warp
 * (rotation, scale, shift, mirror), brightness/contrast/gamma and random
 * erasing. Deterministic for a given generator state. */
#ifndef EMOTRACE_AUGMENT_H
#define EMOTRACE_AUGMENT_H

#include <stdint.h>

#include "emotrace/rng.h"

typedef struct {
    float max_rotation_deg; /* uniform in [-max, max] */
    float min_scale, max_scale;
    float max_shift;        /* fraction of the size, each axis */
    float flip_probability;
    float max_brightness;   /* added, as a fraction of 255 */
    float max_contrast;     /* factor in [1-max, 1+max] */
    float max_gamma;        /* exponent in [1/(1+max), 1+max] */
    float erase_probability;
} et_augment_options;

void et_augment_defaults(et_augment_options *o);
/* Writes an augmented copy of the size x size image src into dst. */
void et_augment_face(const uint8_t *src, uint8_t *dst, int size, const et_augment_options *o, et_rng *rng);

#endif
