/* The temporal model: a small LSTM run causally over each face track, one
 * step per observation, turning the emotion CNN's per-frame output into
 * smoothed per-frame probabilities. Memory per track is constant: the
 * caller keeps one state vector per track (et_temporal_state_size floats,
 * all zero for a new track) and passes it to every step.
 *
 * Feature vector of one observation (et_temporal_features builds it):
 *   [0, E)        the CNN embedding (layer "embedding", E = 256 for the
 *                 default CNN)
 *   [E, E+7)      the CNN's 7 probabilities
 *   E+7           detector score, 0..1
 *   E+8           time gap: log(1 + dt / ET_TEMPORAL_GAP_UNIT), dt the
 *                 seconds since the track's previous observation (0 on the
 *                 first); a face lost for a while comes back with a large
 *                 gap, the state is kept and the model decides how much of
 *                 it to trust
 *   E+9           1 on the track's first observation, else 0
 *
 * The architecture and weights live in one .safetensors file (et_net_load);
 * its metadata records the SHA-256 of the CNN whose embeddings it was
 * trained on, since the model is only valid with that CNN. An et_temporal
 * is used by one thread at a time. */
#ifndef EMOTRACE_TEMPORAL_H
#define EMOTRACE_TEMPORAL_H

#include <stddef.h>

#include "emotrace/emotion.h"

/* Features after the embedding: probabilities, score, gap, first flag. */
#define ET_TEMPORAL_EXTRA_FEATURES (ET_EMOTIONS + 3)
/* Seconds that map to a gap feature of log 2 (one frame at 25 fps). */
#define ET_TEMPORAL_GAP_UNIT 0.04

typedef struct et_temporal et_temporal;

/* Loads a temporal model (e.g. emotion-lstm.safetensors). Errors name the
 * file: unreadable, not a recurrent net, or not 7 outputs. */
int et_temporal_load(et_temporal **out, const char *path);
void et_temporal_free(et_temporal *m);

/* Embedding floats the model expects (must equal the CNN's). */
int et_temporal_embedding_size(const et_temporal *m);
/* Floats per observation: embedding size + ET_TEMPORAL_EXTRA_FEATURES. */
int et_temporal_feature_size(const et_temporal *m);
/* Floats of state per track. */
size_t et_temporal_state_size(const et_temporal *m);
/* Hex SHA-256 of the CNN weights the model was trained with ("" if not
 * recorded). */
const char *et_temporal_cnn_sha256(const et_temporal *m);

/* Builds one observation's feature vector into out (embedding_size +
 * ET_TEMPORAL_EXTRA_FEATURES floats). dt_seconds: time since the track's
 * previous observation (ignored when first is set). */
void et_temporal_features(const float *embedding, int embedding_size, const float *cnn_probabilities,
                          float detector_score, double dt_seconds, int first, float *out);

/* One step for count tracks at once: features is count x feature_size,
 * states[i] (not NULL, one per track) the state of track i, read and then
 * overwritten with the state after this observation; probabilities
 * receives count x 7. Tracks may come and go between steps in any order. */
int et_temporal_step(et_temporal *m, float *const *states, const float *features, int count,
                     float *probabilities);

/* The batched path: the whole track of steps observations (steps x
 * feature_size) in one pass from a zero state, probabilities steps x 7.
 * Gives what steps calls of et_temporal_step give (training, tests). */
int et_temporal_sequence(et_temporal *m, const float *features, int steps, float *probabilities);

#endif
