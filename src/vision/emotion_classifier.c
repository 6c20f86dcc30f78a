#include "emotrace/emotion_classifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"

/* Loads and checks the net, folded for inference. */
static int load_net(et_emotion_classifier *c, et_net **out)
{
    int rc = et_net_load(out, c->path);
    if (rc != ET_OK)
        return rc;
    et_net *net = *out;
    et_shape in = et_net_input_shape(net);
    et_shape o = et_net_output_shape(net, 0);
    if (in.c != 1 || in.h != ET_FACE_SIZE || in.w != ET_FACE_SIZE || o.c * o.h * o.w != ET_EMOTIONS)
        return et_error_set(ET_ERR_FORMAT, "%s: not an emotion classifier (input must be 1x48x48, output 7 classes)",
                            c->path);
    if ((rc = et_net_fold_batchnorm(net)) != ET_OK)
        return et_error_wrap(rc, "%s: ", c->path);
    et_net_freeze(net); /* its 3x3 convolutions then run by Winograd */
    return ET_OK;
}

int et_emotion_classifier_load(et_emotion_classifier *c, const char *path)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", path);
    int rc = load_net(c, &c->net);
    if (rc != ET_OK) {
        et_emotion_classifier_free(c);
        return rc;
    }
    c->embedding_layer = et_net_find_layer(c->net, ET_EMBEDDING_LAYER);
    if (c->embedding_layer >= 0) {
        et_shape e = et_net_layer_shape(c->net, c->embedding_layer);
        c->embedding_size = e.c * e.h * e.w;
    }
    return ET_OK;
}

/* dst = each 48x48 image of src (count of them) mirrored left-right. */
static void mirror_crops(const float *src, float *dst, int count)
{
    for (int row = 0; row < count * ET_FACE_SIZE; row++) {
        const float *s = src + (size_t)row * ET_FACE_SIZE;
        float *d = dst + (size_t)row * ET_FACE_SIZE;
        for (int x = 0; x < ET_FACE_SIZE; x++)
            d[x] = s[ET_FACE_SIZE - 1 - x];
    }
}

/* Runs crops [0, count) through net. With flip_tta the mirror images run
 * in the same batch, after the originals, and each crop gets the mean of
 * its two views (probabilities and embedding). */
static int run_net(et_emotion_classifier *c, et_net *net, const uint8_t *crops, int count, float *probabilities,
                   float *embeddings)
{
    const int n = ET_FACE_SIZE * ET_FACE_SIZE, views = c->flip_tta ? 2 : 1;
    int rc = et_net_prepare(net, count * views, 1);
    if (rc != ET_OK)
        return rc;
    float *x = et_net_input(net)->data;
    for (int i = 0; i < count; i++)
        et_emotion_normalize(crops + (size_t)i * n, x + (size_t)i * n);
    if (views == 2) /* the standardisation does not depend on pixel order */
        mirror_crops(x, x + (size_t)count * n, count);
    if ((rc = et_net_forward(net, 0)) != ET_OK)
        return et_error_wrap(rc, "%s: ", c->path);
    const float *logits = et_net_output(net, 0)->data;
    for (int i = 0; i < count; i++) {
        float *p = probabilities + (size_t)i * ET_EMOTIONS;
        et_emotion_softmax(logits + (size_t)i * ET_EMOTIONS, p);
        if (views == 2) {
            float m[ET_EMOTIONS];
            et_emotion_softmax(logits + (size_t)(count + i) * ET_EMOTIONS, m);
            for (int k = 0; k < ET_EMOTIONS; k++)
                p[k] = 0.5f * (p[k] + m[k]);
        }
    }
    if (embeddings) {
        const float *e = et_net_layer_output(net, c->embedding_layer)->data;
        size_t values = (size_t)count * c->embedding_size;
        for (size_t k = 0; k < values; k++)
            embeddings[k] = views == 2 ? 0.5f * (e[k] + e[values + k]) : e[k];
    }
    return ET_OK;
}

typedef struct {
    et_emotion_classifier *c;
    const uint8_t *crops;
    int count;
    float *probabilities, *embeddings;
} lane_job;

static int lane_run(void *ctx, int t, int threads)
{
    lane_job *j = ctx;
    size_t begin, end;
    et_parallel_range((size_t)j->count, t, threads, &begin, &end);
    if (begin == end)
        return ET_OK;
    et_net *net = t == 0 ? j->c->net : j->c->lanes[t - 1];
    return run_net(j->c, net, j->crops + begin * ET_FACE_SIZE * ET_FACE_SIZE, (int)(end - begin),
                   j->probabilities + begin * ET_EMOTIONS,
                   j->embeddings ? j->embeddings + begin * (size_t)j->c->embedding_size : NULL);
}

int et_emotion_classifier_run(et_emotion_classifier *c, const uint8_t *crops, int count, float *probabilities,
                              float *embeddings)
{
    if (count < 1)
        return ET_OK;
    if (embeddings && c->embedding_layer < 0)
        return et_error_set(ET_ERR_USAGE, "%s: the network has no '%s' layer", c->path, ET_EMBEDDING_LAYER);
    /* Several crops: one net per thread, each on its share of the crops,
     * scales across cores far better than splitting every layer. */
    int lanes = et_nn_threads();
    lanes = lanes < count ? lanes : count;
    lanes = lanes < ET_CLASSIFIER_LANES ? lanes : ET_CLASSIFIER_LANES;
    if (lanes < 2)
        return run_net(c, c->net, crops, count, probabilities, embeddings);
    for (int t = 1; t < lanes; t++)
        if (!c->lanes[t - 1]) {
            int rc = load_net(c, &c->lanes[t - 1]);
            if (rc != ET_OK)
                return rc;
        }
    lane_job j = {c, crops, count, probabilities, embeddings};
    return et_parallel_try(lanes, lane_run, &j);
}

void et_emotion_classifier_free(et_emotion_classifier *c)
{
    if (!c)
        return;
    et_net_free(c->net);
    for (int t = 0; t < ET_CLASSIFIER_LANES - 1; t++)
        et_net_free(c->lanes[t]);
    memset(c, 0, sizeof *c);
}
