/* People, not track fragments: the tracks of one recording (or of several)
 * that show the same face are linked into one person. Each track keeps its
 * few best chips for identification (large, frontal, sharp); their face
 * descriptors are averaged, and tracks are linked when their descriptors
 * lie within a threshold and they are never on screen at the same time. */
#ifndef EMOTRACE_PERSONS_H
#define EMOTRACE_PERSONS_H

#include <stdint.h>

#include "emotrace/face_embedder.h"

/* Chips kept (and embedded) per track. */
#define ET_PERSON_CHIPS 3

/* How useful a face is for identification, 0..1: its size (up to the chip's
 * 150 pixels) times how frontal it is (the nose tip between the eyes).
 * Cheap: decides whether a chip is worth cutting. */
float et_face_id_geometry(const et_face *face);
/* Sharpness of a chip, 0..1: mean squared Laplacian of its green channel,
 * squashed (blurred or upscaled faces score low). */
float et_face_chip_sharpness(const uint8_t *chip);

/* The best ET_PERSON_CHIPS chips offered for one track. */
typedef struct {
    uint8_t chips[ET_PERSON_CHIPS][ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3];
    float quality[ET_PERSON_CHIPS];
    int count;
} et_person_chips;

/* 1 if a face of this geometric quality could enter the set (so cutting
 * its chip is worth it), 0 if not. */
int et_person_chips_wants(const et_person_chips *c, float geometry);
/* Keeps chip if it is among the best by geometry x sharpness. */
void et_person_chips_offer(et_person_chips *c, const uint8_t *chip, float geometry);

typedef struct {
    double first_t, last_t;                  /* when the track is on screen */
    int has_descriptor;                      /* 0: no chip, cannot be linked */
    float descriptor[ET_FACE_EMBED_DIM];     /* mean over its chips */
} et_person_track;

/* The mean descriptor of c's chips into t (has_descriptor 0 when c is empty). */
int et_person_track_embed(et_person_track *t, et_face_embedder *e, const et_person_chips *c);

/* Links count tracks: in order of first appearance, each joins the person
 * with the nearest descriptor among that person's tracks, if that is below
 * threshold and none of them overlaps it in time; otherwise it is a new
 * person. person[i] receives 1, 2, ... (in order of first appearance).
 * Returns the number of persons, or a negative error (out of memory). */
int et_persons_link(const et_person_track *tracks, int count, float threshold, int *person);

#endif
