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

/* The label a face track reports, kept stable. The first observation
 * reports the most probable emotion. After that the label moves to the most
 * probable emotion when it leads the current label by at least margin, or
 * when it has been the most probable for dwell seconds without a break: two
 * near-equal emotions taking turns do not make the label flicker, and a
 * real change shows after dwell seconds at most. margin 0: the argmax. */
typedef struct {
    int label;           /* reported; -1 before the first observation */
    int leader;          /* most probable emotion of the latest observation */
    double leader_since; /* when it became the most probable */
} et_label_state;

void et_label_state_init(et_label_state *s);
/* Updates s with an observation at time t (seconds) and returns the label. */
int et_label_update(et_label_state *s, const float *probabilities, double t, float margin, double dwell);

#endif
