/* The backward pass of depth_to_space (its forward pass: ../depth_to_space.c). */
#include "../depth_to_space.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

/* The adjoint: each output gradient goes back to the one input it copied. */
int et_depth_to_space_backward(et_layer *layer, et_net *net)
{
    const depth_to_space_state *s = layer->state;
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    et_shape os = layer->out_shape;
    size_t per_in = et_tensor_sample_count(din), per_out = et_tensor_sample_count(&layer->dout);
    for (int n = 0; n < din->n; n++)
        for (int c = 0; c < os.c; c++)
            for (int y = 0; y < os.h; y++) {
                const float *src = layer->dout.data + n * per_out + ((size_t)c * os.h + y) * os.w;
                for (int p = 0; p < s->block; p++) {
                    float *dst = din->data + n * per_in + source_row(layer, c, y, p);
                    for (int x = 0; x < din->w; x++)
                        dst[x] += src[x * s->block + p];
                }
            }
    return ET_OK;
}
