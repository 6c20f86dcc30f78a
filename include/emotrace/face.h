/* A detected face: its box, score and keypoints, as the detector gives it
 * and the tracker, aligner and stores take it. */
#ifndef EMOTRACE_FACE_H
#define EMOTRACE_FACE_H

#define ET_FACE_KEYPOINTS 6
/* Keypoint order of the model. "Right" is the person's right, which is on
 * the image's left in an unmirrored frontal photo. */
enum {
    ET_FACE_RIGHT_EYE,
    ET_FACE_LEFT_EYE,
    ET_FACE_NOSE_TIP,
    ET_FACE_MOUTH,
    ET_FACE_RIGHT_EAR,
    ET_FACE_LEFT_EAR
};

typedef struct {
    float x0, y0, x1, y1;              /* box; may reach outside the frame */
    float score;                       /* 0..1 */
    float keypoints[ET_FACE_KEYPOINTS][2]; /* x, y */
} et_face;

/* Intersection over union of two boxes (0 when either is empty). */
float et_face_iou(const et_face *a, const et_face *b);

#endif
