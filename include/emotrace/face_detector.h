/* Face detection with MediaPipe's BlazeFace detectors converted to emotrace
 * nets (tools/blazeface_convert.py; short range from
 * face_detection_short_range.tflite, full range from
 * face_detection_full_range_sparse.tflite, the file MediaPipe's full-range
 * graph runs): the frame is letterboxed into the model input, the net gives
 * a box, 6 keypoints and a score per SSD anchor, and overlapping detections
 * are blended by weighted non-maximum suppression.
 *
 * MediaPipe settings used (mediapipe/modules/face_detection/
 * face_detection_short_range.pbtxt, face_detection_full_range.pbtxt and the
 * shared face_detection.pbtxt):
 *   short range: 128x128 input, anchors num_layers 4, strides 8,16,16,16,
 *     interpolated_scale_aspect_ratio 1.0 -> 896 anchors; x/y/w/h_scale
 *     128; min_score_thresh 0.5.
 *   full range: 192x192 input, num_layers 1, stride 4,
 *     interpolated_scale_aspect_ratio 0.0 -> 2304 anchors; scales 192;
 *     min_score_thresh 0.6.
 *   both: SsdAnchorsCalculator min_scale 0.1484375, max_scale 0.75,
 *     anchor_offset 0.5, aspect_ratios 1.0, fixed_anchor_size true;
 *     TensorsToDetections num_coords 16, keypoint_coord_offset 4,
 *     6 keypoints, sigmoid_score, score_clipping_thresh 100,
 *     reverse_output_order (x before y); NonMaxSuppression
 *     min_suppression_threshold 0.3, INTERSECTION_OVER_UNION, WEIGHTED;
 *     ImageToTensor keep_aspect_ratio, range [-1, 1], BORDER_ZERO.
 * Unlike MediaPipe, the input averages areas when shrinking (its bilinear
 * sampling aliases on video frames and loses faces) and a border is added
 * when a frame shows no face without one (options below). */
#ifndef EMOTRACE_FACE_DETECTOR_H
#define EMOTRACE_FACE_DETECTOR_H

#include <stdint.h>

#include "emotrace/face.h"
#include "emotrace/face_anchors.h"
#include "emotrace/frame.h"

/* Values per anchor in the raw regressor output: box cx, cy, w, h, then
 * (x, y) per keypoint, in model input pixels relative to the anchor. */
#define ET_FACE_RAW_COORDS 16

typedef enum { ET_FACE_MODEL_SHORT, ET_FACE_MODEL_FULL } et_face_model;

typedef struct {
    et_face_model model;
    float min_score;   /* 0: the model's MediaPipe default (0.5 short, 0.6 full) */
    float min_face_px; /* drop faces whose box is narrower than this (frame pixels) */
    int max_faces;     /* 0: no limit; otherwise the best max_faces by score */
    /* Border added around the frame before letterboxing, as a fraction of
     * its longer side (on each side), black. BlazeFace misses faces that
     * fill or touch the frame; a border gives them context, but shrinks
     * every face, and smaller faces are then missed. So the frame is first
     * searched with margin and, only when that finds nothing, again with
     * retry_margin (if larger). Negative: the model's default below. */
    float margin, retry_margin;
} et_face_detector_options;

/* Defaults, measured on the 1,716 faces-in-the-wild photos (tight crops)
 * and on those photos pasted into 640x360 frames (tests/bench/bench_face.c,
 * numbers in weights/README.md): any border shrinks the faces of ordinary
 * frames below what the models see, so none at first; photos that a face
 * fills are found with a border. The full-range model, trained for small
 * distant faces, needs a large one. */
#define ET_FACE_MARGIN_SHORT 0.0f
#define ET_FACE_RETRY_MARGIN_SHORT 0.25f
#define ET_FACE_MARGIN_FULL 0.0f
#define ET_FACE_RETRY_MARGIN_FULL 1.0f

/* Defaults: short-range model, MediaPipe thresholds, the model's margins,
 * no size filter, no limit. */
void et_face_detector_defaults(et_face_detector_options *o);

typedef struct et_face_detector et_face_detector;

/* Loads the model's weights file (NULL: face-short.safetensors or
 * face-full.safetensors found by et_weights_find). */
int et_face_detector_load(et_face_detector **out, const char *weights_path, const et_face_detector_options *o);
void et_face_detector_free(et_face_detector *d);

/* Detects faces in an RGB24 image. Writes up to max faces in frame pixel
 * coordinates, best score first, and returns how many were found (possibly
 * more than max), or a negative error. Costs one net pass, two when the
 * first finds nothing and a retry margin is set. */
int et_face_detect(et_face_detector *d, const uint8_t *rgb, int width, int height, int stride, et_face *faces,
                   int max);
/* Detects faces in n frames, shared out between et_nn_threads() threads
 * (each with its own copy of the net, loaded on first use): frame i's faces
 * go to faces + i * max (up to max, best first) and counts[i] receives how
 * many were found (possibly more than max). Same results as et_face_detect
 * per frame. Not reentrant: one caller thread per detector. Returns ET_OK
 * or a negative error. */
int et_face_detect_batch(et_face_detector *d, const et_frame *const *frames, int n, et_face *faces, int max,
                         int *counts);
static inline int et_face_detect_frame(et_face_detector *d, const et_frame *f, et_face *faces, int max)
{
    return et_face_detect(d, f->rgb, f->width, f->height, f->stride, faces, max);
}

/* --- building blocks, exposed for tests and reference comparisons --- */

/* Model input size and anchor count of a loaded detector. */
void et_face_detector_geometry(const et_face_detector *d, int *input_width, int *input_height, int *anchors);
const et_anchor *et_face_detector_anchors(const et_face_detector *d);

/* The letterbox placing an image in the model input: input pixel
 * (x, y) = (frame_x * scale + offset_x, frame_y * scale + offset_y). */
typedef struct {
    float scale, offset_x, offset_y;
} et_letterbox;

/* Computes the letterbox (margin as in the options) and writes the model
 * input: CHW float RGB in [-1, 1], -1 (black) outside the image; area
 * averaging when shrinking, bilinear when enlarging. */
int et_face_letterbox(const uint8_t *rgb, int width, int height, int stride, float margin, float *input,
                      int input_width, int input_height, et_letterbox *lb);

/* Runs the net on a prepared input (3 x H x W, as et_face_letterbox makes)
 * and writes the raw outputs in MediaPipe's TFLite layout: regressors
 * [anchors][16] and score logits [anchors] (before the sigmoid). Either
 * output may be NULL. */
int et_face_detector_run_raw(et_face_detector *d, const float *input, float *regressors, float *logits);

/* Decodes raw outputs (TensorsToDetectionsCalculator): for each anchor with
 * sigmoid(clip(logit, +-100)) >= min_score, the box and keypoints
 * normalised to the model input (0..1). x/y/w/h scales are the input size.
 * Writes up to max faces; returns how many passed. */
int et_face_decode(const float *regressors, const float *logits, const et_anchor *anchors, int anchor_count,
                   float input_width, float input_height, float min_score, et_face *faces, int max);

/* MediaPipe's WEIGHTED non-maximum suppression in place: repeatedly takes
 * the best remaining face, blends it with every remaining face whose IoU
 * with it exceeds iou_threshold (box corners and keypoints averaged with
 * score weights; the best score kept) and removes them. Returns the number
 * kept, best first. */
int et_face_nms_weighted(et_face *faces, int count, float iou_threshold);

#endif
