/* Real face tracks for the temporal model, without labels: each video is
 * analysed as analyze does (the CNN alone), and every track long enough
 * becomes one track of a set whose target is the CNN's probabilities
 * smoothed over a centred window of the track (track_set.h, targets). A
 * causal model trained towards it has to anticipate what the window sees
 * on both sides, and learns how real expressions move rather than how the
 * synthetic tracks do. */
#ifndef EMOTRACE_REAL_TRACKS_H
#define EMOTRACE_REAL_TRACKS_H

#include "emotrace/analyzer.h"
#include "emotrace/media_input.h"
#include "emotrace/track_set.h"

typedef struct {
    et_analyzer_options analyzer; /* detector and classifier set; temporal unused */
    int min_observations;         /* shorter tracks are left out (default 15) */
    double sigma;                 /* seconds: the target's Gaussian window (default 0.5) */
    int progress;                 /* a line per video on stderr */
} et_real_tracks_options;

void et_real_tracks_defaults(et_real_tracks_options *o);
/* Builds set from every item of list. A video that cannot be analysed is an
 * error naming it. */
int et_real_tracks_build(et_track_set *set, const et_media_list *list, const et_real_tracks_options *o);
/* The centred Gaussian smoothing of a track's probabilities (count x 7, at
 * times[]) into out: the target above. */
void et_real_tracks_smooth(const float *probabilities, const float *times, int count, double sigma, float *out);
/* Sets every track's targets (and labels, their argmax) from the CNN
 * probabilities in its features, smoothed with sigma (a cached set made
 * with another window). */
int et_real_tracks_retarget(et_track_set *set, double sigma);

#endif
