/* Classification metrics: confusion matrix, per-class precision, recall and
 * F1, macro-F1 and accuracy. */
#ifndef EMOTRACE_METRICS_H
#define EMOTRACE_METRICS_H

#include "emotrace/emotion.h"
/* et_argmax, declared here before it moved to the bottom layer: callers
 * that include this header for it still compile. */
#include "emotrace/emotion_scores.h"

typedef struct {
    long confusion[ET_EMOTIONS][ET_EMOTIONS]; /* [true][predicted] */
    long total, correct;
    double precision[ET_EMOTIONS], recall[ET_EMOTIONS], f1[ET_EMOTIONS];
    double accuracy, macro_f1;
} et_metrics;

void et_metrics_init(et_metrics *m);
void et_metrics_add(et_metrics *m, int truth, int predicted);
/* Computes the derived figures from the confusion matrix. */
void et_metrics_finish(et_metrics *m);

#endif
