/* Detection cadence: the face detector runs on key frames only, and the
 * faces of the frames between two key frames are interpolated when both
 * key frames agree (the same faces, at least one, each matched to its
 * counterpart with high similarity and a confident score), so a steady
 * talking head costs one detector pass every few frames. When they
 * disagree (a face appeared or left, moved fast, a scene cut, a score near
 * the threshold, no face at all) every frame between them is detected as
 * before, so a new face is found on the first
 * frame the detector finds it on, and no face is invented where the
 * detector would have found none at either end.
 *
 * Key frames: the first frame, then at most every `every` frames and at
 * most every max_interval seconds, and the last frame of every call (the
 * frames between key frames never wait for a later call: a caller's batch
 * bounds the delay). every 1: every frame detected, exactly as
 * et_face_detect_batch. */
#ifndef EMOTRACE_FACE_CADENCE_H
#define EMOTRACE_FACE_CADENCE_H

#include "emotrace/face.h"
#include "emotrace/face_detector.h"
#include "emotrace/frame.h"

/* The default: a key frame every 4 frames (7.5 per second at 30 fps) and
 * at least every 0.2 s. Measured on the 68 real clips of
 * ../shared/data/videos (tools/detect_cadence_compare.sh, README). */
#define ET_DETECT_EVERY 4
#define ET_DETECT_MAX_INTERVAL 0.2

typedef struct et_face_cadence et_face_cadence;

/* every < 1 means 1; max_interval <= 0: no limit in time. */
int et_face_cadence_create(et_face_cadence **out, int every, double max_interval);
void et_face_cadence_free(et_face_cadence *c);

/* Frames run through the detector and frames interpolated, so far. */
void et_face_cadence_counts(const et_face_cadence *c, long *detected, long *interpolated);

/* Faces of frames[0..n) in time order: frame i's are (*faces)[first[i]] to
 * (*faces)[first[i + 1]] (first has n + 1 entries), best score first when
 * detected; *faces stays valid until the next call. Returns ET_OK or a
 * negative error. */
int et_face_cadence_detect(et_face_cadence *c, et_face_detector *d, const et_frame *const *frames, int n,
                           const et_face **faces, int *first);

#endif
