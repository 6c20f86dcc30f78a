/* The backward pass of avgpool (its forward pass: ../avgpool.c). */
#include "../avgpool.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

int et_avgpool_backward(et_layer *layer, et_net *net)
{
    const avgpool_state *s = layer->state;
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    const et_tensor *dout = &layer->dout;
    size_t planes = (size_t)dout->n * dout->c;
    for (size_t pl = 0; pl < planes; pl++) {
        float *dx = din->data + pl * din->h * din->w;
        const float *dy = dout->data + pl * dout->h * dout->w;
        for (int oy = 0; oy < dout->h; oy++)
            for (int ox = 0; ox < dout->w; ox++) {
                int y0, y1, x0, x1;
                int count = window_at(&s->win, din->h, din->w, oy, ox, &y0, &y1, &x0, &x1);
                if (count <= 0)
                    continue;
                float g = dy[oy * dout->w + ox] / (float)count;
                for (int iy = y0; iy < y1; iy++)
                    for (int ix = x0; ix < x1; ix++)
                        dx[iy * din->w + ix] += g;
            }
    }
    return ET_OK;
}
