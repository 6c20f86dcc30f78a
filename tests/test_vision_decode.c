/* Decoding raw detector outputs against the anchors, and weighted NMS on
 * hand-made detections. */
#include <math.h>
#include <string.h>

#include "emotrace/face_detector.h"
#include "test.h"

#define ANCHORS 896

static const et_anchor_options short_range = {
    .input_width = 128, .input_height = 128, .num_layers = 4, .strides = {8, 16, 16, 16},
    .min_scale = 0.1484375f, .max_scale = 0.75f, .anchor_offset_x = 0.5f, .anchor_offset_y = 0.5f,
    .aspect_ratios = {1.0f}, .aspect_ratio_count = 1, .interpolated_scale_aspect_ratio = 1.0f,
    .fixed_anchor_size = 1};

TEST(vision_decode_one_anchor)
{
    static et_anchor anchors[ANCHORS];
    static float reg[ANCHORS * ET_FACE_RAW_COORDS], logits[ANCHORS];
    static et_face faces[ANCHORS];
    REQUIRE(et_anchors_generate(&short_range, anchors, ANCHORS) == ANCHORS);
    for (int i = 0; i < ANCHORS; i++)
        logits[i] = -10.0f;
    memset(reg, 0, sizeof reg);
    /* Anchor 600 is in the 8x8 grid: 600 - 512 = 88 = cell 14 (y 1, x 6),
     * anchor 4 of the cell, centre (6.5 / 8, 1.5 / 8) = (0.8125, 0.1875). */
    const int i = 600;
    CHECK_NEAR(anchors[i].x, 0.8125f, 1e-6);
    CHECK_NEAR(anchors[i].y, 0.1875f, 1e-6);
    float *r = reg + i * ET_FACE_RAW_COORDS;
    r[0] = 6.4f;   /* +0.05 of the 128-pixel input */
    r[1] = -12.8f; /* -0.1 */
    r[2] = 32.0f;  /* width 0.25 */
    r[3] = 25.6f;  /* height 0.2 */
    for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
        r[4 + 2 * k] = 1.28f * (float)k; /* +0.01 k */
        r[5 + 2 * k] = -2.56f * (float)k; /* -0.02 k */
    }
    logits[i] = 2.0f;
    int n = et_face_decode(reg, logits, anchors, ANCHORS, 128.0f, 128.0f, 0.5f, faces, ANCHORS);
    REQUIRE(n == 1);
    CHECK_NEAR(faces[0].score, 1.0 / (1.0 + exp(-2.0)), 1e-6);
    CHECK_NEAR(faces[0].x0, 0.8625f - 0.125f, 1e-6);
    CHECK_NEAR(faces[0].x1, 0.8625f + 0.125f, 1e-6);
    CHECK_NEAR(faces[0].y0, 0.0875f - 0.1f, 1e-6);
    CHECK_NEAR(faces[0].y1, 0.0875f + 0.1f, 1e-6);
    for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
        CHECK_NEAR(faces[0].keypoints[k][0], 0.8125f + 0.01f * k, 1e-6);
        CHECK_NEAR(faces[0].keypoints[k][1], 0.1875f - 0.02f * k, 1e-6);
    }
    /* The threshold applies to the sigmoid; huge logits are clipped at 100,
     * not overflowing; max limits what is written, not what is counted. */
    CHECK_EQ_INT(et_face_decode(reg, logits, anchors, ANCHORS, 128.0f, 128.0f, 0.9f, faces, ANCHORS), 0);
    logits[0] = 1e30f;
    logits[1] = -1e30f;
    n = et_face_decode(reg, logits, anchors, ANCHORS, 128.0f, 128.0f, 0.5f, faces, 1);
    CHECK_EQ_INT(n, 2);
    CHECK_NEAR(faces[0].score, 1.0, 1e-6);
    CHECK_NEAR(faces[0].x0, 0.5f / 16, 1e-6); /* zero size at anchor 0's centre */
}

static et_face box(float x0, float y0, float x1, float y1, float score, float kp)
{
    et_face f;
    memset(&f, 0, sizeof f);
    f.x0 = x0;
    f.y0 = y0;
    f.x1 = x1;
    f.y1 = y1;
    f.score = score;
    for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
        f.keypoints[k][0] = kp + (float)k;
        f.keypoints[k][1] = kp - (float)k;
    }
    return f;
}

TEST(vision_nms_weighted)
{
    et_face a = box(0, 0, 10, 10, 0.9f, 5);
    et_face b = box(2, 0, 12, 10, 0.6f, 7); /* IoU with a: 80 / 120 = 0.667 */
    CHECK_NEAR(et_face_iou(&a, &b), 80.0 / 120.0, 1e-6);
    et_face faces[4] = {
        b,
        box(20, 20, 30, 30, 0.8f, 25), /* disjoint: kept as is */
        a,
        box(27, 20, 37, 30, 0.7f, 32), /* IoU with the previous 30 / 170 = 0.18: kept */
    };
    int n = et_face_nms_weighted(faces, 4, 0.3f);
    REQUIRE(n == 3);
    /* Best first: a blended with b by scores 0.9 and 0.6; score stays 0.9. */
    CHECK_NEAR(faces[0].score, 0.9f, 1e-6);
    CHECK_NEAR(faces[0].x0, (0.9 * 0 + 0.6 * 2) / 1.5, 1e-5);
    CHECK_NEAR(faces[0].x1, (0.9 * 10 + 0.6 * 12) / 1.5, 1e-5);
    CHECK_NEAR(faces[0].y0, 0.0f, 1e-6);
    CHECK_NEAR(faces[0].y1, 10.0f, 1e-5);
    for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
        CHECK_NEAR(faces[0].keypoints[k][0], (0.9 * (5 + k) + 0.6 * (7 + k)) / 1.5, 1e-5);
        CHECK_NEAR(faces[0].keypoints[k][1], (0.9 * (5 - k) + 0.6 * (7 - k)) / 1.5, 1e-5);
    }
    CHECK_NEAR(faces[1].score, 0.8f, 1e-6);
    CHECK_NEAR(faces[1].x0, 20.0f, 1e-6);
    CHECK_NEAR(faces[1].keypoints[0][0], 25.0f, 1e-6);
    CHECK_NEAR(faces[2].score, 0.7f, 1e-6);
    CHECK_NEAR(faces[2].x0, 27.0f, 1e-6);
    /* Nothing in, nothing out; empty boxes overlap nothing. */
    CHECK_EQ_INT(et_face_nms_weighted(faces, 0, 0.3f), 0);
    et_face empty = box(5, 5, 5, 5, 0.5f, 0);
    CHECK_NEAR(et_face_iou(&empty, &empty), 0.0f, 0);
}
