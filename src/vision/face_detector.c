/* The face detector: BlazeFace net + anchors + decoding + weighted NMS,
 * with MediaPipe's settings per model (cited in face_detector.h). */
#include "emotrace/face_detector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"
#include "emotrace/weights_path.h"

#define NMS_IOU 0.3f

struct et_face_detector {
    et_net *net;
    et_face_detector_options opt;
    int input_w, input_h;
    et_anchor *anchors;
    int anchor_count;
    int heads;         /* regressor/classificator output pairs */
    float *regressors; /* anchor_count x 16, MediaPipe layout */
    float *logits;     /* anchor_count */
    et_face *candidates;
    char path[1024];
};

typedef struct {
    const char *file;
    int input;
    float min_score, margin, retry_margin;
    et_anchor_options anchors;
} model_spec;

/* From face_detection_{short,full}_range.pbtxt and face_detection.pbtxt. */
static const model_spec models[] = {
    [ET_FACE_MODEL_SHORT] = {"face-short.safetensors", 128, 0.5f, ET_FACE_MARGIN_SHORT, ET_FACE_RETRY_MARGIN_SHORT,
                             {.input_width = 128, .input_height = 128, .num_layers = 4, .strides = {8, 16, 16, 16},
                              .min_scale = 0.1484375f, .max_scale = 0.75f, .anchor_offset_x = 0.5f,
                              .anchor_offset_y = 0.5f, .aspect_ratios = {1.0f}, .aspect_ratio_count = 1,
                              .interpolated_scale_aspect_ratio = 1.0f, .fixed_anchor_size = 1}},
    [ET_FACE_MODEL_FULL] = {"face-full.safetensors", 192, 0.6f, ET_FACE_MARGIN_FULL, ET_FACE_RETRY_MARGIN_FULL,
                            {.input_width = 192, .input_height = 192, .num_layers = 1, .strides = {4},
                             .min_scale = 0.1484375f, .max_scale = 0.75f, .anchor_offset_x = 0.5f,
                             .anchor_offset_y = 0.5f, .aspect_ratios = {1.0f}, .aspect_ratio_count = 1,
                             .interpolated_scale_aspect_ratio = 0.0f, .fixed_anchor_size = 1}},
};

void et_face_detector_defaults(et_face_detector_options *o)
{
    memset(o, 0, sizeof *o);
    o->model = ET_FACE_MODEL_SHORT;
    o->margin = -1.0f;
    o->retry_margin = -1.0f;
}

void et_face_detector_free(et_face_detector *d)
{
    if (!d)
        return;
    et_net_free(d->net);
    free(d->anchors);
    free(d->regressors);
    free(d->logits);
    free(d->candidates);
    free(d);
}

/* Checks that the net's outputs are K regressor heads then K classificator
 * heads covering exactly the anchors (see tools/blazeface_convert.py). */
static int check_outputs(et_face_detector *d)
{
    et_net *net = d->net;
    if (net->output_count < 2 || net->output_count % 2)
        return et_error_set(ET_ERR_FORMAT, "%s: a face detector has regressor and classificator outputs in pairs",
                            d->path);
    d->heads = net->output_count / 2;
    int total = 0;
    for (int k = 0; k < d->heads; k++) {
        et_shape r = net->layers[net->outputs[k]].out_shape, c = net->layers[net->outputs[d->heads + k]].out_shape;
        if (r.h != c.h || r.w != c.w || r.c != c.c * ET_FACE_RAW_COORDS)
            return et_error_set(ET_ERR_FORMAT, "%s: outputs %d and %d are not a regressor/classificator pair", d->path,
                                k, d->heads + k);
        total += c.c * c.h * c.w;
    }
    if (total != d->anchor_count)
        return et_error_set(ET_ERR_FORMAT, "%s: the outputs cover %d anchors, the model has %d", d->path, total,
                            d->anchor_count);
    return ET_OK;
}

int et_face_detector_open(et_face_detector **out, const char *weights_path, const et_face_detector_options *o)
{
    *out = NULL;
    et_face_detector_options opt;
    if (o)
        opt = *o;
    else
        et_face_detector_defaults(&opt);
    if (opt.model != ET_FACE_MODEL_SHORT && opt.model != ET_FACE_MODEL_FULL)
        return et_error_set(ET_ERR_USAGE, "face detector: unknown model %d", (int)opt.model);
    const model_spec *spec = &models[opt.model];
    if (opt.min_score <= 0.0f)
        opt.min_score = spec->min_score;
    if (opt.margin < 0.0f)
        opt.margin = spec->margin;
    if (opt.retry_margin < 0.0f)
        opt.retry_margin = spec->retry_margin;
    et_face_detector *d = calloc(1, sizeof *d);
    if (!d)
        return et_error_set(ET_ERR_NOMEM, "face detector: out of memory");
    d->opt = opt;
    int rc = ET_OK;
    if (weights_path)
        snprintf(d->path, sizeof d->path, "%s", weights_path);
    else if ((rc = et_weights_find(spec->file, d->path, sizeof d->path)) != ET_OK)
        goto fail;
    if ((rc = et_net_load(&d->net, d->path)) != ET_OK)
        goto fail;
    et_shape in = d->net->input_shape;
    if (in.c != 3 || in.h != spec->input || in.w != spec->input) {
        rc = et_error_set(ET_ERR_FORMAT, "%s: input is %dx%dx%d, the %s-range face model takes 3x%dx%d", d->path,
                          in.c, in.h, in.w, opt.model == ET_FACE_MODEL_SHORT ? "short" : "full", spec->input,
                          spec->input);
        goto fail;
    }
    d->input_w = in.w;
    d->input_h = in.h;
    d->anchor_count = et_anchors_generate(&spec->anchors, NULL, 0);
    d->anchors = malloc((size_t)d->anchor_count * sizeof *d->anchors);
    d->regressors = malloc((size_t)d->anchor_count * ET_FACE_RAW_COORDS * sizeof(float));
    d->logits = malloc((size_t)d->anchor_count * sizeof(float));
    d->candidates = malloc((size_t)d->anchor_count * sizeof *d->candidates);
    if (!d->anchors || !d->regressors || !d->logits || !d->candidates) {
        rc = et_error_set(ET_ERR_NOMEM, "face detector: out of memory");
        goto fail;
    }
    et_anchors_generate(&spec->anchors, d->anchors, d->anchor_count);
    if ((rc = check_outputs(d)) != ET_OK || (rc = et_net_prepare(d->net, 1, 1)) != ET_OK)
        goto fail;
    *out = d;
    return ET_OK;
fail:
    et_face_detector_free(d);
    return rc;
}

void et_face_detector_geometry(const et_face_detector *d, int *input_width, int *input_height, int *anchors)
{
    if (input_width)
        *input_width = d->input_w;
    if (input_height)
        *input_height = d->input_h;
    if (anchors)
        *anchors = d->anchor_count;
}

const et_anchor *et_face_detector_anchors(const et_face_detector *d)
{
    return d->anchors;
}

/* Runs the net on net->input and gathers the per-head NCHW outputs into
 * MediaPipe's flat layout: anchor base + (y*w + x)*A + a. */
static int run_net(et_face_detector *d)
{
    et_net *net = d->net;
    int rc = et_net_forward(net, 0);
    if (rc != ET_OK)
        return et_error_wrap(rc, "%s: ", d->path);
    int base = 0;
    for (int k = 0; k < d->heads; k++) {
        const et_tensor *reg = et_net_output(net, k), *cls = et_net_output(net, d->heads + k);
        int per_cell = cls->c, cells = cls->h * cls->w;
        for (int a = 0; a < per_cell; a++) {
            const float *score_plane = cls->data + (size_t)a * cells;
            for (int cell = 0; cell < cells; cell++)
                d->logits[base + cell * per_cell + a] = score_plane[cell];
            for (int j = 0; j < ET_FACE_RAW_COORDS; j++) {
                const float *plane = reg->data + (size_t)(a * ET_FACE_RAW_COORDS + j) * cells;
                float *dst = d->regressors + (size_t)(base + a) * ET_FACE_RAW_COORDS + j;
                for (int cell = 0; cell < cells; cell++)
                    dst[(size_t)cell * per_cell * ET_FACE_RAW_COORDS] = plane[cell];
            }
        }
        base += cells * per_cell;
    }
    return ET_OK;
}

int et_face_detector_run_raw(et_face_detector *d, const float *input, float *regressors, float *logits)
{
    memcpy(d->net->input.data, input, (size_t)3 * d->input_w * d->input_h * sizeof(float));
    int rc = run_net(d);
    if (rc != ET_OK)
        return rc;
    if (regressors)
        memcpy(regressors, d->regressors, (size_t)d->anchor_count * ET_FACE_RAW_COORDS * sizeof(float));
    if (logits)
        memcpy(logits, d->logits, (size_t)d->anchor_count * sizeof(float));
    return ET_OK;
}

/* One pass at the given margin: faces in frame pixels, filtered. */
static int detect_pass(et_face_detector *d, const uint8_t *rgb, int width, int height, int stride, float margin,
                       et_face *faces, int max)
{
    et_letterbox lb;
    int rc = et_face_letterbox(rgb, width, height, stride, margin, d->net->input.data, d->input_w, d->input_h, &lb);
    if (rc == ET_OK)
        rc = run_net(d);
    if (rc != ET_OK)
        return rc;
    int count = et_face_decode(d->regressors, d->logits, d->anchors, d->anchor_count, (float)d->input_w,
                               (float)d->input_h, d->opt.min_score, d->candidates, d->anchor_count);
    count = et_face_nms_weighted(d->candidates, count, NMS_IOU);
    /* Normalised model input -> frame pixels, then the size filter. */
    float ax = (float)d->input_w / lb.scale, bx = lb.offset_x / lb.scale;
    float ay = (float)d->input_h / lb.scale, by = lb.offset_y / lb.scale;
    int kept = 0;
    for (int i = 0; i < count; i++) {
        et_face f = d->candidates[i];
        f.x0 = f.x0 * ax - bx;
        f.x1 = f.x1 * ax - bx;
        f.y0 = f.y0 * ay - by;
        f.y1 = f.y1 * ay - by;
        for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
            f.keypoints[k][0] = f.keypoints[k][0] * ax - bx;
            f.keypoints[k][1] = f.keypoints[k][1] * ay - by;
        }
        if (f.x1 - f.x0 < d->opt.min_face_px)
            continue;
        if (d->opt.max_faces > 0 && kept >= d->opt.max_faces)
            break;
        if (kept < max)
            faces[kept] = f;
        kept++;
    }
    return kept;
}

int et_face_detect(et_face_detector *d, const uint8_t *rgb, int width, int height, int stride, et_face *faces,
                   int max)
{
    int found = detect_pass(d, rgb, width, height, stride, d->opt.margin, faces, max);
    if (found == 0 && d->opt.retry_margin > d->opt.margin)
        found = detect_pass(d, rgb, width, height, stride, d->opt.retry_margin, faces, max);
    return found;
}
