/* Labelled 48x48 gray face crops for training and evaluation, from the
 * FER2013 CSV (emotion,pixels,Usage; gzip or plain) or from image folders
 * laid out as DIR/<emotion>/<image>. */
#ifndef EMOTRACE_FACE_DATASET_H
#define EMOTRACE_FACE_DATASET_H

#include <stdint.h>

#include "emotrace/emotion.h"

typedef struct {
    int count;
    uint8_t *pixels; /* count * 48 * 48, row-major */
    int *labels;     /* 0..6 */
    int *rows;       /* row index in the source CSV (for aligning FER+ votes) */
    float *soft;     /* count * 7 target distributions (FER+), or NULL */
} et_face_dataset;

/* Loads the rows whose Usage equals usage (NULL: all rows), at most limit
 * rows (0: no limit). */
int et_fer2013_load(et_face_dataset *ds, const char *path, const char *usage, int limit);
/* Loads DIR/<emotion>/<image>.{png,jpg,...}: each image converted to gray and
 * resized to 48x48. Unknown folder names and unreadable images are errors. */
int et_image_folder_load(et_face_dataset *ds, const char *dir);
/* Makes the 48x48 gray crop of the image at path: returns 1, 0 when the
 * image has no usable face (it is skipped and counted), or a negative error. */
typedef int (*et_face_crop_fn)(void *ctx, const char *path, uint8_t *crop);
/* Like et_image_folder_load, also reading DIR/labels.csv (its header names
 * the columns image and emotion, in any order among others; images in
 * DIR/images/ or DIR) when present, with crop making each crop
 * (NULL: centre square, for images that are face crops already). Images
 * without a face add 1 to *skipped (may be NULL). */
int et_image_folder_load_faces(et_face_dataset *ds, const char *dir, et_face_crop_fn crop, void *crop_ctx,
                               int *skipped);
/* Attaches FER+ votes (fer2013new.csv, row-aligned with fer2013.csv) as soft
 * targets mapped to the FER2013 classes: weight x the vote shares plus
 * (1 - weight) x the one-hot FER2013 label (weight 1: the votes alone).
 * Rows without a usable vote keep their one-hot FER2013 label. */
int et_ferplus_attach(et_face_dataset *ds, const char *path, float weight);
/* Appends repeat copies of every sample of more to ds (rows -1: no CSV row;
 * one-hot soft targets where ds has soft targets and more has none). */
int et_face_dataset_append(et_face_dataset *ds, const et_face_dataset *more, int repeat);
/* FER+ columns: neutral, happiness, surprise, sadness, anger, disgust,
 * fear, contempt, unknown, NF (not a face). */
#define ET_FERPLUS_COLUMNS 10
/* Reads the vote counts of FER+ rows 0 .. rows-1 into votes (rows x 10, in
 * the FER+ column order); rows the file does not have stay 0. */
int et_ferplus_read_votes(const char *path, int rows, int *votes);
/* The FER+ majority label of one row as a FER2013 class: the emotion with
 * strictly more votes than every other column (the six other emotions and
 * contempt, unknown, NF); -1 when contempt, unknown or NF has the most
 * votes, when the top is tied, or when there are no votes. */
int et_ferplus_majority(const int votes[ET_FERPLUS_COLUMNS]);
void et_face_dataset_free(et_face_dataset *ds);
/* Makes room for one more sample (capacity tracks the allocation). */
int et_face_dataset_grow(et_face_dataset *ds, int *capacity);

#endif
