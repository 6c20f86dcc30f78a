/* How well per-frame predictions follow a track's true emotion over time.
 *  - accuracy: correct frames / frames.
 *  - flicker: predicted-label changes per 10 s inside segments of constant
 *    true emotion. In each segment the first change onto the true label is
 *    the switch (see latency), not flicker; every other change is.
 *  - switch latency: for every true change inside a track, the frames (and
 *    seconds) from the first frame of the new segment to the first frame
 *    predicted as its emotion (0 when already right). A segment that never
 *    gets its emotion is a miss: it counts as "never" in latency_median and
 *    is left out of detected_latency_median. */
#ifndef EMOTRACE_TEMPORAL_METRICS_H
#define EMOTRACE_TEMPORAL_METRICS_H

#include "emotrace/track_set.h"

typedef struct {
    long frames, correct;
    double accuracy;
    long flicker_changes;
    double segment_seconds; /* time spanned inside constant-emotion segments */
    double flicker_per_10s;
    int switches, missed;
    double latency_median_s, latency_median_frames; /* INFINITY when half or more are missed */
    double detected_latency_median_s, detected_latency_median_frames;
} et_temporal_metrics;

/* probabilities: set->frames x 7 (argmax per frame is the label). */
int et_temporal_metrics_compute(const et_track_set *set, const float *probabilities, et_temporal_metrics *m);

#endif
