/* Running a temporal model over a track set the way the pipeline does. */
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/track_set.h"

/* Streams every track through the model as analyze does: one step per
 * frame for all tracks that have a frame at that position. */
int et_temporal_stream_set(et_temporal *m, const et_track_set *set, float *probabilities)
{
    if (set->feature_size != et_temporal_feature_size(m))
        return et_error_set(ET_ERR_USAGE, "the temporal model takes %d features per frame, the tracks have %d",
                            et_temporal_feature_size(m), set->feature_size);
    size_t state_size = et_temporal_state_size(m);
    int fs = set->feature_size, longest = 0;
    float *states = calloc((size_t)set->tracks * state_size, sizeof(float));
    float **rows = malloc((size_t)set->tracks * sizeof *rows);
    float *features = malloc((size_t)set->tracks * fs * sizeof(float));
    float *out = malloc((size_t)set->tracks * ET_EMOTIONS * sizeof(float));
    int *ids = malloc((size_t)set->tracks * sizeof(int));
    int rc = ET_OK;
    if (!states || !rows || !features || !out || !ids)
        rc = et_error_set(ET_ERR_NOMEM, "temporal: out of memory");
    for (int t = 0; t < set->tracks; t++)
        if (set->start[t + 1] - set->start[t] > longest)
            longest = set->start[t + 1] - set->start[t];
    for (int step = 0; step < longest && rc == ET_OK; step++) {
        int n = 0;
        for (int t = 0; t < set->tracks; t++) {
            if (set->start[t] + step >= set->start[t + 1])
                continue;
            memcpy(features + (size_t)n * fs, set->features + (size_t)(set->start[t] + step) * fs,
                   (size_t)fs * sizeof(float));
            rows[n] = states + (size_t)t * state_size;
            ids[n++] = t;
        }
        rc = et_temporal_step(m, rows, features, n, out);
        for (int i = 0; i < n && rc == ET_OK; i++)
            memcpy(probabilities + (size_t)(set->start[ids[i]] + step) * ET_EMOTIONS, out + (size_t)i * ET_EMOTIONS,
                   ET_EMOTIONS * sizeof(float));
    }
    free(states);
    free(rows);
    free(features);
    free(out);
    free(ids);
    return rc;
}
