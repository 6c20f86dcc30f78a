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
/* Most threads one detector runs on at once (frames shared out). */
#define LANES 8

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
    struct et_face_detector *lanes[LANES - 1]; /* copies for threads 1.., loaded on first use */
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
    for (int t = 0; t < LANES - 1; t++)
        et_face_detector_free(d->lanes[t]);
    free(d);
}

/* Checks that the net's outputs are K regressor heads then K classificator
 * heads covering exactly the anchors (see tools/blazeface_convert.py). */
static int check_outputs(et_face_detector *d)
{
    et_net *net = d->net;
    if (et_net_output_count(net) < 2 || et_net_output_count(net) % 2)
        return et_error_set(ET_ERR_FORMAT, "%s: a face detector has regressor and classificator outputs in pairs",
                            d->path);
    d->heads = et_net_output_count(net) / 2;
    int total = 0;
    for (int k = 0; k < d->heads; k++) {
        et_shape r = et_net_output_shape(net, k), c = et_net_output_shape(net, d->heads + k);
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

int et_face_detector_load(et_face_detector **out, const char *weights_path, const et_face_detector_options *o)
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
    /* Inference only: ReLUs fold into the convolutions and adds before them. */
    if ((rc = et_net_load(&d->net, d->path)) != ET_OK || (rc = et_net_fold_batchnorm(d->net)) != ET_OK)
        goto fail;
    et_shape in = et_net_input_shape(d->net);
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

/* Gathers image b's per-head NCHW outputs into MediaPipe's flat layout:
 * anchor base + (y*w + x)*A + a. */
static void gather_outputs(et_face_detector *d, int b)
{
    et_net *net = d->net;
    int base = 0;
    for (int k = 0; k < d->heads; k++) {
        const et_tensor *reg = et_net_output(net, k), *cls = et_net_output(net, d->heads + k);
        int per_cell = cls->c, cells = cls->h * cls->w;
        const float *reg_data = reg->data + (size_t)b * reg->c * cells, *cls_data = cls->data + (size_t)b * per_cell * cells;
        for (int a = 0; a < per_cell; a++) {
            const float *score_plane = cls_data + (size_t)a * cells;
            for (int cell = 0; cell < cells; cell++)
                d->logits[base + cell * per_cell + a] = score_plane[cell];
            for (int j = 0; j < ET_FACE_RAW_COORDS; j++) {
                const float *plane = reg_data + (size_t)(a * ET_FACE_RAW_COORDS + j) * cells;
                float *dst = d->regressors + (size_t)(base + a) * ET_FACE_RAW_COORDS + j;
                for (int cell = 0; cell < cells; cell++)
                    dst[(size_t)cell * per_cell * ET_FACE_RAW_COORDS] = plane[cell];
            }
        }
        base += cells * per_cell;
    }
}

static int forward(et_face_detector *d)
{
    int rc = et_net_forward(d->net, 0);
    return rc == ET_OK ? ET_OK : et_error_wrap(rc, "%s: ", d->path);
}

int et_face_detector_run_raw(et_face_detector *d, const float *input, float *regressors, float *logits)
{
    int rc = et_net_prepare(d->net, 1, 1);
    if (rc != ET_OK)
        return rc;
    memcpy(et_net_input(d->net)->data, input, (size_t)3 * d->input_w * d->input_h * sizeof(float));
    if ((rc = forward(d)) != ET_OK)
        return rc;
    gather_outputs(d, 0);
    if (regressors)
        memcpy(regressors, d->regressors, (size_t)d->anchor_count * ET_FACE_RAW_COORDS * sizeof(float));
    if (logits)
        memcpy(logits, d->logits, (size_t)d->anchor_count * sizeof(float));
    return ET_OK;
}

/* Faces of image b of the last forward pass, in frame pixels, filtered. */
static int faces_of(et_face_detector *d, int b, const et_letterbox *lb, et_face *faces, int max)
{
    gather_outputs(d, b);
    int count = et_face_decode(d->regressors, d->logits, d->anchors, d->anchor_count, (float)d->input_w,
                               (float)d->input_h, d->opt.min_score, d->candidates, d->anchor_count);
    count = et_face_nms_weighted(d->candidates, count, NMS_IOU);
    /* Normalised model input -> frame pixels, then the size filter. */
    float ax = (float)d->input_w / lb->scale, bx = lb->offset_x / lb->scale;
    float ay = (float)d->input_h / lb->scale, by = lb->offset_y / lb->scale;
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

/* One pass at the given margin: the frame's faces, filtered. */
static int detect_pass(et_face_detector *d, const et_frame *f, float margin, et_face *faces, int max)
{
    et_letterbox lb;
    int rc = et_net_prepare(d->net, 1, 1);
    if (rc == ET_OK)
        rc = et_face_letterbox(f->rgb, f->width, f->height, f->stride, margin, et_net_input(d->net)->data,
                               d->input_w, d->input_h, &lb);
    if (rc == ET_OK)
        rc = forward(d);
    return rc == ET_OK ? faces_of(d, 0, &lb, faces, max) : rc;
}

/* Frames one at a time: batching frames through this small net measured
 * slower (its activations then no longer fit in the cache). */
static int detect_serial(et_face_detector *d, const et_frame *const *frames, int n, et_face *faces, int max,
                         int *counts)
{
    for (int i = 0; i < n; i++) {
        int found = detect_pass(d, frames[i], d->opt.margin, faces + (size_t)i * max, max);
        if (found == 0 && d->opt.retry_margin > d->opt.margin)
            found = detect_pass(d, frames[i], d->opt.retry_margin, faces + (size_t)i * max, max);
        if (found < 0)
            return found;
        counts[i] = found;
    }
    return ET_OK;
}

typedef struct {
    et_face_detector *d;
    const et_frame *const *frames;
    int n, max;
    et_face *faces;
    int *counts;
} lane_job;

static int lane_run(void *ctx, int t, int threads)
{
    lane_job *j = ctx;
    size_t begin, end;
    et_parallel_range((size_t)j->n, t, threads, &begin, &end);
    if (begin == end)
        return ET_OK;
    et_face_detector *d = t == 0 ? j->d : j->d->lanes[t - 1];
    return detect_serial(d, j->frames + begin, (int)(end - begin), j->faces + begin * (size_t)j->max, j->max,
                         j->counts + begin);
}

int et_face_detect_batch(et_face_detector *d, const et_frame *const *frames, int n, et_face *faces, int max,
                         int *counts)
{
    if (n < 1)
        return ET_OK;
    /* Frames shared out between threads, each with its own copy of the
     * net: small nets scale across cores far better this way than by
     * splitting every layer. */
    int lanes = et_nn_threads();
    lanes = lanes < n ? lanes : n;
    lanes = lanes < LANES ? lanes : LANES;
    /* One lane runs in a region too: OpenBLAS then runs on one thread, as
     * in every lane, so that a frame's faces do not depend (in the last
     * float bits, which can move a crop pixel) on how many frames came. */
    for (int t = 1; t < lanes; t++)
        if (!d->lanes[t - 1]) {
            int rc = et_face_detector_load(&d->lanes[t - 1], d->path, &d->opt);
            if (rc != ET_OK)
                return rc;
        }
    lane_job j = {d, frames, n, max, faces, counts};
    return et_parallel_try(lanes, lane_run, &j);
}

int et_face_detect(et_face_detector *d, const uint8_t *rgb, int width, int height, int stride, et_face *faces,
                   int max)
{
    et_frame frame = {width, height, stride, (uint8_t *)rgb, 0.0, 0, 0};
    const et_frame *frames[1] = {&frame};
    int count = 0;
    int rc = et_face_detect_batch(d, frames, 1, faces, max, &count);
    return rc == ET_OK ? count : rc;
}
