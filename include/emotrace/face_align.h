/* Face alignment: an upright square crop of a detected face, rotated so
 * that the eyes are level (a similarity transform from the two eye
 * keypoints), for the emotion classifier (48x48 gray, FER2013 style). */
#ifndef EMOTRACE_FACE_ALIGN_H
#define EMOTRACE_FACE_ALIGN_H

#include <stdint.h>

#include "emotrace/face_detector.h"

typedef struct {
    int size; /* output side in pixels */
    /* Scale: by default the crop side is box_scale times the detection box
     * side ((w + h) / 2), centred on the box centre moved down by
     * offset_y box sides. With eye_distance > 0 the side is instead the
     * inter-ocular distance / eye_distance and the eye line sits at eye_y
     * of the crop height (robust to loose boxes, but shrinks with yaw). */
    float box_scale;
    float offset_y;
    float eye_distance;
    float eye_y;
} et_face_align_options;

/* Defaults: 48 px, box_scale ET_FACE_ALIGN_BOX_SCALE, offset 0, box mode.
 * The box scale was chosen by end-to-end accuracy (detect, align, CNN) on
 * the 1,716 labelled faces-in-the-wild photos (tools/choose_crop_scale.sh,
 * numbers in weights/README.md): 0.9 / 1.0 / 1.1 / 1.2 / 1.3 / 1.4 / 1.5
 * gave 45.7 / 48.7 / 48.3 / 47.8 / 47.8 / 47.9 / 45.4% with the run-1 CNN,
 * 44.2 / 47.1 / 48.0 / 48.2 / 46.5 / 44.2 / 42.3% with the shipped run-2 CNN.
 * 1.1: within noise of the peak (8 and 3 photos) and away from the drop
 * below. */
#define ET_FACE_ALIGN_SIZE 48
#define ET_FACE_ALIGN_BOX_SCALE 1.1f
void et_face_align_defaults(et_face_align_options *o);

/* The similarity transform from crop pixel coordinates (u, v), continuous,
 * (0, 0) the crop's top-left corner, to frame coordinates:
 * x = m[0] u + m[1] v + m[2], y = m[3] u + m[4] v + m[5]. */
void et_face_align_transform(const et_face *face, const et_face_align_options *o, float m[6]);

/* Writes the size x size crop of the RGB24 image: gray (BT.601 luma, one
 * byte per pixel) or RGB (three). Bilinear sampling, averaged over several
 * samples per pixel when shrinking; pixels outside the image repeat its
 * edge. Returns ET_OK or ET_ERR_USAGE / ET_ERR_NOMEM. */
int et_face_align_gray(const uint8_t *rgb, int width, int height, int stride, const et_face *face,
                       const et_face_align_options *o, uint8_t *out);
int et_face_align_rgb(const uint8_t *rgb, int width, int height, int stride, const et_face *face,
                      const et_face_align_options *o, uint8_t *out);

#endif
