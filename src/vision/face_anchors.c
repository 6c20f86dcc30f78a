/* SSD anchor generation, following MediaPipe's SsdAnchorsCalculator so that
 * anchor i lines up with entry i of the detector's outputs. */
#include "emotrace/face_anchors.h"

#include <math.h>

#include "emotrace/error.h"

static float layer_scale(const et_anchor_options *o, int layer)
{
    if (o->num_layers == 1)
        return (o->min_scale + o->max_scale) * 0.5f;
    return o->min_scale + (o->max_scale - o->min_scale) * (float)layer / (float)(o->num_layers - 1);
}

int et_anchors_generate(const et_anchor_options *o, et_anchor *anchors, int max)
{
    if (o->num_layers < 1 || o->num_layers > ET_ANCHOR_MAX_LAYERS || o->input_width < 1 || o->input_height < 1 ||
        o->aspect_ratio_count < 0 || o->aspect_ratio_count > ET_ANCHOR_MAX_RATIOS)
        return et_error_set(ET_ERR_USAGE, "anchors: bad options");
    for (int i = 0; i < o->num_layers; i++)
        if (o->strides[i] < 1)
            return et_error_set(ET_ERR_USAGE, "anchors: stride %d of layer %d", o->strides[i], i);
    int count = 0;
    for (int layer = 0; layer < o->num_layers;) {
        /* Sizes of the anchors of one cell, over all layers of this stride. */
        float widths[ET_ANCHOR_MAX_LAYERS * (ET_ANCHOR_MAX_RATIOS + 1)];
        float heights[ET_ANCHOR_MAX_LAYERS * (ET_ANCHOR_MAX_RATIOS + 1)];
        int per_cell = 0, last = layer;
        for (; last < o->num_layers && o->strides[last] == o->strides[layer]; last++) {
            float scale = layer_scale(o, last);
            for (int r = 0; r < o->aspect_ratio_count; r++) {
                float root = sqrtf(o->aspect_ratios[r]);
                widths[per_cell] = scale * root;
                heights[per_cell++] = scale / root;
            }
            if (o->interpolated_scale_aspect_ratio > 0.0f) {
                float next = last == o->num_layers - 1 ? 1.0f : layer_scale(o, last + 1);
                float scale_mid = sqrtf(scale * next), root = sqrtf(o->interpolated_scale_aspect_ratio);
                widths[per_cell] = scale_mid * root;
                heights[per_cell++] = scale_mid / root;
            }
        }
        int stride = o->strides[layer];
        int rows = (o->input_height + stride - 1) / stride, cols = (o->input_width + stride - 1) / stride;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++)
                for (int a = 0; a < per_cell; a++, count++) {
                    if (count >= max)
                        continue;
                    et_anchor *an = &anchors[count];
                    an->x = ((float)x + o->anchor_offset_x) / (float)cols;
                    an->y = ((float)y + o->anchor_offset_y) / (float)rows;
                    an->w = o->fixed_anchor_size ? 1.0f : widths[a];
                    an->h = o->fixed_anchor_size ? 1.0f : heights[a];
                }
        layer = last;
    }
    return count;
}
