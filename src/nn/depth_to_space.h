/* The depth_to_space layer: what its forward pass (depth_to_space.c)
 * and its backward pass (training/depth_to_space_backward.c) share.
 * Private to src/nn. */
#ifndef EMOTRACE_NN_DEPTH_TO_SPACE_H
#define EMOTRACE_NN_DEPTH_TO_SPACE_H

#include "nn_internal.h"

typedef struct {
    int block;
} depth_to_space_state;

/* Input offset of output row (c, y), x phase p (every b-th output element):
 * plane ((y % b) * b + p) * C + c, row y / b. */
static inline size_t source_row(const et_layer *layer, int c, int y, int phase)
{
    const depth_to_space_state *s = layer->state;
    et_shape is = layer->in_shape[0];
    int b = s->block, out_c = layer->out_shape.c;
    size_t plane = (size_t)((y % b) * b + phase) * out_c + c;
    return (plane * is.h + (size_t)(y / b)) * is.w;
}

#endif
