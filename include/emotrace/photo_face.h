/* The face crop of a still photo exactly as `analyze` makes it: detector,
 * then the largest face, aligned to a 48x48 gray crop. Used to evaluate
 * (and train on) uncropped labelled photos. */
#ifndef EMOTRACE_PHOTO_FACE_H
#define EMOTRACE_PHOTO_FACE_H

#include <stdint.h>

#include "emotrace/face_align.h"
#include "emotrace/face_detector.h"
#include "emotrace/frame.h"

typedef struct {
    et_face_detector *detector;
    et_face_align_options align;
    et_frame frame; /* decode buffer, reused */
} et_photo_face;

/* Loads the face detector (weights: NULL for the default file; detector:
 * NULL for the default options) and sets the alignment (align: NULL for
 * analyze's defaults). On error *p is left empty, as et_photo_face_free
 * leaves it. */
int et_photo_face_load(et_photo_face *p, const char *weights, const et_face_detector_options *detector,
                       const et_face_align_options *align);
/* An et_face_crop_fn (image_folder.h) with ctx an et_photo_face: returns 1
 * with the crop, 0 if no face was found, negative on error. */
int et_photo_face_crop(void *ctx, const char *path, uint8_t *crop);
/* Reads the photo into p->frame and finds its largest face: 1 with *face,
 * 0 if there is none, negative on error. */
int et_photo_face_find(et_photo_face *p, const char *path, et_face *face);
/* Closes the detector and frees the buffer; p may be zeroed or freed
 * already. */
void et_photo_face_free(et_photo_face *p);

#endif
