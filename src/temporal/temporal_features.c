/* The per-observation input of the temporal model (layout in temporal.h). */
#include <math.h>
#include <string.h>

#include "emotrace/temporal.h"

void et_temporal_features(const float *embedding, int embedding_size, const float *cnn_probabilities,
                          float detector_score, double dt_seconds, int first, float *out)
{
    memcpy(out, embedding, (size_t)embedding_size * sizeof(float));
    float *extra = out + embedding_size;
    memcpy(extra, cnn_probabilities, ET_EMOTIONS * sizeof(float));
    /* A log scale: one dropped frame matters, the difference between a 5 s
     * and a 6 s gap hardly does. Negative or NaN dt (clock jumps) counts as
     * none, an hour as forever. */
    double dt = first || !(dt_seconds > 0.0) ? 0.0 : dt_seconds > 3600.0 ? 3600.0 : dt_seconds;
    extra[ET_EMOTIONS] = detector_score;
    extra[ET_EMOTIONS + 1] = (float)log1p(dt / ET_TEMPORAL_GAP_UNIT);
    extra[ET_EMOTIONS + 2] = first ? 1.0f : 0.0f;
}
