/* Training-time augmentation of 48x48 gray face crops: random affine warp
 * (rotation, scale, shift, mirror), brightness/contrast/gamma and random
 * erasing per image, CutMix across a batch. Deterministic for a given
 * generator state. */
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
    /* What video does to a face (0 in the defaults, so the default draws
     * stay as they were): blur along a random direction of 2-5 pixels, a
     * face recorded at 12-30 pixels and scaled up, sensor noise of sigma
     * 2-10 grey levels. */
    float motion_blur_probability;
    float low_resolution_probability;
    float noise_probability;
    /* Faces squeezed or stretched, as photos resized to a square and
     * anamorphic video show them: width over height log-uniform in
     * [1/(1+max), 1+max], the area kept (0 in the defaults). */
    float max_aspect;
} et_augment_options;

void et_augment_defaults(et_augment_options *o);
/* Turns on the video degradations (train --video-augment). */
void et_augment_video_defaults(et_augment_options *o);
/* Writes an augmented copy of the size x size image src into dst. */
void et_augment_face(const uint8_t *src, uint8_t *dst, int size, const et_augment_options *o, et_rng *rng);

/* CutMix over a batch of n size x size images (n x classes targets): with
 * the given probability, image i gets a square box (area uniform in [0, 1),
 * centre uniform, clipped to the image) from another image j of the batch,
 * and its target becomes (1 - a) x target_i + a x target_j, a the share of
 * the image the box covers. original_images/original_targets are unmodified
 * copies of the batch (the sources of the boxes). */
void et_cutmix_batch(float *images, float *targets, int n, int size, int classes, float probability,
                     const float *original_images, const float *original_targets, et_rng *rng);

#endif
