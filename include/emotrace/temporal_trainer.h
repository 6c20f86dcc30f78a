/* Training the temporal model on precomputed synthetic tracks: whole tracks
 * as sequences (padded to the longest in the mini-batch, padding left out
 * of the loss), backpropagation through time over the full track, AdamW
 * with cosine decay. Inputs are standardised with the training set's mean
 * and spread; that scaling is folded into the first dense layer when the
 * weights are saved, so the shipped file takes raw features. The last
 * epoch's weights are kept (no selection on the validation tracks, which
 * are only reported).
 *
 * Loss per frame: label-smoothed cross-entropy, plus a consistency term
 * (the squared change of the probabilities between consecutive frames of
 * the same true emotion) that penalises flicker but not switching at a
 * true change. The synthetic tracks show only a few thousand distinct
 * faces, so a model free to use the 256-d embedding learns those faces
 * (training accuracy far above validation); embedding values are therefore
 * dropped at a high rate in training, leaving the model to rely mostly on
 * the CNN's probabilities and the timing inputs. */
#ifndef EMOTRACE_TEMPORAL_TRAINER_H
#define EMOTRACE_TEMPORAL_TRAINER_H

#include <stdint.h>

#include "emotrace/nn.h"
#include "emotrace/temporal_metrics.h"
#include "emotrace/track_set.h"

typedef struct {
    int projection, hidden;    /* dense width before the LSTM, LSTM width: 64, 64 */
    float input_dropout;       /* 0.2 */
    int epochs, batch;         /* 20, 32 tracks */
    float lr, min_lr, weight_decay, smoothing;
    float consistency;         /* weight of the within-segment flicker penalty: 10 */
    float embedding_dropout;   /* training-time dropout of embedding values: 0.9 */
    int warmup_epochs;
    uint64_t seed;
    const char *out_path;      /* weights written after training, or NULL */
    const char *const *metadata; /* NULL-terminated key/value pairs for the file */
    int quiet;
} et_temporal_train_options;

void et_temporal_train_defaults(et_temporal_train_options *o);
/* The architecture for feature_size inputs (caller frees). */
char *et_temporal_arch(int feature_size, int projection, int hidden, float input_dropout);

typedef struct {
    int epochs_done;
    double last_loss;
    et_temporal_metrics cnn, lstm; /* on the validation tracks */
    double seconds;
} et_temporal_train_result;

/* val may be NULL (then no metrics). */
int et_temporal_train(const et_temporal_train_options *o, const et_track_set *train, const et_track_set *val,
                      et_temporal_train_result *result);

/* Runs a temporal net over every track of set (batched, each from a zero
 * state): probabilities set->frames x 7. */
int et_temporal_net_predict(et_net *net, const et_track_set *set, float *probabilities);
/* The CNN-alone prediction: the probabilities stored in the features. */
void et_track_set_cnn_predictions(const et_track_set *set, float *probabilities);

#endif
