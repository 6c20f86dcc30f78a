#include "emotrace/face_embedder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_align.h"
#include "emotrace/nn.h"
#include "emotrace/weights_path.h"

struct et_face_embedder {
    et_net *net;
    char path[1024];
};

/* face-api's normalisation (FaceRecognitionNet.ts): (v - mean) / 255. */
static const float mean_rgb[3] = {122.782f, 117.001f, 104.298f};

/* dlib's chips (get_face_chip_details, padding 0.25) put the eye centres of
 * its mean face 0.353 of the side apart, their line 0.311 of the side down. */
#define CHIP_EYE_DISTANCE 0.353f
#define CHIP_EYE_Y 0.311f

int et_face_embedder_load(et_face_embedder **out, const char *weights_path)
{
    *out = NULL;
    et_face_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return et_error_set(ET_ERR_NOMEM, "face embedder: out of memory");
    int rc = ET_OK;
    if (weights_path)
        snprintf(e->path, sizeof e->path, "%s", weights_path);
    else if ((rc = et_weights_find("face-embed.safetensors", e->path, sizeof e->path)) != ET_OK)
        goto fail;
    if ((rc = et_net_load(&e->net, e->path)) != ET_OK)
        goto fail;
    et_shape in = et_net_input_shape(e->net), o = et_net_output_shape(e->net, 0);
    if (in.c != 3 || in.h != ET_FACE_CHIP_SIZE || in.w != ET_FACE_CHIP_SIZE || o.c * o.h * o.w != ET_FACE_EMBED_DIM) {
        rc = et_error_set(ET_ERR_FORMAT, "%s: not a face embedder (input must be 3x150x150, output 128 values)",
                          e->path);
        goto fail;
    }
    if ((rc = et_net_fold_batchnorm(e->net)) != ET_OK) {
        rc = et_error_wrap(rc, "%s: ", e->path);
        goto fail;
    }
    *out = e;
    return ET_OK;
fail:
    et_face_embedder_free(e);
    return rc;
}

void et_face_embedder_free(et_face_embedder *e)
{
    if (!e)
        return;
    et_net_free(e->net);
    free(e);
}

int et_face_chip(const uint8_t *rgb, int width, int height, int stride, const et_face *face, uint8_t *chip)
{
    et_face_align_options o;
    et_face_align_defaults(&o);
    o.size = ET_FACE_CHIP_SIZE;
    o.eye_distance = CHIP_EYE_DISTANCE;
    o.eye_y = CHIP_EYE_Y;
    return et_face_align_rgb(rgb, width, height, stride, face, &o, chip);
}

/* Chip px into the net's input x (NCHW), normalised, mirrored if asked. */
static void chip_to_input(const uint8_t *px, int mirror, float *x)
{
    const int n = ET_FACE_CHIP_SIZE;
    const size_t plane = (size_t)n * n;
    for (int y = 0; y < n; y++)
        for (int u = 0; u < n; u++) {
            const uint8_t *p = px + ((size_t)y * n + (mirror ? n - 1 - u : u)) * 3;
            for (int c = 0; c < 3; c++)
                x[c * plane + (size_t)y * n + u] = (p[c] - mean_rgb[c]) / 255.0f;
        }
}

int et_face_embed_raw(et_face_embedder *e, const uint8_t *chips, int count, int mirror, float *descriptors)
{
    if (count < 1)
        return ET_OK;
    int views = mirror ? 2 : 1;
    int rc = et_net_prepare(e->net, count * views, 1);
    if (rc != ET_OK)
        return et_error_wrap(rc, "%s: ", e->path);
    const size_t values = (size_t)ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3;
    for (int i = 0; i < count * views; i++)
        chip_to_input(chips + (size_t)(i % count) * values, i >= count,
                      et_net_input(e->net)->data + (size_t)i * values);
    if ((rc = et_net_forward(e->net, 0)) != ET_OK)
        return et_error_wrap(rc, "%s: ", e->path);
    const float *y = et_net_output(e->net, 0)->data;
    size_t n = (size_t)count * ET_FACE_EMBED_DIM;
    for (size_t k = 0; k < n; k++)
        descriptors[k] = mirror ? 0.5f * (y[k] + y[n + k]) : y[k];
    return ET_OK;
}

int et_face_embed(et_face_embedder *e, const uint8_t *chips, int count, float *descriptors)
{
    return et_face_embed_raw(e, chips, count, 1, descriptors);
}

float et_face_embed_distance(const float *a, const float *b)
{
    double sum = 0;
    for (int k = 0; k < ET_FACE_EMBED_DIM; k++)
        sum += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return (float)sqrt(sum);
}
