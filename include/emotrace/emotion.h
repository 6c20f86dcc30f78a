/* The seven emotions, in FER2013 label order. */
#ifndef EMOTRACE_EMOTION_H
#define EMOTRACE_EMOTION_H

#define ET_EMOTIONS 7
/* FER2013 crops are 48x48 gray; the classifier's input size. */
#define ET_FACE_SIZE 48

extern const char *const et_emotion_names[ET_EMOTIONS];
/* Index of an emotion name (case-insensitive; "happiness", "sadness",
 * "anger", "surprised" and similar forms accepted), or -1. */
int et_emotion_from_name(const char *name);

/* The label a face track reports, kept stable: the track's current label
 * holds until another emotion is the most probable by at least margin over
 * it (hysteresis), so two near-equal emotions do not make the label flicker
 * between them. margin 0: the argmax. */
int et_emotion_label_hold(int current, const float *probabilities, float margin);

#endif
