/* The face embedder against face-api's own FaceRecognitionNet: reference
 * descriptors made with TensorFlow.js from @vladmandic/face-api 1.7.15
 * (tools/face_embed_reference/) on 150x150 chips of faces-in-the-wild photos
 * (tests/fixtures/embed/). Given the same chip, our float16 conversion must
 * give the same 128 values within 1e-3 (the descriptors are about 0.1 in
 * size; people are told apart at a distance of 0.6; measured 2.4e-4), and
 * every pairwise distance within 1e-3. The chips are plain centre squares,
 * not aligned, so they test the network, not who is who: identity
 * decisions on aligned chips are in test_persons.c and weights/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_embedder.h"
#include "emotrace/image.h"
#include "test.h"

#define DIR "tests/fixtures/embed/"

static const char *const photos[] = {"George_W_Bush_0001",   "George_W_Bush_0003",   "Colin_Powell_0007",
                                     "Colin_Powell_0030",    "Serena_Williams_0001", "Serena_Williams_0005",
                                     "Adam_Mair_0001"};
#define PHOTOS ((int)(sizeof photos / sizeof photos[0]))

static int read_reference(const char *stem, float *d)
{
    char path[256];
    snprintf(path, sizeof path, DIR "%s.txt", stem);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    while (n < ET_FACE_EMBED_DIM && fscanf(f, "%f", &d[n]) == 1)
        n++;
    fclose(f);
    return n == ET_FACE_EMBED_DIM;
}

TEST(embed_matches_face_api)
{
    et_face_embedder *e = NULL;
    REQUIRE(et_face_embedder_load(&e, "weights/face-embed.safetensors") == ET_OK);
    static float ours[PHOTOS][ET_FACE_EMBED_DIM], ref[PHOTOS][ET_FACE_EMBED_DIM];
    uint8_t *chips = malloc((size_t)PHOTOS * ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3);
    REQUIRE(chips);
    for (int i = 0; i < PHOTOS; i++) {
        char path[256];
        snprintf(path, sizeof path, DIR "%s.png", photos[i]);
        et_frame f = {0};
        REQUIRE(et_image_load(path, &f) == ET_OK);
        REQUIRE(f.width == ET_FACE_CHIP_SIZE && f.height == ET_FACE_CHIP_SIZE);
        for (int y = 0; y < ET_FACE_CHIP_SIZE; y++)
            memcpy(chips + ((size_t)i * ET_FACE_CHIP_SIZE + y) * ET_FACE_CHIP_SIZE * 3,
                   f.rgb + (size_t)y * f.stride, ET_FACE_CHIP_SIZE * 3);
        et_frame_free(&f);
        REQUIRE(read_reference(photos[i], ref[i]));
    }
    /* All in one batch: also checks that samples do not leak into each other. */
    REQUIRE(et_face_embed_raw(e, chips, PHOTOS, 0, ours[0]) == ET_OK);
    double worst = 0;
    for (int i = 0; i < PHOTOS; i++)
        for (int k = 0; k < ET_FACE_EMBED_DIM; k++) {
            double d = fabs(ours[i][k] - ref[i][k]);
            worst = d > worst ? d : worst;
        }
    printf("    largest difference from face-api: %.2g\n", worst);
    CHECK_MSG(worst < 1e-3, "descriptor value %.3g away from face-api's", worst);
    /* One chip alone gives the batch's answer. */
    float single[ET_FACE_EMBED_DIM];
    REQUIRE(et_face_embed_raw(e, chips + 2 * (size_t)ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3, 1, 0, single) == ET_OK);
    CHECK(et_face_embed_distance(single, ours[2]) < 1e-4f);
    for (int i = 0; i < PHOTOS; i++)
        for (int j = i + 1; j < PHOTOS; j++) {
            float d_ours = et_face_embed_distance(ours[i], ours[j]), d_ref = et_face_embed_distance(ref[i], ref[j]);
            CHECK_MSG(fabsf(d_ours - d_ref) < 1e-3f, "%s - %s: distance %.4f, face-api %.4f", photos[i], photos[j],
                      d_ours, d_ref);
        }
    /* The product's descriptor averages a chip and its mirror image, so a
     * mirrored chip gives the same descriptor, and it stays close to the
     * network's own (same person by far). */
    const size_t values = (size_t)ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3;
    uint8_t *mirrored = malloc(values);
    REQUIRE(mirrored);
    for (int y = 0; y < ET_FACE_CHIP_SIZE; y++)
        for (int x = 0; x < ET_FACE_CHIP_SIZE; x++)
            memcpy(mirrored + ((size_t)y * ET_FACE_CHIP_SIZE + x) * 3,
                   chips + ((size_t)y * ET_FACE_CHIP_SIZE + ET_FACE_CHIP_SIZE - 1 - x) * 3, 3);
    float both[2][ET_FACE_EMBED_DIM];
    REQUIRE(et_face_embed(e, chips, 1, both[0]) == ET_OK);
    REQUIRE(et_face_embed(e, mirrored, 1, both[1]) == ET_OK);
    CHECK(et_face_embed_distance(both[0], both[1]) < 1e-5f);
    CHECK(et_face_embed_distance(both[0], ours[0]) < 0.3f);
    free(mirrored);
    free(chips);
    et_face_embedder_free(e);
}

TEST(embed_rejects_other_nets)
{
    et_face_embedder *e = NULL;
    CHECK(et_face_embedder_load(&e, "weights/face-short.safetensors") == ET_ERR_FORMAT);
    CHECK(strstr(et_error_message(), "not a face embedder") != NULL);
    CHECK(e == NULL);
    CHECK(et_face_embedder_load(&e, "tests/fixtures/embed/missing.safetensors") != ET_OK);
    CHECK(e == NULL);
}
