/* Face embedder benchmark (make bench BENCHES=face_embed), from the
 * repository root:
 *   face_embed_ms[_min]: one descriptor (a real 150x150 chip and its mirror
 *     image through dlib's ResNet, one batch of 2) on one BLAS thread, mean
 *     and fastest of 30.
 *   face_embed_ms_track[_min]: a track's descriptors, ET_PERSON_CHIPS chips
 *     in one batch, the same way. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "emotrace/error.h"
#include "emotrace/face_embedder.h"
#include "emotrace/image.h"
#include "emotrace/persons.h"

static void embed_time(const char *name, int count)
{
    const int warmup = 3, runs = 30;
    const size_t values = (size_t)ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3;
    openblas_set_num_threads(1);
    et_face_embedder *e = NULL;
    et_frame chip = {0};
    uint8_t *chips = malloc(values * count);
    float *d = malloc((size_t)count * ET_FACE_EMBED_DIM * sizeof(float));
    if (!chips || !d || et_face_embedder_load(&e, "weights/face-embed.safetensors") != ET_OK ||
        et_image_load("tests/fixtures/embed/George_W_Bush_0001.png", &chip) != ET_OK ||
        chip.width != ET_FACE_CHIP_SIZE || chip.height != ET_FACE_CHIP_SIZE) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    for (int i = 0; i < count; i++)
        for (int y = 0; y < ET_FACE_CHIP_SIZE; y++)
            memcpy(chips + i * values + (size_t)y * ET_FACE_CHIP_SIZE * 3, chip.rgb + (size_t)y * chip.stride,
                   ET_FACE_CHIP_SIZE * 3);
    double total = 0, best = 1e30;
    for (int i = 0; i < warmup + runs; i++) {
        double t0 = bench_now();
        if (et_face_embed(e, chips, count, d) != ET_OK) {
            fprintf(stderr, "bench: %s\n", et_error_message());
            exit(1);
        }
        double t = bench_now() - t0;
        if (i >= warmup) {
            total += t;
            best = t < best ? t : best;
        }
    }
    char min_name[64];
    snprintf(min_name, sizeof min_name, "%s_min", name);
    bench_report(name, 1e3 * total / runs);
    bench_report(min_name, 1e3 * best);
    et_frame_free(&chip);
    free(chips);
    free(d);
    et_face_embedder_free(e);
}

BENCH(face_embed_ms)
{
    embed_time("face_embed_ms", 1);
}

BENCH(face_embed_ms_track)
{
    embed_time("face_embed_ms_track", ET_PERSON_CHIPS);
}
