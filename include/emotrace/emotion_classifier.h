/* The emotion classifier: a CNN over a 48x48 gray face crop giving the 7
 * emotion probabilities and the penultimate embedding (input of the
 * temporal model). Preprocessing lives here so that train, eval and analyze
 * all feed the network exactly the same way. */
#ifndef EMOTRACE_EMOTION_CLASSIFIER_H
#define EMOTRACE_EMOTION_CLASSIFIER_H

#include <stdint.h>

#include "emotrace/emotion.h"
#include "emotrace/emotion_scores.h" /* et_emotion_softmax, which lived here */
#include "emotrace/nn.h"

/* Name of the layer whose output is the embedding. */
#define ET_EMBEDDING_LAYER "embedding"

/* Standardises a 48x48 crop (zero mean, unit variance per image), which
 * removes global lighting differences between datasets and cameras. */
void et_emotion_normalize(const uint8_t *gray, float *out);

/* Most threads a classifier runs on at once, each with its own copy of the net. */
#define ET_CLASSIFIER_LANES 8

typedef struct {
    et_net *net;
    et_net *lanes[ET_CLASSIFIER_LANES - 1]; /* copies for threads 1.., loaded on first use */
    int embedding_layer; /* index, or -1 */
    int embedding_size;
    /* Test-time augmentation: also classify each crop mirrored left-right
     * and average the two (probabilities and embeddings). Twice the work;
     * set after loading. */
    int flip_tta;
    char path[1024];
} et_emotion_classifier;

int et_emotion_classifier_load(et_emotion_classifier *c, const char *path);
/* Classifies count crops (count x 48 x 48 gray): probabilities count x 7,
 * and if embeddings is not NULL, count x embedding_size. Several crops are
 * shared out between et_nn_threads() threads. Not reentrant: one caller
 * thread per classifier. */
int et_emotion_classifier_run(et_emotion_classifier *c, const uint8_t *crops, int count, float *probabilities,
                              float *embeddings);
void et_emotion_classifier_free(et_emotion_classifier *c);

#endif
