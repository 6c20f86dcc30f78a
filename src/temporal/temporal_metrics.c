/* Accuracy, flicker and switch latency of per-frame predictions on tracks
 * (definitions in temporal_metrics.h). */
#include "emotrace/temporal_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/emotion_scores.h"
#include "emotrace/error.h"

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n sorted values (INFINITY entries sort last); NAN if n == 0. */
static double median(const double *v, int n)
{
    if (n == 0)
        return NAN;
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int et_temporal_metrics_compute(const et_track_set *set, const float *probabilities, et_temporal_metrics *m)
{
    memset(m, 0, sizeof *m);
    int *pred = malloc((size_t)(set->frames ? set->frames : 1) * sizeof(int));
    /* Latencies: all (misses as INFINITY) and detected only, s and frames. */
    double *lat = malloc(4 * (size_t)(set->frames ? set->frames : 1) * sizeof(double));
    if (!pred || !lat) {
        free(pred);
        free(lat);
        return et_error_set(ET_ERR_NOMEM, "metrics: out of memory");
    }
    double *all_s = lat, *all_f = lat + set->frames, *det_s = lat + 2 * (size_t)set->frames,
           *det_f = lat + 3 * (size_t)set->frames;
    int detected = 0;
    for (int i = 0; i < set->frames; i++) {
        pred[i] = et_argmax(probabilities + (size_t)i * ET_EMOTIONS, ET_EMOTIONS);
        m->correct += pred[i] == set->labels[i];
    }
    m->frames = set->frames;
    for (int t = 0; t < set->tracks; t++) {
        for (int s0 = set->start[t], s1; s0 < set->start[t + 1]; s0 = s1) {
            int truth = set->labels[s0];
            for (s1 = s0 + 1; s1 < set->start[t + 1] && set->labels[s1] == truth;)
                s1++;
            m->segment_seconds += set->times[s1 - 1] - set->times[s0];
            int hit = pred[s0] == truth ? s0 : -1;
            for (int i = s0 + 1; i < s1; i++) {
                if (pred[i] == pred[i - 1])
                    continue;
                if (hit < 0 && pred[i] == truth)
                    hit = i; /* the switch onto the new emotion */
                else
                    m->flicker_changes++;
            }
            if (s0 == set->start[t])
                continue; /* no true change before a track's first segment */
            int k = m->switches++;
            if (hit < 0) {
                m->missed++;
                all_s[k] = all_f[k] = INFINITY;
            } else {
                all_s[k] = det_s[detected] = set->times[hit] - set->times[s0];
                all_f[k] = det_f[detected] = hit - s0;
                detected++;
            }
        }
    }
    m->accuracy = m->frames ? (double)m->correct / m->frames : 0.0;
    m->flicker_per_10s = m->segment_seconds > 0 ? 10.0 * m->flicker_changes / m->segment_seconds : 0.0;
    qsort(all_s, (size_t)m->switches, sizeof(double), compare_doubles);
    qsort(all_f, (size_t)m->switches, sizeof(double), compare_doubles);
    qsort(det_s, (size_t)detected, sizeof(double), compare_doubles);
    qsort(det_f, (size_t)detected, sizeof(double), compare_doubles);
    m->latency_median_s = median(all_s, m->switches);
    m->latency_median_frames = median(all_f, m->switches);
    m->detected_latency_median_s = median(det_s, detected);
    m->detected_latency_median_frames = median(det_f, detected);
    free(pred);
    free(lat);
    return ET_OK;
}
