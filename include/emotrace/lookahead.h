/* Smoothing that looks ahead, for recorded media: the analyzer holds each
 * analysed frame back until the frames up to `window` seconds after it are
 * known, then replaces each face's probabilities by the Gaussian-weighted
 * mean (sigma = window / 2) of its track's CNN probabilities from `window`
 * seconds before to `window` seconds after it. A centred window has no lag:
 * a change of expression shows where it happens, not after it, and brief
 * flickers of the CNN are averaged away.
 *
 * The window never reaches further into the past than into the future: at
 * the end of a track (the face leaves, the file ends) it narrows, so the
 * last frames follow the CNN without lagging behind it; at a track's start
 * it uses what follows.
 *
 * Memory is bounded by 2 x window seconds of faces, whatever the length of
 * the media, and, when pixels are kept (for an observer that draws every
 * frame), by window seconds of frames. Frames come out in the order they
 * went in. */
#ifndef EMOTRACE_LOOKAHEAD_H
#define EMOTRACE_LOOKAHEAD_H

#include <stdint.h>

#include "emotrace/frame.h"
#include "emotrace/store.h"

/* The default window of analyze (seconds each side), see weights/README.md. */
#define ET_LOOKAHEAD_WINDOW 1.0

typedef struct et_lookahead et_lookahead;

/* A frame handed back: its time, index and size (pixels only when kept),
 * whether it was analysed, its observations with smoothed probabilities
 * (emotion not set) and their crops (crop_bytes each). Valid until the
 * next call on the lookahead. */
typedef struct {
    const et_frame *frame;
    int analyzed;
    et_observation *observations;
    const uint8_t *crops;
    int count;
} et_lookahead_frame;

/* window > 0 seconds; crop_bytes: size of one face's crop (0: none kept);
 * keep_pixels: keep each frame's pixels until it is handed back. */
int et_lookahead_init(et_lookahead **out, double window, int crop_bytes, int keep_pixels);
void et_lookahead_free(et_lookahead *l);

/* Takes one analysed frame (frame times must not decrease): count faces,
 * observations[i].prob the CNN's probabilities, crops count x crop_bytes
 * (may be NULL when crop_bytes is 0). Copies everything. */
int et_lookahead_push(et_lookahead *l, const et_frame *frame, const et_observation *observations,
                      const uint8_t *crops, int count);

/* Takes a frame that was not analysed (--fps skipped it) so that it comes
 * out in its place, for an observer of every frame. */
int et_lookahead_push_skipped(et_lookahead *l, const et_frame *frame);

/* The oldest frame not yet handed back, once every frame up to window
 * seconds after it has been pushed, or at once with flush set (the media
 * ended): 1 and out filled, 0 when none is ready. */
int et_lookahead_pop(et_lookahead *l, int flush, et_lookahead_frame *out);

#endif
