/* Dense (fully connected) layer over the flattened sample.
 * Settings: out, bias (true). Params: weight [out, in], bias [out]. */
#include <cblas.h>

#include "dense.h"
#include "emotrace/error.h"
#include "nn_internal.h"

static int dense_setup(et_layer *layer, const et_json *config)
{
    layer->assigns_input_grad = 1;
    int out = 0, rc = et_config_int(config, "out", 0, 1, ET_MAX_SIDE, &out);
    if (rc != ET_OK)
        return et_error_wrap(rc, "layer '%s': ", layer->name);
    int has_bias = et_json_get_bool(config, "bias", 1);
    et_shape in = layer->in_shape[0];
    if (layer->input_count != 1 || out < 1)
        return et_error_set(ET_ERR_FORMAT, "layer '%s': dense needs one input and \"out\" >= 1", layer->name);
    layer->out_shape = (et_shape){out, 1, 1};
    if (!et_layer_add_param(layer, "weight", out, in.c * in.h * in.w, 1, 1, 1, 1) ||
        (has_bias && !et_layer_add_param(layer, "bias", out, 1, 1, 1, 1, 0)))
        return et_error_set(ET_ERR_NOMEM, "layer '%s': out of memory", layer->name);
    return ET_OK;
}

static void forward_part(void *ctx, int t, int threads)
{
    const dense_job *j = ctx;
    et_layer *layer = j->layer;
    float *y = layer->out.data;
    int o0, o1;
    split16(j->out, t, threads, &o0, &o1);
    if (o1 <= o0)
        return;
    int has_bias = layer->param_count > 1;
    if (has_bias) {
        const float *bias = layer->params[1].value.data;
        for (int r = 0; r < j->rows; r++)
            for (int o = o0; o < o1; o++)
                y[(size_t)r * j->out + o] = bias[o];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->rows, o1 - o0, j->features, 1.0f, j->x, j->features,
                layer->params[0].value.data + (size_t)o0 * j->features, j->features, has_bias ? 1.0f : 0.0f, y + o0,
                j->out);
    if (j->relu)
        for (int r = 0; r < j->rows; r++)
            for (int o = o0; o < o1; o++) {
                float v = y[(size_t)r * j->out + o];
                y[(size_t)r * j->out + o] = v > 0.0f ? v : 0.0f;
            }
}

static int dense_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const et_tensor *in = et_layer_input(net, layer, 0);
    dense_job j = {layer, in->data, NULL, NULL, in->n, (int)et_tensor_sample_count(in), layer->out.c,
                   layer->fused_relu, 0};
    double work = (double)j.rows * j.out * j.features;
    et_parallel_run(work >= DENSE_PARALLEL_MIN ? 0 : 1, forward_part, &j);
    return ET_OK;
}

const et_layer_type et_layer_dense = {"dense", dense_setup, dense_forward, NULL};
