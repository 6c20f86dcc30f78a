/* Labelled 48x48 gray face crops for training and evaluation: the set, the
 * FER2013 CSV reader (emotion,pixels,Usage; gzip or plain) and FER+ votes.
 * Image folders are read by image_folder.h (train), through the pipeline's
 * media reader. */
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
