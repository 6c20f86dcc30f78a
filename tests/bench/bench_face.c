/* Face detector benchmarks (make bench BENCHES=face):
 *   face_detect_ms_{short,full}: detection time per 640x360 RGB frame
 *     (letterbox, net, decode, NMS) at batch 1 on one BLAS thread.
 *   face_found_{short,full}_margin_M: share of the faces-in-the-wild photos
 *     (../shared/data/faces-in-the-wild/images, or $ET_FACES_DIR) in which
 *     at least one face is found, for several frame margins. Slow (minutes). */
#include <cblas.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "emotrace/error.h"
#include "emotrace/face_detector.h"
#include "emotrace/image.h"

static const char *const model_names[] = {"short", "full"};

static et_face_detector *open_detector(et_face_model model, float margin)
{
    et_face_detector_options o;
    et_face_detector_defaults(&o);
    o.model = model;
    o.margin = margin;
    et_face_detector *d = NULL;
    if (et_face_detector_open(&d, NULL, &o) != ET_OK) {
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

static void detect_time(et_face_model model)
{
    const int warmup = 5, runs = 100;
    openblas_set_num_threads(1);
    et_face_detector *d = open_detector(model, -1.0f);
    et_frame frame = {0};
    make_frame(&frame);
    et_face faces[8];
    double start = 0;
    int found = 0;
    for (int i = 0; i < warmup + runs; i++) {
        if (i == warmup)
            start = bench_now();
        found = et_face_detect_frame(d, &frame, faces, 8);
    }
    double ms = (bench_now() - start) / runs * 1e3;
    char name[64];
    snprintf(name, sizeof name, "face_detect_ms_%s", model_names[model]);
    bench_report(name, ms);
    if (found != 1)
        fprintf(stderr, "bench: %s found %d faces in the timing frame (expected 1)\n", name, found);
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

BENCH(face_found_rate)
{
    const char *dir = getenv("ET_FACES_DIR") ? getenv("ET_FACES_DIR") : "../shared/data/faces-in-the-wild/images";
    static const float margins[] = {0.0f, 0.1f, 0.25f, 0.5f};
    enum { MARGINS = sizeof margins / sizeof margins[0] };
    openblas_set_num_threads(1);
    DIR *dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "bench: cannot open %s\n", dir);
        return;
    }
    char **names = NULL;
    int count = 0, cap = 0;
    for (struct dirent *e; (e = readdir(dp));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".jpg"))
            continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 1024;
            names = realloc(names, (size_t)cap * sizeof *names);
        }
        names[count++] = strdup(e->d_name);
    }
    closedir(dp);
    qsort(names, (size_t)count, sizeof *names, by_name);
    et_face_detector *det[2][MARGINS];
    int found[2][MARGINS] = {{0}}, found_any[2] = {0}, decoded = 0;
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < MARGINS; k++)
            det[m][k] = open_detector((et_face_model)m, margins[k]);
    et_frame frame = {0};
    et_face faces[8];
    for (int i = 0; i < count; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (et_image_load(path, &frame) != ET_OK) {
            fprintf(stderr, "bench: %s\n", et_error_message());
            continue;
        }
        decoded++;
        for (int m = 0; m < 2; m++) {
            int any = 0;
            for (int k = 0; k < MARGINS; k++) {
                int n = et_face_detect_frame(det[m][k], &frame, faces, 8) > 0;
                found[m][k] += n;
                any |= n;
            }
            found_any[m] += any;
        }
    }
    for (int m = 0; m < 2; m++) {
        for (int k = 0; k < MARGINS; k++) {
            char name[64];
            snprintf(name, sizeof name, "face_found_%s_margin_%.2f", model_names[m], margins[k]);
            bench_report(name, decoded ? (double)found[m][k] / decoded : 0.0);
            et_face_detector_free(det[m][k]);
        }
        char name[64];
        snprintf(name, sizeof name, "face_found_%s_any_margin", model_names[m]);
        bench_report(name, decoded ? (double)found_any[m] / decoded : 0.0);
    }
    bench_report("face_found_images", decoded);
    et_frame_free(&frame);
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
