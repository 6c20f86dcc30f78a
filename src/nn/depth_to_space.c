/* depth_to_space: moves blocks of channels into space, as TensorFlow's
 * DEPTH_TO_SPACE (DCR order): [C*b*b, H, W] -> [C, H*b, W*b] with
 * out[c][y][x] = in[((y % b) * b + x % b) * C + c][y / b][x / b].
 * (BlazeFace full range ends its heads with it.) Settings: block (2). */
#include <stdlib.h>

#include "depth_to_space.h"
#include "emotrace/error.h"
#include "nn_internal.h"

static int depth_to_space_setup(et_layer *layer, const et_json *config)
{
    depth_to_space_state *s = et_layer_state_new(layer, sizeof *s);
    if (!s)
        return ET_ERR_NOMEM;
    int rc = et_config_int(config, "block", 2, 1, 64, &s->block);
    if (rc != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer->name);
    et_shape in = layer->in_shape[0];
    int area = s->block * s->block;
    if (layer->input_count != 1 || s->block < 1 || s->block > 64 || in.c % area)
        return et_error_set(ET_ERR_FORMAT,
                            "layer '%s': depth_to_space needs one input whose %d channels divide by block^2",
                            layer->name, in.c);
    layer->out_shape = (et_shape){in.c / area, in.h * s->block, in.w * s->block};
    return ET_OK;
}

static int depth_to_space_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const depth_to_space_state *s = layer->state;
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_shape os = layer->out_shape;
    size_t per_in = et_tensor_sample_count(in), per_out = et_tensor_sample_count(&layer->out);
    for (int n = 0; n < in->n; n++)
        for (int c = 0; c < os.c; c++)
            for (int y = 0; y < os.h; y++) {
                float *dst = layer->out.data + n * per_out + ((size_t)c * os.h + y) * os.w;
                for (int p = 0; p < s->block; p++) {
                    const float *src = in->data + n * per_in + source_row(layer, c, y, p);
                    for (int x = 0; x < in->w; x++)
                        dst[x * s->block + p] = src[x];
                }
            }
    return ET_OK;
}

const et_layer_type et_layer_depth_to_space = {"depth_to_space", depth_to_space_setup, depth_to_space_forward, NULL};
