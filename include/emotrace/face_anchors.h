/* SSD anchors as MediaPipe's SsdAnchorsCalculator makes them
 * (mediapipe/calculators/tflite/ssd_anchors_calculator.cc, the non-multiscale
 * path): consecutive layers with the same stride share one grid of
 * ceil(input / stride) cells; each cell gets, per such layer, one anchor per
 * aspect ratio plus one interpolated anchor when
 * interpolated_scale_aspect_ratio > 0. Order: layer group, y, x, anchor. */
#ifndef EMOTRACE_FACE_ANCHORS_H
#define EMOTRACE_FACE_ANCHORS_H

#define ET_ANCHOR_MAX_LAYERS 8
#define ET_ANCHOR_MAX_RATIOS 4

/* Centre and size, normalised to the model input (0..1). */
typedef struct {
    float x, y, w, h;
} et_anchor;

typedef struct {
    int input_width, input_height;
    int num_layers;
    int strides[ET_ANCHOR_MAX_LAYERS];
    float min_scale, max_scale;
    float anchor_offset_x, anchor_offset_y;
    float aspect_ratios[ET_ANCHOR_MAX_RATIOS];
    int aspect_ratio_count;
    float interpolated_scale_aspect_ratio;
    int fixed_anchor_size; /* w = h = 1 (BlazeFace regresses sizes directly) */
} et_anchor_options;

/* Writes up to max anchors; returns how many the options define (which may
 * exceed max: call with max 0 to size the array), or ET_ERR_USAGE. */
int et_anchors_generate(const et_anchor_options *o, et_anchor *anchors, int max);

#endif
