/* Fast posed onsets for checking the temporal model: a still neutral face
 * for 1-2 s, then a 0.5 s cross-fade (smoothstep) to another crop showing
 * one of the six expressions, ending on the expression at its peak; 25-30
 * frames per second, a still camera (only sensor noise changes between
 * frames, a mirror per track). The question asked of it: is the last frame
 * labelled with the expression? Expressions are drawn uniformly, crops
 * uniformly within their emotion; track i depends only on (seed, i). */
#ifndef EMOTRACE_TRACK_ONSET_H
#define EMOTRACE_TRACK_ONSET_H

#include "emotrace/track_synth.h"

#define ET_ONSET_SECONDS 0.5

/* Plans onset number index from s's crops (s->options are not used):
 * the same signature as et_track_synth_plan. The truth of a frame is the
 * expression from the middle of the cross-fade on. */
int et_track_onset_plan(const et_track_synth *s, int index, et_synth_track *track);

#endif
