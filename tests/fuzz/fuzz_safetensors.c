/* libFuzzer: the safetensors reader (JSON header, dtypes, shapes, offsets),
 * converting every tensor it accepts to f32, and a weights file as the
 * engine loads it: the architecture JSON in the metadata built into a net,
 * the tensors checked against it and loaded. */
#include <stdlib.h>

#include "emotrace/nn.h"
#include "emotrace/safetensors.h"
#include "fuzz_file.h"

FUZZ_ENTRY(safetensors)
{
    const char *path = fuzz_file(data, size);
    if (!path)
        return 0;
    et_safetensors st;
    if (et_safetensors_load(&st, path) != 0)
        return 0;
    et_safetensors_meta(&st, "format");
    for (int i = 0; i < st.count; i++) {
        const et_st_tensor *t = &st.tensors[i];
        size_t count = 1;
        for (int d = 0; d < t->ndim && count; d++)
            count = t->shape[d] > 0 && (size_t)t->shape[d] <= (1u << 20) ? count * (size_t)t->shape[d] : 0;
        float *dst = count && count < (1u << 20) ? malloc(count * sizeof *dst) : NULL;
        if (dst)
            et_safetensors_load_f32(&st, t->name, dst, count);
        free(dst);
    }
    et_safetensors_free(&st);
    et_net *net = NULL;
    if (et_net_load(&net, path) == 0)
        et_net_free(net);
    return 0;
}
