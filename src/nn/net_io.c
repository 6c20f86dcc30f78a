/* Saving and loading nets as .safetensors: tensors "<layer>.<param>" with
 * shape [n, c, h, w] less trailing ones (conv weight [out, in, kh, kw],
 * dense weight [out, in], bias [out]); the architecture JSON is the
 * "architecture" metadata entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/safetensors.h"
#include "nn_internal.h"

int et_param_shape(const et_tensor *t, int64_t shape[4])
{
    int64_t dims[4] = {t->n, t->c, t->h, t->w};
    int ndim = 4;
    while (ndim > 1 && dims[ndim - 1] == 1)
        ndim--;
    memcpy(shape, dims, sizeof dims);
    return ndim;
}

/* "[a,b,c]" for error messages. */
static void format_shape(char *dst, size_t size, const int64_t *shape, int ndim)
{
    size_t at = (size_t)snprintf(dst, size, "[");
    for (int d = 0; d < ndim && at < size; d++)
        at += (size_t)snprintf(dst + at, size - at, "%s%lld", d ? "," : "", (long long)shape[d]);
    if (at < size)
        snprintf(dst + at, size - at, "]");
}

int et_net_save(const et_net *net, const char *path, const char *const *extra_metadata)
{
    for (int l = 0; l < net->layer_count; l++)
        if (net->layers[l].identity)
            return et_error_set(ET_ERR_USAGE, "%s: cannot save a net whose batch norm was folded", path);
    int total = 0;
    for (int l = 0; l < net->layer_count; l++)
        total += net->layers[l].param_count;
    et_st_write_tensor *tensors = calloc((size_t)total + 1, sizeof *tensors);
    char (*names)[2 * ET_NAME_SIZE + 2] = calloc((size_t)total + 1, sizeof *names);
    int extra = 0;
    while (extra_metadata && extra_metadata[extra])
        extra += 2;
    const char **metadata = calloc((size_t)extra + 5, sizeof *metadata);
    if (!tensors || !names || !metadata) {
        free(tensors);
        free(names);
        free(metadata);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    int k = 0;
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++, k++) {
            const et_param *param = &net->layers[l].params[p];
            snprintf(names[k], sizeof names[k], "%s.%s", net->layers[l].name, param->name);
            tensors[k].name = names[k];
            tensors[k].data = param->value.data;
            tensors[k].ndim = et_param_shape(&param->value, tensors[k].shape);
        }
    int m = 0;
    metadata[m++] = "architecture";
    metadata[m++] = net->arch;
    for (int i = 0; i < extra; i++)
        metadata[m++] = extra_metadata[i];
    metadata[m] = NULL;
    int rc = et_safetensors_save(path, tensors, total, metadata);
    free(tensors);
    free(names);
    free(metadata);
    return rc;
}

int et_net_load(et_net **out, const char *path)
{
    *out = NULL;
    et_safetensors st;
    int rc = et_safetensors_load(&st, path);
    if (rc != ET_OK)
        return rc;
    const char *arch = et_safetensors_meta(&st, "architecture");
    if (!arch) {
        et_safetensors_free(&st);
        return et_error_set(ET_ERR_FORMAT, "%s: no 'architecture' metadata: not an emotrace weights file", path);
    }
    et_net *net = NULL;
    rc = et_net_create_uninitialized(&net, arch);
    if (rc != ET_OK) {
        et_safetensors_free(&st);
        return et_error_wrap(rc, "%s: ", path);
    }
    for (int l = 0; l < net->layer_count && rc == ET_OK; l++)
        for (int p = 0; p < net->layers[l].param_count && rc == ET_OK; p++) {
            et_param *param = &net->layers[l].params[p];
            char name[2 * ET_NAME_SIZE + 2];
            snprintf(name, sizeof name, "%s.%s", net->layers[l].name, param->name);
            const et_st_tensor *t = et_safetensors_find(&st, name);
            int64_t shape[4];
            int ndim = et_param_shape(&param->value, shape);
            if (!t) {
                rc = et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' is missing", path, name);
                break;
            }
            int same = t->ndim == ndim;
            for (int d = 0; same && d < ndim; d++)
                same = t->shape[d] == shape[d];
            if (!same) {
                char have[160], need[160];
                format_shape(have, sizeof have, t->shape, t->ndim);
                format_shape(need, sizeof need, shape, ndim);
                rc = et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' has shape %s but the architecture needs %s", path,
                                  name, have, need);
                break;
            }
            rc = et_safetensors_load_f32(&st, name, param->value.data, et_tensor_count(&param->value));
        }
    et_safetensors_free(&st);
    if (rc != ET_OK) {
        et_net_free(net);
        return rc;
    }
    *out = net;
    return ET_OK;
}
