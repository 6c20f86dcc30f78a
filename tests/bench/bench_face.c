/* Face detector benchmarks (make bench BENCHES=face), from the repository root:
 *   face_detect_ms_{short,full}[_min]: detection time per 640x360 RGB frame
 *     with one face (letterbox, net, decode, NMS) at batch 1 on one BLAS
 *     thread, mean and fastest of 100.
 *   face_found_{short,full}_{default,margin_M}: share of the faces-in-the-wild
 *     photos (../shared/data/faces-in-the-wild/images, or $ET_FACES_DIR) in
 *     which the labelled face is found, with the default options and with
 *     single margins ($ET_FACE_MARGINS="0,0.25" to choose). The photos are
 *     tight crops around that face: a detection counts when its box centre
 *     lies in the middle half of the image (a box elsewhere is another face
 *     or a false positive). Slow (minutes). A missing folder is an error.
 *   face_in_frame_{short,full}_{60,120,200,300}px_{centre,touching,cut6,cut3}:
 *     every twelfth of those photos scaled to a square of that side, pasted
 *     into a gray 640x360 frame, centred or at the left edge (touching it, a
 *     sixth or a third outside): the share found (a detection covering the
 *     visible part's centre), default options. */
#include <cblas.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "emotrace/error.h"
#include "emotrace/face_detector.h"
#include "emotrace/image.h"

static const char *const model_names[] = {"short", "full"};
/* make bench runs from the repository root. */
static const char *const weights[] = {"weights/face-short.safetensors", "weights/face-full.safetensors"};

/* margin < 0: the model's defaults (margin and retry); else that margin only. */
static et_face_detector *open_detector(et_face_model model, float margin)
{
    et_face_detector_options o;
    et_face_detector_defaults(&o);
    o.model = model;
    if (margin >= 0.0f) {
        o.margin = margin;
        o.retry_margin = 0.0f;
    }
    et_face_detector *d = NULL;
    if (et_face_detector_load(&d, weights[model], &o) != ET_OK) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    return d;
}

/* A 640x360 frame with a photo of a face pasted off-centre on a gray background. */
static void make_frame(et_frame *frame)
{
    et_frame photo = {0};
    if (et_frame_resize(frame, 640, 360) != ET_OK ||
        et_image_load("tests/fixtures/faces/Adam_Mair_0001.jpg", &photo) != ET_OK) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    memset(frame->rgb, 110, (size_t)frame->stride * frame->height);
    int h = photo.height < 300 ? photo.height : 300, w = photo.width < 300 ? photo.width : 300;
    for (int y = 0; y < h; y++)
        memcpy(frame->rgb + (size_t)(30 + y) * frame->stride + 3 * 300, photo.rgb + (size_t)y * photo.stride,
               (size_t)3 * w);
    et_frame_free(&photo);
}

/* Reports the mean and the fastest run: on a busy machine the fastest is
 * the better estimate of the cost itself. */
static void detect_time(et_face_model model)
{
    const int warmup = 5, runs = 100;
    openblas_set_num_threads(1);
    et_face_detector *d = open_detector(model, -1.0f);
    et_frame frame = {0};
    make_frame(&frame);
    et_face faces[8];
    double total = 0, best = 1e30;
    int found = 0;
    for (int i = 0; i < warmup + runs; i++) {
        double t0 = bench_now();
        found = et_face_detect_frame(d, &frame, faces, 8);
        double t = bench_now() - t0;
        if (i >= warmup) {
            total += t;
            best = t < best ? t : best;
        }
    }
    char name[64];
    snprintf(name, sizeof name, "face_detect_ms_%s", model_names[model]);
    bench_report(name, total / runs * 1e3);
    snprintf(name, sizeof name, "face_detect_ms_%s_min", model_names[model]);
    bench_report(name, best * 1e3);
    if (found != 1)
        fprintf(stderr, "bench: %s found %d faces in the timing frame (expected 1)\n", model_names[model], found);
    et_frame_free(&frame);
    et_face_detector_free(d);
}

BENCH(face_detect_ms_short)
{
    detect_time(ET_FACE_MODEL_SHORT);
}

BENCH(face_detect_ms_full)
{
    detect_time(ET_FACE_MODEL_FULL);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum { MAX_CONFIGS = 9 };

typedef struct {
    float margins[MAX_CONFIGS]; /* [0] = -1: the defaults */
    int count;
    et_face_detector *det[2][MAX_CONFIGS];
    int found[2][MAX_CONFIGS];
    int trials;
} configs;

static void configs_open(configs *c)
{
    memset(c, 0, sizeof *c);
    const float fixed[] = {0.0f, 0.1f, 0.25f, 0.5f, 1.0f};
    c->margins[c->count++] = -1.0f;
    const char *env = getenv("ET_FACE_MARGINS");
    if (env) {
        for (char *p = (char *)env, *end; *p && c->count < MAX_CONFIGS; p = *end ? end + 1 : end) {
            c->margins[c->count] = strtof(p, &end);
            if (end == p)
                break;
            c->count++;
        }
    } else {
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            c->margins[c->count++] = fixed[i];
    }
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < c->count; k++)
            c->det[m][k] = open_detector((et_face_model)m, c->margins[k]);
}

static void configs_report(configs *c, const char *what)
{
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < c->count; k++) {
            char name[96];
            if (c->margins[k] < 0.0f)
                snprintf(name, sizeof name, "%s_%s_default", what, model_names[m]);
            else
                snprintf(name, sizeof name, "%s_%s_margin_%.2f", what, model_names[m], c->margins[k]);
            bench_report(name, (double)c->found[m][k] / c->trials);
            et_face_detector_free(c->det[m][k]);
        }
    char name[96];
    snprintf(name, sizeof name, "%s_trials", what);
    bench_report(name, c->trials);
}

/* The sorted .jpg names in dir; exits when there are none (a missing data
 * folder must not read as a rate of 0). */
static char **list_photos(const char *dir, int *count)
{
    DIR *dp = opendir(dir);
    *count = 0;
    if (!dp) {
        fprintf(stderr, "bench: cannot open %s (set ET_FACES_DIR)\n", dir);
        exit(1);
    }
    char **names = NULL;
    int cap = 0;
    for (struct dirent *e; (e = readdir(dp));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".jpg"))
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 1024;
            names = realloc(names, (size_t)cap * sizeof *names);
        }
        names[(*count)++] = strdup(e->d_name);
    }
    closedir(dp);
    if (*count == 0) {
        fprintf(stderr, "bench: no .jpg photo in %s\n", dir);
        exit(1);
    }
    qsort(names, (size_t)*count, sizeof *names, by_name);
    return names;
}

static const char *photo_dir(void)
{
    return getenv("ET_FACES_DIR") ? getenv("ET_FACES_DIR") : "../shared/data/faces-in-the-wild/images";
}

/* Whether one of the n faces has its box centre in the middle half of the
 * frame (both ways), where the crop's labelled face is. */
static int centred_face(const et_face *faces, int n, const et_frame *frame)
{
    for (int i = 0; i < n && i < 8; i++) {
        float cx = 0.5f * (faces[i].x0 + faces[i].x1), cy = 0.5f * (faces[i].y0 + faces[i].y1);
        if (cx >= 0.25f * frame->width && cx <= 0.75f * frame->width && cy >= 0.25f * frame->height &&
            cy <= 0.75f * frame->height)
            return 1;
    }
    return 0;
}

BENCH(face_found_rate)
{
    openblas_set_num_threads(1);
    int count = 0;
    char **names = list_photos(photo_dir(), &count);
    configs c;
    configs_open(&c);
    et_frame frame = {0};
    et_face faces[8];
    for (int i = 0; i < count; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", photo_dir(), names[i]);
        /* An unreadable photo counts as not found. */
        c.trials++;
        if (et_image_load(path, &frame) != ET_OK) {
            fprintf(stderr, "bench: %s\n", et_error_message());
            continue;
        }
        for (int m = 0; m < 2; m++)
            for (int k = 0; k < c.count; k++)
                c.found[m][k] += centred_face(faces, et_face_detect_frame(c.det[m][k], &frame, faces, 8), &frame);
    }
    configs_report(&c, "face_found");
    et_frame_free(&frame);
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* Pastes photo scaled to side x side (bilinear) at (x, y) into frame, clipped. */
static void paste_scaled(et_frame *frame, const et_frame *photo, int side, int x, int y)
{
    memset(frame->rgb, 110, (size_t)frame->stride * frame->height);
    for (int v = 0; v < side; v++) {
        int fy = y + v;
        if (fy < 0 || fy >= frame->height)
            continue;
        float sy = ((float)v + 0.5f) * photo->height / side - 0.5f;
        sy = sy < 0 ? 0 : sy > photo->height - 1 ? photo->height - 1 : sy;
        int y0 = (int)sy, y1 = y0 + 1 < photo->height ? y0 + 1 : y0;
        float ty = sy - y0;
        for (int u = 0; u < side; u++) {
            int fx = x + u;
            if (fx < 0 || fx >= frame->width)
                continue;
            float sx = ((float)u + 0.5f) * photo->width / side - 0.5f;
            sx = sx < 0 ? 0 : sx > photo->width - 1 ? photo->width - 1 : sx;
            int x0 = (int)sx, x1 = x0 + 1 < photo->width ? x0 + 1 : x0;
            float tx = sx - x0;
            for (int ch = 0; ch < 3; ch++) {
                const uint8_t *r0 = photo->rgb + (size_t)y0 * photo->stride, *r1 = photo->rgb + (size_t)y1 * photo->stride;
                float top = r0[3 * x0 + ch] + tx * (r0[3 * x1 + ch] - r0[3 * x0 + ch]);
                float bottom = r1[3 * x0 + ch] + tx * (r1[3 * x1 + ch] - r1[3 * x0 + ch]);
                frame->rgb[(size_t)fy * frame->stride + 3 * fx + ch] = (uint8_t)(top + ty * (bottom - top) + 0.5f);
            }
        }
    }
}

static int covers(const et_face *faces, int n, float x, float y)
{
    for (int i = 0; i < n && i < 8; i++)
        if (faces[i].x0 <= x && x <= faces[i].x1 && faces[i].y0 <= y && y <= faces[i].y1)
            return 1;
    return 0;
}

BENCH(face_in_frame)
{
    enum { SIDES = 4, PLACES = 4 };
    static const int sides[SIDES] = {60, 120, 200, 300};
    static const char *const places[PLACES] = {"centre", "touching", "cut6", "cut3"};
    openblas_set_num_threads(1);
    int count = 0;
    char **names = list_photos(photo_dir(), &count);
    et_face_detector *det[2] = {open_detector(ET_FACE_MODEL_SHORT, -1.0f), open_detector(ET_FACE_MODEL_FULL, -1.0f)};
    int found[2][SIDES][PLACES] = {{{0}}}, trials = 0;
    et_frame photo = {0}, frame = {0};
    if (et_frame_resize(&frame, 640, 360) != ET_OK) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    et_face faces[8];
    for (int i = 0; i < count; i += 12) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", photo_dir(), names[i]);
        if (et_image_load(path, &photo) != ET_OK) {
            fprintf(stderr, "bench: %s\n", et_error_message());
            continue;
        }
        trials++;
        for (int s = 0; s < SIDES; s++)
            for (int p = 0; p < PLACES; p++) {
                /* Centred, or at the left edge: touching it, or with a sixth
                 * or a third of the face outside the frame. */
                int side = sides[s], cut = p == 2 ? side / 6 : p == 3 ? side / 3 : 0;
                int x = p == 0 ? (640 - side) / 2 : -cut, y = (360 - side) / 2;
                paste_scaled(&frame, &photo, side, x, y);
                float cx = p == 0 ? x + side * 0.5f : (side - cut) * 0.5f, cy = y + side * 0.5f;
                for (int m = 0; m < 2; m++) {
                    int n = et_face_detect_frame(det[m], &frame, faces, 8);
                    found[m][s][p] += covers(faces, n, cx, cy);
                }
            }
    }
    if (trials == 0) {
        fprintf(stderr, "bench: face_in_frame: no photo of %s could be read\n", photo_dir());
        exit(1);
    }
    for (int m = 0; m < 2; m++) {
        for (int s = 0; s < SIDES; s++)
            for (int p = 0; p < PLACES; p++) {
                char name[96];
                snprintf(name, sizeof name, "face_in_frame_%s_%dpx_%s", model_names[m], sides[s], places[p]);
                bench_report(name, (double)found[m][s][p] / trials);
            }
        et_face_detector_free(det[m]);
    }
    bench_report("face_in_frame_photos", trials);
    et_frame_free(&photo);
    et_frame_free(&frame);
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
