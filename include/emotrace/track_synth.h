/* Synthetic face tracks from labelled still crops (FER2013), to train and
 * measure the temporal model without a labelled face-video set.
 *
 * A track is a sequence of emotion segments seen at one frame rate:
 *  - frame rate uniform in [min_fps, max_fps], track length uniform in
 *    [min_duration, max_duration] seconds, segment lengths log-uniform in
 *    [min_segment, max_segment] seconds; consecutive segments differ in
 *    emotion.
 *  - Identity: FER2013 has no identity labels, so a track cannot show one
 *    person changing expression. Each track has one neutral crop (its
 *    "resting" identity) used by all its neutral segments; each expression
 *    segment shows one other crop of that emotion. A track starts neutral
 *    with probability 0.4; after an expression comes neutral with
 *    neutral_probability; other emotions are drawn by their frequency in
 *    the dataset.
 *  - Onset and offset: between two segments the crops are cross-faded
 *    (pixel blend, smoothstep weight) over a transition of min_transition ..
 *    max_transition seconds centred on the boundary, where the label
 *    changes. The CNN's evidence thus moves gradually, as when an
 *    expression builds up, rather than jumping.
 *  - Every frame is a differently perturbed view of its crop(s): pose (roll,
 *    scale, shift) and lighting (brightness, contrast, gamma) drift slowly
 *    (Ornstein-Uhlenbeck processes, time constant ~1.5 s) plus per-frame
 *    detector box jitter; a per-track mirror, camera blur and sensor noise,
 *    occasional motion blur; occlusion episodes (a rectangle over part of
 *    the face for 0.3-1.5 s) that also lower the detector score; isolated
 *    dropped frames and lost-face episodes (0.2-1.5 s without observations)
 *    which appear as time gaps.
 * Everything is drawn from an et_rng seeded from (seed, track index), so
 * track i is the same whatever the number of tracks generated. */
#ifndef EMOTRACE_TRACK_SYNTH_H
#define EMOTRACE_TRACK_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "emotrace/face_dataset.h"

typedef struct {
    float min_fps, max_fps;             /* 10, 30 */
    float min_duration, max_duration;   /* track seconds: 2, 12 */
    float min_segment, max_segment;     /* segment seconds: 0.3, 5 */
    float min_transition, max_transition; /* cross-fade seconds: 0.1, 0.6 */
    float neutral_probability;          /* after an expression: 0.5 */
    float perturbation;                 /* scales pose/lighting/blur/noise strengths: 1 */
    float max_drop;                     /* per-track drop probability in [0, max]: 0.08 */
    float lost_rate;                    /* lost-face episodes per second: 0.06 */
    float occlusion_rate;               /* occlusion episodes per second: 0.08 */
} et_track_synth_options;

/* Bumped whenever the same options and seed would give other tracks, so
 * that cached track sets are remade. */
#define ET_TRACK_SYNTH_VERSION 2

void et_track_synth_defaults(et_track_synth_options *o);
/* "synth-2 fps=10:30 duration=2:12 ..." for provenance and cache checks. */
void et_track_synth_describe(const et_track_synth_options *o, char *out, size_t size);

/* One observed frame: what to render and its truth. */
typedef struct {
    double time;            /* seconds since the track's first frame */
    int label;              /* true emotion */
    int image_a, image_b;   /* dataset rows; b blended in with weight mix */
    float mix;
    float angle_deg, scale, shift_x, shift_y; /* shift as a fraction of the size */
    int flip;
    float brightness, contrast, gamma;        /* brightness as a fraction of 255 */
    float blur_sigma, noise_sigma;            /* pixels, gray levels */
    int occluded;
    float occ_x0, occ_y0, occ_x1, occ_y1;     /* fractions of the size */
    uint8_t occ_value;
    float detector_score;
    uint64_t noise_seed;
} et_synth_frame;

typedef struct {
    float fps;
    int count;              /* observed frames */
    et_synth_frame *frames;
} et_synth_track;

typedef struct {
    const et_face_dataset *ds;
    int *rows[ET_EMOTIONS]; /* dataset rows of each emotion */
    int counts[ET_EMOTIONS];
    et_track_synth_options options;
    uint64_t seed;
} et_track_synth;

/* Indexes ds (kept by reference) by emotion. Needs at least one neutral
 * and one other crop. */
int et_track_synth_init(et_track_synth *s, const et_face_dataset *ds, const et_track_synth_options *o,
                        uint64_t seed);
void et_track_synth_free(et_track_synth *s);

/* Plans track number index (frames, truth, perturbations). */
int et_track_synth_plan(const et_track_synth *s, int index, et_synth_track *track);
void et_synth_track_free(et_synth_track *t);

/* Renders one planned frame as a 48x48 gray crop. */
void et_track_synth_render(const et_track_synth *s, const et_synth_frame *f, uint8_t *crop);

#endif
