#include "emotrace/emotion_classifier.h"

#include <stdio.h>
#include <string.h>

#include "emotrace/error.h"

int et_emotion_classifier_load(et_emotion_classifier *c, const char *path)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    int rc = et_net_load(&c->net, path);
    if (rc != ET_OK)
        return rc;
    et_net *net = c->net;
    et_shape in = net->input_shape;
    et_shape out = net->layers[net->outputs[0]].out_shape;
    if (in.c != 1 || in.h != ET_FACE_SIZE || in.w != ET_FACE_SIZE || out.c * out.h * out.w != ET_EMOTIONS) {
        et_emotion_classifier_free(c);
        return et_error_set(ET_ERR_FORMAT, "%s: not an emotion classifier (input must be 1x48x48, output 7 classes)",
                            path);
    }
    c->embedding_layer = et_net_find(net, ET_EMBEDDING_LAYER);
    if (c->embedding_layer >= 0) {
        et_shape e = net->layers[c->embedding_layer].out_shape;
        c->embedding_size = e.c * e.h * e.w;
    }
    rc = et_net_fold_batchnorm(net);
    if (rc != ET_OK) {
        et_emotion_classifier_free(c);
        return et_error_wrap(rc, "%s: ", path);
    }
    return ET_OK;
}

int et_emotion_classifier_run(et_emotion_classifier *c, const uint8_t *crops, int count, float *probabilities,
                              float *embeddings)
{
    if (count < 1)
        return ET_OK;
    if (embeddings && c->embedding_layer < 0)
        return et_error_set(ET_ERR_USAGE, "%s: the network has no '%s' layer", c->path, ET_EMBEDDING_LAYER);
    int rc = et_net_prepare(c->net, count, 1);
    if (rc != ET_OK)
        return rc;
    const int n = ET_FACE_SIZE * ET_FACE_SIZE;
    for (int i = 0; i < count; i++)
        et_emotion_normalize(crops + (size_t)i * n, c->net->input.data + (size_t)i * n);
    rc = et_net_forward(c->net, 0);
    if (rc != ET_OK)
        return et_error_wrap(rc, "%s: ", c->path);
    const float *logits = et_net_output(c->net, 0)->data;
    for (int i = 0; i < count; i++)
        et_emotion_softmax(logits + (size_t)i * ET_EMOTIONS, probabilities + (size_t)i * ET_EMOTIONS);
    if (embeddings)
        memcpy(embeddings, c->net->layers[c->embedding_layer].out.data,
               (size_t)count * c->embedding_size * sizeof(float));
    return ET_OK;
}

void et_emotion_classifier_free(et_emotion_classifier *c)
{
    et_net_free(c->net);
    memset(c, 0, sizeof *c);
}
