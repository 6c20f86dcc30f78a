/* The backward pass of maxpool (its forward pass: ../maxpool.c). */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "../maxpool.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

/* The float with bits g when keep is 1, else +0. */
static inline float masked(uint32_t g, int keep)
{
    uint32_t bits = g & -(uint32_t)keep;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void backward_part(void *ctx, int t, int threads)
{
    const pool_job *j = ctx;
    const et_tensor *in = j->in, *out = j->out;
    size_t per_out = (size_t)out->h * out->w, per_in = (size_t)in->h * in->w;
    size_t begin, end;
    et_parallel_range((size_t)out->n * out->c, t, threads, &begin, &end);
    /* 2x2 windows tiling the whole plane: every input is written once. */
    int tiles = is_2x2(&j->s->win) && in->h == 2 * out->h && in->w == 2 * out->w;
    for (size_t pl = begin; pl < end; pl++) {
        const int *arg = j->argmax + pl * per_out;
        const float *dy = j->dout + pl * per_out;
        float *dx = j->din + pl * per_in;
        if (j->assign && tiles) {
            for (int oy = 0; oy < out->h; oy++)
                for (int ox = 0; ox < out->w; ox++) {
                    size_t i = (size_t)oy * out->w + ox;
                    /* g at the winner, +0 elsewhere, by masking its bits
                     * (branches would be mispredicted half the time). */
                    int a = 2 * oy * in->w + 2 * ox, at = arg[i];
                    uint32_t g;
                    memcpy(&g, &dy[i], sizeof g);
                    dx[a] = masked(g, at == a);
                    dx[a + 1] = masked(g, at == a + 1);
                    dx[a + in->w] = masked(g, at == a + in->w);
                    dx[a + in->w + 1] = masked(g, at == a + in->w + 1);
                }
            continue;
        }
        if (j->assign)
            memset(dx, 0, per_in * sizeof(float));
        for (size_t i = 0; i < per_out; i++)
            if (arg[i] >= 0)
                dx[arg[i]] += dy[i];
    }
}

int et_maxpool_backward(et_layer *layer, et_net *net)
{
    maxpool_state *s = layer->state;
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    if (!din)
        return ET_OK;
    pool_job j = {s, din, &layer->dout, s->argmax, layer->dout.data, din->data,
                  et_layer_input_grad_assign(net, layer, 0)};
    et_parallel_run(et_tensor_count(&layer->dout) >= POOL_PARALLEL_MIN ? 0 : 1, backward_part, &j);
    return ET_OK;
}
