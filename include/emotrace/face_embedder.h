/* Face descriptors for telling people apart: dlib's face-recognition ResNet
 * (weights/face-embed.safetensors, converted by tools/face_embed_convert.py)
 * maps a 150x150 RGB face chip to 128 numbers; photos of one person lie
 * within ET_FACE_EMBED_THRESHOLD (Euclidean distance) of each other. */
#ifndef EMOTRACE_FACE_EMBEDDER_H
#define EMOTRACE_FACE_EMBEDDER_H

#include <stdint.h>

#include "emotrace/face_detector.h"

#define ET_FACE_CHIP_SIZE 150
#define ET_FACE_EMBED_DIM 128
/* Same person below this distance: dlib's training margin, and the best
 * threshold on faces-in-the-wild's identities (weights/README.md). */
#define ET_FACE_EMBED_THRESHOLD 0.6f

typedef struct et_face_embedder et_face_embedder;

/* Loads the net (NULL: face-embed.safetensors found by et_weights_find). */
int et_face_embedder_load(et_face_embedder **out, const char *weights_path);
void et_face_embedder_free(et_face_embedder *e);

/* Writes the 150x150x3 RGB chip of a detected face: rotated so that the
 * eyes are level, scaled by the eye distance as dlib's aligned chips are. */
int et_face_chip(const uint8_t *rgb, int width, int height, int stride, const et_face *face, uint8_t *chip);

/* Descriptors of count chips (count x 150 x 150 x 3) into count x 128:
 * each the mean of the network's output on the chip and on its mirror
 * image (on faces-in-the-wild, verification accuracy 88.5% against 83.6%
 * for the chip alone; weights/README.md). Not reentrant: one caller thread
 * per embedder. */
int et_face_embed(et_face_embedder *e, const uint8_t *chips, int count, float *descriptors);
/* The network alone: mirror 0 gives its output on each chip (what face-api
 * computes), 1 the mean with the mirror image as above. */
int et_face_embed_raw(et_face_embedder *e, const uint8_t *chips, int count, int mirror, float *descriptors);

/* Euclidean distance of two descriptors. */
float et_face_embed_distance(const float *a, const float *b);

#endif
