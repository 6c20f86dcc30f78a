/* The temporal model wrapper: a recurrent et_net run in streaming mode with
 * the per-track states kept by the caller (gathered into the net's batch
 * rows before a step, scattered back after it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/emotion_scores.h"
#include "emotrace/error.h"
#include "emotrace/nn.h"
#include "emotrace/safetensors.h"
#include "emotrace/temporal.h"

struct et_temporal {
    et_net *net;
    int feature_size, embedding_size;
    size_t state_size;
    char cnn_sha256[65];
    char path[1024];
};

int et_temporal_load(et_temporal **out, const char *path)
{
    *out = NULL;
    et_temporal *m = calloc(1, sizeof *m);
    if (!m)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    snprintf(m->path, sizeof m->path, "%s", path);
    int rc = et_net_load(&m->net, path);
    if (rc != ET_OK) {
        free(m);
        return rc;
    }
    /* The provenance is in the metadata, which et_net_load does not keep. */
    et_safetensors st;
    if (et_safetensors_load(&st, path) == ET_OK) {
        const char *sha = et_safetensors_meta(&st, "cnn_sha256");
        snprintf(m->cnn_sha256, sizeof m->cnn_sha256, "%s", sha ? sha : "");
        et_safetensors_free(&st);
    }
    et_net *net = m->net;
    et_shape in = et_net_input_shape(net);
    et_shape o = et_net_output_shape(net, 0);
    m->feature_size = in.c * in.h * in.w;
    m->embedding_size = m->feature_size - ET_TEMPORAL_EXTRA_FEATURES;
    m->state_size = et_net_state_size(net);
    if (m->state_size == 0 || m->embedding_size < 1 || o.c * o.h * o.w != ET_EMOTIONS) {
        et_temporal_free(m);
        return et_error_set(ET_ERR_FORMAT,
                            "%s: not a temporal model (needs an lstm layer, more than %d inputs and 7 outputs)", path,
                            ET_TEMPORAL_EXTRA_FEATURES);
    }
    et_net_set_streaming(net, 1);
    *out = m;
    return ET_OK;
}

void et_temporal_free(et_temporal *m)
{
    if (!m)
        return;
    et_net_free(m->net);
    free(m);
}

int et_temporal_embedding_size(const et_temporal *m)
{
    return m->embedding_size;
}

int et_temporal_feature_size(const et_temporal *m)
{
    return m->feature_size;
}

size_t et_temporal_state_size(const et_temporal *m)
{
    return m->state_size;
}

const char *et_temporal_cnn_sha256(const et_temporal *m)
{
    return m->cnn_sha256;
}

int et_temporal_step(et_temporal *m, float *const *states, const float *features, int count,
                     float *probabilities)
{
    if (count < 1)
        return ET_OK;
    et_net *net = m->net;
    int rc = et_net_prepare(net, count, 1);
    if (rc != ET_OK)
        return et_error_wrap(rc, "%s: ", m->path);
    memcpy(et_net_input(net)->data, features, (size_t)count * m->feature_size * sizeof(float));
    for (int i = 0; i < count && rc == ET_OK; i++)
        rc = et_net_state_set(net, i, states[i]);
    if (rc == ET_OK)
        rc = et_net_forward(net, 0);
    for (int i = 0; i < count && rc == ET_OK; i++)
        rc = et_net_state_get(net, i, states[i]);
    if (rc != ET_OK)
        return et_error_wrap(rc, "%s: ", m->path);
    const float *logits = et_net_output(net, 0)->data;
    for (int i = 0; i < count; i++)
        et_emotion_softmax(logits + (size_t)i * ET_EMOTIONS, probabilities + (size_t)i * ET_EMOTIONS);
    return ET_OK;
}

int et_temporal_sequence(et_temporal *m, const float *features, int steps, float *probabilities)
{
    if (steps < 1)
        return ET_OK;
    et_net *net = m->net;
    /* Outside streaming mode a pass starts from zero, as a new track does. */
    et_net_set_streaming(net, 0);
    int rc = et_net_prepare(net, 1, steps);
    if (rc == ET_OK) {
        memcpy(et_net_input(net)->data, features, (size_t)steps * m->feature_size * sizeof(float));
        rc = et_net_forward(net, 0);
    }
    et_net_set_streaming(net, 1);
    if (rc != ET_OK)
        return et_error_wrap(rc, "%s: ", m->path);
    const float *logits = et_net_output(net, 0)->data;
    for (int t = 0; t < steps; t++)
        et_emotion_softmax(logits + (size_t)t * ET_EMOTIONS, probabilities + (size_t)t * ET_EMOTIONS);
    return ET_OK;
}
