/* The backward pass of upsample_bilinear (its forward pass: ../upsample_bilinear.c). */
#include "../nn_internal.h"
#include "../upsample_bilinear.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_upsample_bilinear_backward(et_layer *layer, et_net *net)
{
    upsample_state *s = layer->state;
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    const et_tensor *dout = &layer->dout;
    size_t planes = (size_t)dout->n * dout->c;
    for (size_t pl = 0; pl < planes; pl++) {
        float *dx = din->data + pl * din->h * din->w;
        const float *dy = dout->data + pl * dout->h * dout->w;
        for (int oy = 0; oy < dout->h; oy++) {
            lerp_tap r = s->rows[oy];
            float *top = dx + (size_t)r.lo * din->w, *bottom = dx + (size_t)r.hi * din->w;
            const float *src = dy + (size_t)oy * dout->w;
            for (int ox = 0; ox < dout->w; ox++) {
                lerp_tap c = s->cols[ox];
                float g_top = src[ox] * (1.0f - r.t), g_bottom = src[ox] * r.t;
                top[c.lo] += g_top * (1.0f - c.t);
                top[c.hi] += g_top * c.t;
                bottom[c.lo] += g_bottom * (1.0f - c.t);
                bottom[c.hi] += g_bottom * c.t;
            }
        }
    }
    return ET_OK;
}
