/* Walking a net's parameters from outside the engine: optimizers, weight
 * averages and checkpoints see each one as an et_param_ref. */
#include <string.h>

#include "../nn_internal.h"
#include "emotrace/error.h"
#include "emotrace/nn_train.h"

static et_param_ref param_ref(et_layer *layer, et_param *param)
{
    return (et_param_ref){layer->name, param->name, &param->value, param->trainable ? &param->grad : NULL,
                          param->trainable, param->decay};
}

int et_net_visit_params(et_net *net, et_param_visitor fn, void *ctx)
{
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++) {
            et_param_ref ref = param_ref(&net->layers[l], &net->layers[l].params[p]);
            int rc = fn(&ref, ctx);
            if (rc != ET_OK)
                return rc;
        }
    return ET_OK;
}

size_t et_net_param_count(const et_net *net)
{
    size_t total = 0;
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++)
            if (net->layers[l].params[p].trainable)
                total += et_tensor_count(&net->layers[l].params[p].value);
    return total;
}

et_tensor *et_net_find_param(et_net *net, const char *layer, const char *name)
{
    int l = et_net_find_layer(net, layer);
    for (int p = 0; l >= 0 && p < net->layers[l].param_count; p++)
        if (!strcmp(net->layers[l].params[p].name, name))
            return &net->layers[l].params[p].value;
    return NULL;
}
