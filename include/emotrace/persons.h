/* People, not track fragments: the tracks of one recording (or of several)
 * that show the same face are linked into one person. Each track keeps its
 * few best chips for identification (large, frontal, sharp); their face
 * descriptors are averaged, and tracks are linked when their descriptors
 * lie within a threshold and they are never on screen at the same time. */
#ifndef EMOTRACE_PERSONS_H
#define EMOTRACE_PERSONS_H

#include <stdint.h>

#include "emotrace/face_embedder.h"
#include "emotrace/tracker.h"

/* Chips kept (and embedded) per track. */
#define ET_PERSON_CHIPS 3

/* How useful a face is for identification, 0..1: its size (up to the chip's
 * 150 pixels) times how frontal it is (the nose tip between the eyes).
 * Cheap: decides whether a chip is worth cutting. */
float et_face_id_geometry(const et_face *face);
/* Sharpness of a chip, 0..1: mean squared Laplacian of its green channel,
 * squashed (blurred or upscaled faces score low). */
float et_face_chip_sharpness(const uint8_t *chip);

/* The same measure on a gray size x size face crop (the classifier's):
 * cheap, for deciding whether a chip is worth cutting. */
float et_face_gray_sharpness(const uint8_t *gray, int size);

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
/* The same with the quality measured by the caller (one measure for all
 * the chips of a set), and whether a quality would enter the set. */
void et_person_chips_keep(et_person_chips *c, const uint8_t *chip, float quality);
int et_person_chips_beats(const et_person_chips *c, float quality);

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

/* --- linking as a recording is analysed ---------------------------------
 *
 * The streaming rule (analyze): a track's person is decided when the track
 * starts, from the descriptor of its first face, so that every row can be
 * written with its person as it comes (CSV and JSON Lines stream). The new
 * track joins the nearest person seen so far whose descriptor lies below
 * the threshold and who is not on screen at that moment in the same file;
 * otherwise it is a new person. While the track lasts it keeps its few best
 * chips (et_person_chips, one offer every ET_PERSON_OFFER_SECONDS at first,
 * then every tenth of the track's age);
 * when it ends their mean descriptor replaces the first one, so that later
 * tracks are compared with the best view of it. Memory per file: one
 * descriptor per track and ET_PERSON_CHIPS chips per live track. */

#define ET_PERSON_OFFER_SECONDS 0.2

/* The persons seen so far: one descriptor per track with its person, file
 * and time on screen. One gallery per file links within a file; one shared
 * by all the files of a run (--persons-across) links across them; it is
 * guarded by a lock, as parallel jobs share it. */
typedef struct et_person_gallery et_person_gallery;
int et_person_gallery_create(et_person_gallery **out, float threshold);
void et_person_gallery_free(et_person_gallery *g);
/* Persons numbered so far (the highest person number). */
int et_person_gallery_count(et_person_gallery *g);

/* One media file's linking: owns a gallery of its own unless given a
 * shared one. */
typedef struct et_person_linker et_person_linker;
int et_person_linker_create(et_person_linker **out, et_face_embedder *e, et_person_gallery *shared, float threshold);
void et_person_linker_free(et_person_linker *l);
/* After et_tracker_update on one frame (rgb, width x height, stride bytes
 * a row): faces[i] belongs to tracker->tracks[track_index[i]], and
 * crops + i * crop_size^2 is its gray aligned crop (the classifier's),
 * whose sharpness decides whether its chip is worth cutting. Starts the
 * persons of new tracks, offers chips of the others, and finishes the
 * descriptors of tracks that ended. */
int et_person_linker_frame(et_person_linker *l, const et_tracker *tracker, const uint8_t *rgb, int width,
                           int height, int stride, const et_face *faces, const int *track_index, int count,
                           double t, const uint8_t *crops, int crop_size);
/* At the end of the file: finishes the descriptors of the tracks still live. */
int et_person_linker_finish(et_person_linker *l);
/* The person of tracker->tracks[track_index] (1, 2, ...; 0 if unknown). */
int et_person_linker_person(const et_person_linker *l, int track_index);
/* Copies the track's descriptor (ET_FACE_EMBED_DIM values) into out:
 * 1 if it has one, 0 if not. */
int et_person_linker_descriptor(const et_person_linker *l, int track_index, float *out);

#endif
