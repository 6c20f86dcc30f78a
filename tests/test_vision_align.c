/* Face alignment on a synthetic image: a pattern drawn rotated by 30
 * degrees around known eye positions comes out upright. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_align.h"
#include "test.h"

#define W 200
#define H 200

/* Quadrants in face coordinates (a along the eye line, b down the face):
 * upper left white-ish, upper right red, lower left mid gray, lower right dark. */
static void pattern(float a, float b, uint8_t *px)
{
    static const uint8_t q[4][3] = {{250, 250, 250}, {255, 0, 0}, {100, 100, 100}, {20, 20, 20}};
    memcpy(px, q[(a >= 0) + 2 * (b >= 0)], 3);
}

static void make_scene(uint8_t *rgb, et_face *face, float angle)
{
    float c = cosf(angle), s = sinf(angle), cx = 100.0f, cy = 100.0f;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy;
            pattern(dx * c + dy * s, -dx * s + dy * c, rgb + ((size_t)y * W + x) * 3);
        }
    memset(face, 0, sizeof *face);
    face->x0 = cx - 40;
    face->y0 = cy - 40;
    face->x1 = cx + 40;
    face->y1 = cy + 40;
    face->score = 1;
    /* Eyes at a = -+20, b = -10 (the person's right eye on the image left). */
    float a[2] = {-20, 20}, b = -10;
    for (int e = 0; e < 2; e++) {
        face->keypoints[e][0] = cx + a[e] * c - b * s;
        face->keypoints[e][1] = cy + a[e] * s + b * c;
    }
}

TEST(vision_align_rotated_pattern_upright)
{
    uint8_t *rgb = malloc((size_t)W * H * 3);
    REQUIRE(rgb);
    et_face face;
    make_scene(rgb, &face, (float)(30.0 * M_PI / 180.0));
    et_face_align_options o;
    et_face_align_defaults(&o);
    CHECK_EQ_INT(o.size, 48);
    o.box_scale = 1.3f;
    uint8_t gray[48 * 48], color[48 * 48 * 3];
    REQUIRE(et_face_align_gray(rgb, W, H, W * 3, &face, &o, gray) == ET_OK);
    REQUIRE(et_face_align_rgb(rgb, W, H, W * 3, &face, &o, color) == ET_OK);
    /* Quadrant centres of the crop. */
    const int at[4][2] = {{12, 12}, {36, 12}, {12, 36}, {36, 36}};
    const int expect_gray[4] = {250, 76, 100, 20};
    const int expect_rgb[4][3] = {{250, 250, 250}, {255, 0, 0}, {100, 100, 100}, {20, 20, 20}};
    for (int q = 0; q < 4; q++) {
        int i = at[q][1] * 48 + at[q][0];
        CHECK_MSG(abs(gray[i] - expect_gray[q]) <= 2, "quadrant %d: gray %d, expected %d", q, gray[i],
                  expect_gray[q]);
        for (int ch = 0; ch < 3; ch++)
            CHECK_MSG(abs(color[3 * i + ch] - expect_rgb[q][ch]) <= 2, "quadrant %d channel %d: %d, expected %d", q,
                      ch, color[3 * i + ch], expect_rgb[q][ch]);
    }
    /* Crop rows across the eye line are constant along u within a quadrant
     * (upright: no tilt left). */
    for (int u = 4; u < 20; u++)
        CHECK(abs(gray[6 * 48 + u] - 250) <= 2 && abs(gray[42 * 48 + u] - 100) <= 2);
    free(rgb);
}

TEST(vision_align_eye_mode_transform)
{
    uint8_t *rgb = malloc((size_t)W * H * 3);
    REQUIRE(rgb);
    et_face face;
    make_scene(rgb, &face, (float)(-50.0 * M_PI / 180.0));
    et_face_align_options o;
    et_face_align_defaults(&o);
    o.eye_distance = 0.4f; /* 40 px between the eyes -> 100 px crop side */
    o.eye_y = 0.4f;
    float m[6];
    et_face_align_transform(&face, &o, m);
    /* The eyes land at u = 48 (0.5 -+ 0.2), v = 48 * 0.4. */
    const float u[2] = {48 * 0.3f, 48 * 0.7f}, v = 48 * 0.4f;
    for (int e = 0; e < 2; e++) {
        CHECK_NEAR(m[0] * u[e] + m[1] * v + m[2], face.keypoints[e][0], 1e-3);
        CHECK_NEAR(m[3] * u[e] + m[4] * v + m[5], face.keypoints[e][1], 1e-3);
    }
    CHECK_NEAR(sqrtf(m[0] * m[0] + m[3] * m[3]), 100.0f / 48.0f, 1e-5);
    uint8_t gray[48 * 48];
    REQUIRE(et_face_align_gray(rgb, W, H, W * 3, &face, &o, gray) == ET_OK);
    CHECK(abs(gray[10 * 48 + 10] - 250) <= 2); /* above the eyes, image left */
    CHECK(abs(gray[40 * 48 + 40] - 20) <= 2);
    /* Bad arguments are errors, not crashes. */
    o.size = 0;
    CHECK_EQ_INT(et_face_align_gray(rgb, W, H, W * 3, &face, &o, gray), ET_ERR_USAGE);
    free(rgb);
}

TEST(vision_align_outside_repeats_edge)
{
    /* A face box hanging over the image corner: samples outside repeat
     * the edge pixels instead of reading out of bounds. */
    uint8_t rgb[4 * 4 * 3];
    memset(rgb, 77, sizeof rgb);
    et_face face;
    memset(&face, 0, sizeof face);
    face.x0 = -30;
    face.y0 = -30;
    face.x1 = 10;
    face.y1 = 10;
    face.keypoints[ET_FACE_RIGHT_EYE][0] = -20;
    face.keypoints[ET_FACE_LEFT_EYE][0] = 0;
    et_face_align_options o;
    et_face_align_defaults(&o);
    uint8_t gray[48 * 48];
    REQUIRE(et_face_align_gray(rgb, 4, 4, 12, &face, &o, gray) == ET_OK);
    for (int i = 0; i < 48 * 48; i++)
        if (gray[i] != 77) {
            CHECK_MSG(0, "pixel %d is %d", i, gray[i]);
            break;
        }
}

TEST(vision_align_large_face_matches_dense_sampling)
{
    /* A face ~8x larger than the crop takes the block-averaged gray path;
     * the RGB path samples densely. Their luma must agree closely on a
     * smooth picture, and a 1-pixel checkerboard must average to mid-gray
     * (no aliasing). */
    enum { BW = 640, BH = 480 };
    uint8_t *rgb = malloc((size_t)BW * BH * 3);
    REQUIRE(rgb);
    for (int y = 0; y < BH; y++)
        for (int x = 0; x < BW; x++) {
            uint8_t *p = rgb + ((size_t)y * BW + x) * 3;
            p[0] = (uint8_t)(128 + 100 * sin(x * 0.02) * cos(y * 0.015));
            p[1] = (uint8_t)(x * 255 / BW);
            p[2] = (uint8_t)(y * 255 / BH);
        }
    et_face face;
    memset(&face, 0, sizeof face);
    face.x0 = 170;
    face.y0 = 80;
    face.x1 = 470;
    face.y1 = 380;
    face.keypoints[ET_FACE_RIGHT_EYE][0] = 260;
    face.keypoints[ET_FACE_RIGHT_EYE][1] = 180;
    face.keypoints[ET_FACE_LEFT_EYE][0] = 380;
    face.keypoints[ET_FACE_LEFT_EYE][1] = 200; /* tilted */
    et_face_align_options o;
    et_face_align_defaults(&o);
    uint8_t gray[48 * 48], color[48 * 48 * 3];
    REQUIRE(et_face_align_gray(rgb, BW, BH, BW * 3, &face, &o, gray) == ET_OK);
    REQUIRE(et_face_align_rgb(rgb, BW, BH, BW * 3, &face, &o, color) == ET_OK);
    int worst = 0;
    for (int i = 0; i < 48 * 48; i++) {
        const uint8_t *c = color + 3 * i;
        int luma = (int)lrintf(0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]);
        int d = abs(luma - gray[i]);
        worst = d > worst ? d : worst;
    }
    CHECK_MSG(worst <= 4, "largest luma difference %d", worst);

    for (int y = 0; y < BH; y++)
        for (int x = 0; x < BW; x++)
            memset(rgb + ((size_t)y * BW + x) * 3, (x + y) % 2 ? 255 : 0, 3);
    REQUIRE(et_face_align_gray(rgb, BW, BH, BW * 3, &face, &o, gray) == ET_OK);
    for (int i = 0; i < 48 * 48; i++)
        if (abs(gray[i] - 128) > 6) {
            CHECK_MSG(0, "checkerboard pixel %d is %d, expected about 128", i, gray[i]);
            break;
        }
    free(rgb);
}
