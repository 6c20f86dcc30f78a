/* Small maths on a row of scores, one per emotion, that every layer uses:
 * the classifier and the temporal model turn logits into probabilities,
 * and the analyzer, trainers and metrics take the most probable. */
#ifndef EMOTRACE_EMOTION_SCORES_H
#define EMOTRACE_EMOTION_SCORES_H

/* Index of the largest of n values (the first of equal ones). */
int et_argmax(const float *values, int n);
/* Softmax of 7 logits into probabilities. */
void et_emotion_softmax(const float *logits, float *probabilities);

#endif
