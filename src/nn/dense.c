/* Dense (fully connected) layer over the flattened sample.
 * Settings: out, bias (true). Params: weight [out, in], bias [out]. */
#include <cblas.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"

static int dense_setup(et_layer *layer, const et_json *config)
{
    int out = (int)et_json_get_number(config, "out", 0);
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

static int dense_forward(et_layer *layer, et_net *net, int train)
{
    (void)train;
    const et_tensor *in = et_layer_input(net, layer, 0);
    int rows = in->n, features = (int)et_tensor_sample_count(in), out = layer->out.c;
    float *y = layer->out.data;
    if (layer->param_count > 1) {
        const float *bias = layer->params[1].value.data;
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++)
                y[(size_t)r * out + o] = bias[o];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, out, features, 1.0f, in->data, features,
                layer->params[0].value.data, features, layer->param_count > 1 ? 1.0f : 0.0f, y, out);
    return ET_OK;
}

static int dense_backward(et_layer *layer, et_net *net)
{
    const et_tensor *in = et_layer_input(net, layer, 0);
    et_tensor *din = et_layer_input_grad(net, layer, 0);
    int rows = in->n, features = (int)et_tensor_sample_count(in), out = layer->out.c;
    const float *dy = layer->dout.data;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, features, rows, 1.0f, dy, out, in->data, features,
                1.0f, layer->params[0].grad.data, features);
    if (layer->param_count > 1) {
        float *dbias = layer->params[1].grad.data;
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++)
                dbias[o] += dy[(size_t)r * out + o];
    }
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, features, out, 1.0f, dy, out,
                    layer->params[0].value.data, features, 1.0f, din->data, features);
    return ET_OK;
}

const et_layer_type et_layer_dense = {"dense", dense_setup, dense_forward, dense_backward, NULL};
