/* The backward pass of dense (its forward pass: ../dense.c). */
#include <cblas.h>

#include "../dense.h"
#include "../nn_internal.h"
#include "emotrace/error.h"
#include "layer_backward.h"

static void backward_part(void *ctx, int t, int threads)
{
    const dense_job *j = ctx;
    et_layer *layer = j->layer;
    /* Weight gradient: rows [o0, o1) of dW. */
    int o0, o1;
    split16(j->out, t, threads, &o0, &o1);
    if (o1 > o0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, j->features, j->rows, 1.0f, j->dy + o0, j->out,
                    j->x, j->features, 1.0f, layer->params[0].grad.data + (size_t)o0 * j->features, j->features);
        if (layer->param_count > 1) {
            float *dbias = layer->params[1].grad.data;
            for (int o = o0; o < o1; o++) {
                float sum = 0.0f;
                for (int r = 0; r < j->rows; r++)
                    sum += j->dy[(size_t)r * j->out + o];
                dbias[o] += sum;
            }
        }
    }
    if (!j->dx)
        return;
    /* Input gradient: columns [f0, f1) of dX. */
    int f0, f1;
    split16(j->features, t, threads, &f0, &f1);
    if (f1 > f0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->rows, f1 - f0, j->out, 1.0f, j->dy, j->out,
                    layer->params[0].value.data + f0, j->features, j->assign ? 0.0f : 1.0f, j->dx + f0,
                    j->features);
}

int et_dense_backward(et_layer *layer, et_net *net)
{
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    dense_job j = {layer, in->data, layer->dout.data, din ? din->data : NULL, in->n,
                   (int)et_tensor_sample_count(in), layer->out.c, 0,
                   din && et_layer_input_grad_assign(net, layer, 0)};
    double work = (double)j.rows * j.out * j.features;
    et_parallel_run(work >= DENSE_PARALLEL_MIN ? 0 : 1, backward_part, &j);
    return ET_OK;
}
