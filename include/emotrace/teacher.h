/* Knowledge distillation: the mean class probabilities of trained emotion
 * CNNs (teachers) over a dataset, mixed into its training targets, so that a
 * student of the same size learns what an ensemble it could not afford at
 * inference time has learnt. */
#ifndef EMOTRACE_TEACHER_H
#define EMOTRACE_TEACHER_H

#include "emotrace/face_dataset.h"
#include "emotrace/metrics.h"

/* Mean probabilities (ds->count x 7 into out) of the classifiers in paths,
 * each run as analyze runs it, with flip: each crop also mirrored. */
int et_teacher_probabilities(const et_face_dataset *ds, const char *const *paths, int count, int flip,
                             float *out);
/* Accuracy, per-class figures and confusion of probabilities over ds. */
void et_teacher_metrics(const et_face_dataset *ds, const float *probabilities, et_metrics *m);
/* ds's targets become weight x probabilities + (1 - weight) x the current
 * target (the FER+ soft target if attached, else the one-hot label). */
int et_teacher_attach(et_face_dataset *ds, const float *probabilities, float weight);

#endif
