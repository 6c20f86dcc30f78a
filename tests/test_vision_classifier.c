/* The emotion classifier shares crops out between threads, each with its
 * own copy of the net: the results must not depend on that. Flip TTA. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"
#include "emotrace/face_dataset.h"
#include "emotrace/nn.h"
#include "test.h"

TEST(vision_classifier_threads_equal_single)
{
    enum { N = 9 };
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, "tests/fixtures/fer2013-publictest-sample.csv.gz", NULL, N) == ET_OK);
    REQUIRE(ds.count == N);
    et_emotion_classifier c;
    REQUIRE(et_emotion_classifier_load(&c, "weights/emotion-cnn.safetensors") == ET_OK);
    float p1[N * ET_EMOTIONS], p2[N * ET_EMOTIONS], p_single[ET_EMOTIONS];
    float *e1 = malloc((size_t)N * c.embedding_size * sizeof(float));
    float *e2 = malloc((size_t)N * c.embedding_size * sizeof(float));
    REQUIRE(e1 && e2);
    et_nn_set_threads(1);
    CHECK(et_emotion_classifier_run(&c, ds.pixels, N, p1, e1) == ET_OK);
    et_nn_set_threads(2);
    CHECK(et_emotion_classifier_run(&c, ds.pixels, N, p2, e2) == ET_OK);
    et_nn_set_threads(0);
    double worst = 0;
    for (int i = 0; i < N * ET_EMOTIONS; i++)
        worst = fmax(worst, fabs(p1[i] - p2[i]));
    for (int i = 0; i < N * c.embedding_size; i++)
        worst = fmax(worst, fabs(e1[i] - e2[i]) / fmax(1.0, fabs(e1[i])));
    CHECK_MSG(worst < 1e-4, "threads change the output by %g", worst);
    /* And one crop alone gives what it gives inside the batch. */
    CHECK(et_emotion_classifier_run(&c, ds.pixels + 4 * 48 * 48, 1, p_single, NULL) == ET_OK);
    for (int k = 0; k < ET_EMOTIONS; k++)
        CHECK_NEAR(p_single[k], p1[4 * ET_EMOTIONS + k], 1e-4);
    free(e1);
    free(e2);
    et_emotion_classifier_free(&c);
    et_face_dataset_free(&ds);
}

/* Test-time augmentation: each crop and its mirror image, averaged. The
 * same numbers as classifying the mirrored crops separately and averaging
 * by hand; on 2 threads too. */
TEST(vision_classifier_flip_tta_averages_mirror)
{
    enum { N = 5, P = 48 * 48 };
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, "tests/fixtures/fer2013-publictest-sample.csv.gz", NULL, N) == ET_OK);
    REQUIRE(ds.count == N);
    uint8_t mirrored[N * P];
    for (int i = 0; i < N * 48; i++)
        for (int x = 0; x < 48; x++)
            mirrored[i * 48 + x] = ds.pixels[i * 48 + 47 - x];
    et_emotion_classifier c;
    REQUIRE(et_emotion_classifier_load(&c, "weights/emotion-cnn.safetensors") == ET_OK);
    int e = c.embedding_size;
    float p[N * ET_EMOTIONS], pm[N * ET_EMOTIONS], pt[N * ET_EMOTIONS];
    float *em = malloc((size_t)N * e * sizeof(float) * 3), *eo = em + N * e, *et = eo + N * e;
    REQUIRE(em);
    CHECK(et_emotion_classifier_run(&c, ds.pixels, N, p, eo) == ET_OK);
    CHECK(et_emotion_classifier_run(&c, mirrored, N, pm, em) == ET_OK);
    c.flip_tta = 1;
    for (int threads = 1; threads <= 2; threads++) {
        et_nn_set_threads(threads);
        CHECK(et_emotion_classifier_run(&c, ds.pixels, N, pt, et) == ET_OK);
        double worst = 0, moved = 0;
        for (int i = 0; i < N * ET_EMOTIONS; i++) {
            worst = fmax(worst, fabs(pt[i] - 0.5 * (p[i] + pm[i])));
            moved = fmax(moved, fabs(pt[i] - p[i]));
        }
        for (int i = 0; i < N * e; i++)
            worst = fmax(worst, fabs(et[i] - 0.5 * (eo[i] + em[i])) / fmax(1.0, fabs(eo[i])));
        CHECK_MSG(worst < 1e-5, "%d threads: TTA differs from the average by %g", threads, worst);
        CHECK_MSG(moved > 1e-3, "TTA changed no probability (largest change %g)", moved);
    }
    et_nn_set_threads(0);
    free(em);
    et_emotion_classifier_free(&c);
    et_face_dataset_free(&ds);
}
