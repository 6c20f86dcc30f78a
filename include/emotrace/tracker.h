/* Face tracking within one media file: each detection is associated with an
 * existing track by box overlap and keypoint agreement, or starts a new
 * track. A track survives gaps (missed detections, occlusions) of up to
 * max_gap seconds. Each live track carries the temporal model's state. */
#ifndef EMOTRACE_TRACKER_H
#define EMOTRACE_TRACKER_H

#include <stddef.h>

#include "emotrace/emotion.h"
#include "emotrace/face.h"

typedef struct {
    int id;             /* 1, 2, ... in order of first appearance */
    et_face face;       /* latest detection */
    double first_t, last_t;
    double previous_t;  /* time of the observation before last_t (= last_t when new) */
    int frames;         /* observations counted by the caller */
    double probability_sum[ET_EMOTIONS];
    et_label_state label; /* the emotion reported (et_label_update) */
    float *state;       /* temporal model state; NULL once the track has ended */
    int live;
} et_track;

typedef struct {
    et_track *tracks;   /* every track of the file, in id order */
    int count, capacity;
    double max_gap;     /* seconds */
    size_t state_size;  /* floats of temporal state per live track */
} et_tracker;

void et_tracker_init(et_tracker *t, double max_gap, size_t state_size);
/* Associates count faces seen at time with tracks: track_index[i] receives
 * the index (into t->tracks) of face i's track. Tracks not seen for longer
 * than max_gap end first (their state is freed). New tracks start with a
 * zero state. */
int et_tracker_update(et_tracker *t, const et_face *faces, int count, double time, int *track_index);
void et_tracker_free(et_tracker *t);

/* How well a face continues a track's last detection, 0..1: the mean of
 * box IoU and keypoint agreement (1 when keypoints coincide, 0 when they are
 * half a face apart on average). */
float et_track_similarity(const et_face *last, const et_face *face);

#endif
