/* The BlazeFace detector end to end on the converted weights: the files
 * load and run, faces are found in real photos (tests/fixtures/faces, also
 * pasted at a frame border) and not in blank frames. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_detector.h"
#include "emotrace/image.h"
#include "emotrace/nn.h"
#include "emotrace/safetensors.h"
#include "test.h"

static const char *const weights[] = {"weights/face-short.safetensors", "weights/face-full.safetensors"};
static const char *const photos[] = {"Adam_Mair_0001.jpg", "Adrianna_Zuzic_0001.jpg", "Elton_John_0002.jpg",
                                     "Jayamadhuri_108.jpg", "Sheryl_Crow_0006.jpg"};
#define PHOTOS (int)(sizeof photos / sizeof photos[0])

static et_face_detector *open_model(et_face_model model)
{
    et_face_detector_options o;
    et_face_detector_defaults(&o);
    o.model = model;
    et_face_detector *d = NULL;
    if (et_face_detector_load(&d, weights[model], &o) != ET_OK)
        test_fail(__FILE__, __LINE__, "%s", et_error_message());
    return d;
}

static int load_photo(const char *name, et_frame *f)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/faces/%s", name);
    if (et_image_load(path, f) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s", et_error_message());
        return 0;
    }
    return 1;
}

TEST(vision_face_weights_load_and_run)
{
    const int input[2] = {128, 192}, anchors[2] = {896, 2304};
    for (int m = 0; m < 2; m++) {
        et_safetensors st;
        REQUIRE(et_safetensors_load(&st, weights[m]) == ET_OK);
        const char *license = et_safetensors_meta(&st, "license");
        const char *sha = et_safetensors_meta(&st, "source_sha256");
        const char *package = et_safetensors_meta(&st, "source_package");
        CHECK(license && !strcmp(license, "Apache-2.0"));
        CHECK(sha && strlen(sha) == 64);
        CHECK(package && !strcmp(package, "@mediapipe/face_detection"));
        et_safetensors_free(&st);

        et_net *net = NULL;
        REQUIRE(et_net_load(&net, weights[m]) == ET_OK);
        CHECK_EQ_INT(et_net_input_shape(net).c, 3);
        CHECK_EQ_INT(et_net_input_shape(net).h, input[m]);
        CHECK_EQ_INT(et_net_input_shape(net).w, input[m]);
        CHECK_EQ_INT(et_net_output_count(net), m == 0 ? 4 : 2);
        et_net_free(net);

        et_face_detector *d = open_model((et_face_model)m);
        REQUIRE(d);
        int iw, ih, na;
        et_face_detector_geometry(d, &iw, &ih, &na);
        CHECK_EQ_INT(iw, input[m]);
        CHECK_EQ_INT(na, anchors[m]);
        float *in = malloc(sizeof(float) * 3 * iw * ih), *reg = malloc(sizeof(float) * 16 * na);
        float *logits = malloc(sizeof(float) * na);
        REQUIRE(in && reg && logits);
        for (int i = 0; i < 3 * iw * ih; i++)
            in[i] = (float)((i * 7919) % 255) / 127.5f - 1.0f;
        REQUIRE(et_face_detector_run_raw(d, in, reg, logits) == ET_OK);
        int finite = 1;
        for (int i = 0; i < 16 * na; i++)
            finite &= isfinite(reg[i]);
        for (int i = 0; i < na; i++)
            finite &= isfinite(logits[i]);
        CHECK(finite);
        free(in);
        free(reg);
        free(logits);
        et_face_detector_free(d);
    }
    /* The wrong file for the model is refused with a message naming it. */
    et_face_detector_options o;
    et_face_detector_defaults(&o);
    o.model = ET_FACE_MODEL_FULL;
    et_face_detector *d = NULL;
    CHECK(et_face_detector_load(&d, weights[0], &o) == ET_ERR_FORMAT);
    CHECK(strstr(et_error_message(), "face-short.safetensors") != NULL);
    CHECK(d == NULL);
}

/* A plausible upright face: eyes inside the box, in its upper half, the
 * person's right eye on the image left, the nose below the eyes. */
static void check_face(const et_face *f, const char *what)
{
    const float *re = f->keypoints[ET_FACE_RIGHT_EYE], *le = f->keypoints[ET_FACE_LEFT_EYE];
    const float *nose = f->keypoints[ET_FACE_NOSE_TIP];
    float cy = (f->y0 + f->y1) * 0.5f;
    CHECK_MSG(re[0] < le[0], "%s: right eye x %.1f not left of left eye x %.1f", what, re[0], le[0]);
    CHECK_MSG(re[0] > f->x0 && le[0] < f->x1, "%s: eyes outside the box", what);
    CHECK_MSG(re[1] > f->y0 && re[1] < cy && le[1] > f->y0 && le[1] < cy, "%s: eyes not in the upper half", what);
    CHECK_MSG(nose[1] > (re[1] + le[1]) * 0.5f, "%s: nose above the eyes", what);
}

TEST(vision_face_detect_photos)
{
    for (int m = 0; m < 2; m++) {
        et_face_detector *d = open_model((et_face_model)m);
        REQUIRE(d);
        int found = 0;
        for (int i = 0; i < PHOTOS; i++) {
            et_frame f = {0};
            if (!load_photo(photos[i], &f))
                continue;
            et_face faces[4];
            int n = et_face_detect_frame(d, &f, faces, 4);
            if (n >= 1) {
                found++;
                char what[128];
                snprintf(what, sizeof what, "%s (%s model)", photos[i], m ? "full" : "short");
                check_face(&faces[0], what);
                /* The photos are loose crops around one face: it covers the
                 * centre and is at least a third of the image wide. */
                CHECK_MSG(faces[0].x0 < f.width / 2 && faces[0].x1 > f.width / 2 && faces[0].y0 < f.height / 2 &&
                              faces[0].y1 > f.height / 2 && faces[0].x1 - faces[0].x0 > f.width / 3,
                          "%s: box %.0f,%.0f-%.0f,%.0f", what, faces[0].x0, faces[0].y0, faces[0].x1, faces[0].y1);
            }
            et_frame_free(&f);
        }
        CHECK_MSG(found == PHOTOS, "%s model found faces in %d of %d photos", m ? "full" : "short", found, PHOTOS);
        et_face_detector_free(d);
    }
}

TEST(vision_face_detect_blank)
{
    et_frame f = {0};
    REQUIRE(et_frame_resize(&f, 640, 360) == ET_OK);
    for (int m = 0; m < 2; m++) {
        et_face_detector *d = open_model((et_face_model)m);
        REQUIRE(d);
        const int levels[3] = {0, 128, 255};
        for (int l = 0; l < 3; l++) {
            memset(f.rgb, levels[l], (size_t)f.stride * f.height);
            et_face faces[4];
            CHECK_EQ_INT(et_face_detect_frame(d, &f, faces, 4), 0);
        }
        et_face_detector_free(d);
    }
    et_frame_free(&f);
}

/* Pastes the photo into a gray 640x360 frame at (x, y), clipped. */
static void paste(et_frame *frame, const et_frame *photo, int x, int y)
{
    memset(frame->rgb, 110, (size_t)frame->stride * frame->height);
    for (int py = 0; py < photo->height; py++)
        for (int px = 0; px < photo->width; px++) {
            int fx = x + px, fy = y + py;
            if (fx >= 0 && fx < frame->width && fy >= 0 && fy < frame->height)
                memcpy(frame->rgb + (size_t)fy * frame->stride + 3 * fx, photo->rgb + (size_t)py * photo->stride + 3 * px,
                       3);
        }
}

/* Pastes the photo scaled to side x side (nearest pixel) at (x, y). */
static void paste_scaled(et_frame *frame, const et_frame *photo, int side, int x, int y)
{
    for (int v = 0; v < side; v++)
        for (int u = 0; u < side; u++) {
            int sx = u * photo->width / side, sy = v * photo->height / side;
            memcpy(frame->rgb + (size_t)(y + v) * frame->stride + 3 * (x + u),
                   photo->rgb + (size_t)sy * photo->stride + 3 * sx, 3);
        }
}

TEST(vision_face_detect_in_frame_and_at_border)
{
    et_frame photo = {0}, frame = {0};
    REQUIRE(load_photo("Adam_Mair_0001.jpg", &photo));
    REQUIRE(et_frame_resize(&frame, 640, 360) == ET_OK);
    for (int m = 0; m < 2; m++) {
        et_face_detector *d = open_model((et_face_model)m);
        REQUIRE(d);
        /* The same face (250 pixels) at two places in the frame: the boxes
         * move with it (detections mapped back to frame pixels). The shift
         * is a whole number of model input pixels for both models (the
         * frame is scaled by 1/5 and 3/10). */
        et_face a[4], b[4], in_frame[4];
        memset(frame.rgb, 110, (size_t)frame.stride * frame.height);
        paste_scaled(&frame, &photo, 250, 40, 30);
        REQUIRE(et_face_detect_frame(d, &frame, a, 4) == 1);
        memset(frame.rgb, 110, (size_t)frame.stride * frame.height);
        paste_scaled(&frame, &photo, 250, 240, 70);
        REQUIRE(et_face_detect_frame(d, &frame, b, 4) == 1);
        float size = a[0].x1 - a[0].x0, tol = 0.1f * size; /* anchors snap to a grid */
        CHECK_MSG(size > 100 && size < 300, "%s model: box width %.0f", m ? "full" : "short", size);
        CHECK_NEAR(b[0].x0, a[0].x0 + 200, tol);
        CHECK_NEAR(b[0].x1, a[0].x1 + 200, tol);
        CHECK_NEAR(b[0].y0, a[0].y0 + 40, tol);
        CHECK_NEAR(b[0].y1, a[0].y1 + 40, tol);
        CHECK_NEAR(b[0].keypoints[ET_FACE_NOSE_TIP][0], a[0].keypoints[ET_FACE_NOSE_TIP][0] + 200, tol);
        CHECK_NEAR(b[0].keypoints[ET_FACE_NOSE_TIP][1], a[0].keypoints[ET_FACE_NOSE_TIP][1] + 40, tol);
        /* Cut by the right and bottom borders (about a sixth of the face gone). */
        paste(&frame, &photo, 640 - 300, 360 - 310);
        int n = et_face_detect_frame(d, &frame, in_frame, 4);
        CHECK_MSG(n >= 1, "%s model: no face at the frame corner", m ? "full" : "short");
        if (n >= 1)
            check_face(&in_frame[0], "face at the corner");
        et_face_detector_free(d);
    }
    et_frame_free(&photo);
    et_frame_free(&frame);
}

TEST(vision_face_detect_two_in_frame)
{
    /* Two faces of 200 and 180 pixels side by side in a 640x360 frame: the
     * default (no margin first) finds both; a margin that suits tight
     * crops would shrink them below what the short-range model sees. */
    et_frame a = {0}, b = {0}, frame = {0};
    REQUIRE(load_photo("Adam_Mair_0001.jpg", &a));
    REQUIRE(load_photo("Elton_John_0002.jpg", &b));
    REQUIRE(et_frame_resize(&frame, 640, 360) == ET_OK);
    memset(frame.rgb, 128, (size_t)frame.stride * frame.height);
    paste_scaled(&frame, &a, 200, 40, 60);
    paste_scaled(&frame, &b, 180, 400, 80);
    et_face_detector *d = open_model(ET_FACE_MODEL_SHORT);
    REQUIRE(d);
    et_face faces[4];
    int n = et_face_detect_frame(d, &frame, faces, 4);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        int left = faces[0].x0 < faces[1].x0 ? 0 : 1;
        CHECK(faces[left].x0 < 140 && faces[left].x1 > 140 && faces[1 - left].x0 < 490 && faces[1 - left].x1 > 490);
    }
    et_face_detector_free(d);
    et_frame_free(&a);
    et_frame_free(&b);
    et_frame_free(&frame);
}

TEST(vision_face_detect_options)
{
    et_frame photo = {0};
    REQUIRE(load_photo("Sheryl_Crow_0006.jpg", &photo));
    et_face_detector_options o;
    et_face_detector_defaults(&o);
    o.min_face_px = 2000; /* larger than any face in a 350x350 photo */
    et_face_detector *d = NULL;
    REQUIRE(et_face_detector_load(&d, weights[0], &o) == ET_OK);
    et_face faces[4];
    CHECK_EQ_INT(et_face_detect_frame(d, &photo, faces, 4), 0);
    et_face_detector_free(d);
    /* Two copies side by side: max_faces 1 keeps only the best. */
    et_frame frame = {0};
    REQUIRE(et_frame_resize(&frame, 700, 350) == ET_OK);
    for (int y = 0; y < 350; y++)
        for (int c = 0; c < 2; c++)
            memcpy(frame.rgb + (size_t)y * frame.stride + (size_t)c * 1050, photo.rgb + (size_t)y * photo.stride, 1050);
    et_face_detector_defaults(&o);
    REQUIRE(et_face_detector_load(&d, weights[0], &o) == ET_OK);
    int two = et_face_detect_frame(d, &frame, faces, 4);
    CHECK_EQ_INT(two, 2);
    if (two == 2)
        CHECK(faces[0].score >= faces[1].score);
    et_face_detector_free(d);
    o.max_faces = 1;
    REQUIRE(et_face_detector_load(&d, weights[0], &o) == ET_OK);
    CHECK_EQ_INT(et_face_detect_frame(d, &frame, faces, 4), 1);
    /* Bad frames are errors. */
    CHECK_EQ_INT(et_face_detect(d, frame.rgb, 0, 10, 30, faces, 4), ET_ERR_USAGE);
    et_face_detector_free(d);
    et_frame_free(&frame);
    et_frame_free(&photo);
}

TEST(vision_face_detect_batch_equals_single)
{
    /* The five photos (different sizes) and a blank frame (no face: the
     * retry pass runs for it) in one batch shared out between two threads
     * give exactly what detecting each frame on its own gives, for both
     * models. */
    enum { N = PHOTOS + 1, MAX = 8 };
    et_frame frames[N];
    memset(frames, 0, sizeof frames);
    const et_frame *list[N];
    for (int i = 0; i < PHOTOS; i++)
        if (!load_photo(photos[i], &frames[i]))
            return;
    REQUIRE(et_frame_resize(&frames[PHOTOS], 320, 240) == ET_OK);
    memset(frames[PHOTOS].rgb, 90, (size_t)frames[PHOTOS].stride * 240);
    for (int i = 0; i < N; i++)
        list[i] = &frames[i];
    for (int model = 0; model < 2; model++) {
        et_face_detector *d = open_model((et_face_model)model);
        REQUIRE(d);
        et_face batch[N * MAX], single[MAX];
        int counts[N];
        et_nn_set_threads(2);
        int rc = et_face_detect_batch(d, list, N, batch, MAX, counts);
        et_nn_set_threads(0);
        REQUIRE(rc == ET_OK);
        for (int i = 0; i < N; i++) {
            int count = et_face_detect_frame(d, &frames[i], single, MAX);
            CHECK_EQ_INT(counts[i], count);
            for (int k = 0; k < count && k < MAX; k++) {
                const et_face *a = &batch[i * MAX + k], *b = &single[k];
                CHECK_MSG(fabsf(a->x0 - b->x0) < 1e-3f && fabsf(a->y1 - b->y1) < 1e-3f &&
                              fabsf(a->score - b->score) < 1e-5f &&
                              fabsf(a->keypoints[ET_FACE_LEFT_EYE][0] - b->keypoints[ET_FACE_LEFT_EYE][0]) < 1e-3f,
                          "model %d frame %d face %d differs", model, i, k);
            }
        }
        CHECK_EQ_INT(counts[PHOTOS], 0);
        et_face_detector_free(d);
    }
    for (int i = 0; i < N; i++)
        et_frame_free(&frames[i]);
}
