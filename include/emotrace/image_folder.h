/* Labelled face crops from image folders (DIR/<emotion>/<image>, or
 * DIR/labels.csv), read through the pipeline's media reader: the part of
 * face_dataset.h that sits with training, above the pipeline. */
#ifndef EMOTRACE_IMAGE_FOLDER_H
#define EMOTRACE_IMAGE_FOLDER_H

#include <stdint.h>

#include "emotrace/face_dataset.h"

/* Loads DIR/<emotion>/<image>.{png,jpg,...}: each image converted to gray and
 * resized to 48x48. Unknown folder names and unreadable images are errors. */
int et_image_folder_load(et_face_dataset *ds, const char *dir);
/* Makes the 48x48 gray crop of the image at path: returns 1, 0 when the
 * image has no usable face (it is skipped and counted), or a negative error. */
typedef int (*et_face_crop_fn)(void *ctx, const char *path, uint8_t *crop);
/* Like et_image_folder_load, also reading DIR/labels.csv (its header names
 * the columns image and emotion, in any order among others; images in
 * DIR/images/ or DIR) when present, with crop making each crop
 * (NULL: centre square, for images that are face crops already). Images
 * without a face add 1 to *skipped (may be NULL). */
int et_image_folder_load_faces(et_face_dataset *ds, const char *dir, et_face_crop_fn crop, void *crop_ctx,
                               int *skipped);

#endif
