/* SSD anchors: counts and first/last values of both BlazeFace models, and
 * the anchor sizes of the general (non-fixed) path. */
#include <math.h>
#include <stdlib.h>

#include "emotrace/error.h"
#include "emotrace/face_anchors.h"
#include "test.h"

static const et_anchor_options short_range = {
    .input_width = 128, .input_height = 128, .num_layers = 4, .strides = {8, 16, 16, 16},
    .min_scale = 0.1484375f, .max_scale = 0.75f, .anchor_offset_x = 0.5f, .anchor_offset_y = 0.5f,
    .aspect_ratios = {1.0f}, .aspect_ratio_count = 1, .interpolated_scale_aspect_ratio = 1.0f,
    .fixed_anchor_size = 1};

static const et_anchor_options full_range = {
    .input_width = 192, .input_height = 192, .num_layers = 1, .strides = {4},
    .min_scale = 0.1484375f, .max_scale = 0.75f, .anchor_offset_x = 0.5f, .anchor_offset_y = 0.5f,
    .aspect_ratios = {1.0f}, .aspect_ratio_count = 1, .interpolated_scale_aspect_ratio = 0.0f,
    .fixed_anchor_size = 1};

static void check_anchor(const et_anchor *a, float x, float y, float w, float h)
{
    CHECK_NEAR(a->x, x, 1e-6);
    CHECK_NEAR(a->y, y, 1e-6);
    CHECK_NEAR(a->w, w, 1e-6);
    CHECK_NEAR(a->h, h, 1e-6);
}

TEST(vision_anchors_short_range)
{
    REQUIRE(et_anchors_generate(&short_range, NULL, 0) == 896);
    et_anchor a[896];
    REQUIRE(et_anchors_generate(&short_range, a, 896) == 896);
    /* 16x16 grid, 2 anchors per cell (aspect 1 + interpolated). */
    check_anchor(&a[0], 0.5f / 16, 0.5f / 16, 1, 1);
    check_anchor(&a[1], 0.5f / 16, 0.5f / 16, 1, 1);
    check_anchor(&a[2], 1.5f / 16, 0.5f / 16, 1, 1);
    check_anchor(&a[32], 0.5f / 16, 1.5f / 16, 1, 1);
    check_anchor(&a[511], 15.5f / 16, 15.5f / 16, 1, 1);
    /* Three stride-16 layers share an 8x8 grid: 6 anchors per cell. */
    check_anchor(&a[512], 0.5f / 8, 0.5f / 8, 1, 1);
    check_anchor(&a[517], 0.5f / 8, 0.5f / 8, 1, 1);
    check_anchor(&a[518], 1.5f / 8, 0.5f / 8, 1, 1);
    check_anchor(&a[895], 7.5f / 8, 7.5f / 8, 1, 1);
}

TEST(vision_anchors_full_range)
{
    int n = et_anchors_generate(&full_range, NULL, 0);
    REQUIRE(n == 2304);
    et_anchor *a = malloc((size_t)n * sizeof *a);
    REQUIRE(a);
    CHECK_EQ_INT(et_anchors_generate(&full_range, a, n), 2304);
    check_anchor(&a[0], 0.5f / 48, 0.5f / 48, 1, 1);
    check_anchor(&a[1], 1.5f / 48, 0.5f / 48, 1, 1);
    check_anchor(&a[48], 0.5f / 48, 1.5f / 48, 1, 1);
    check_anchor(&a[2303], 47.5f / 48, 47.5f / 48, 1, 1);
    free(a);
}

TEST(vision_anchors_sizes_and_errors)
{
    /* Two layers of different strides, two aspect ratios plus the
     * interpolated anchor: scales 0.2 and 0.8, the interpolated ones
     * sqrt(0.2 * 0.8) and, on the last layer, sqrt(0.8 * 1). */
    et_anchor_options o = {.input_width = 32, .input_height = 32, .num_layers = 2, .strides = {8, 16},
                           .min_scale = 0.2f, .max_scale = 0.8f, .anchor_offset_x = 0.5f, .anchor_offset_y = 0.5f,
                           .aspect_ratios = {1.0f, 2.0f}, .aspect_ratio_count = 2,
                           .interpolated_scale_aspect_ratio = 1.0f, .fixed_anchor_size = 0};
    et_anchor a[60];
    REQUIRE(et_anchors_generate(&o, a, 60) == 4 * 4 * 3 + 2 * 2 * 3);
    check_anchor(&a[0], 0.125f, 0.125f, 0.2f, 0.2f);
    check_anchor(&a[1], 0.125f, 0.125f, 0.2f * sqrtf(2.0f), 0.2f / sqrtf(2.0f));
    check_anchor(&a[2], 0.125f, 0.125f, 0.4f, 0.4f);
    check_anchor(&a[48], 0.25f, 0.25f, 0.8f, 0.8f);
    check_anchor(&a[50], 0.25f, 0.25f, sqrtf(0.8f), sqrtf(0.8f));
    /* Fewer slots than anchors: the count still tells the full number. */
    CHECK_EQ_INT(et_anchors_generate(&o, a, 10), 60);
    o.strides[1] = 0;
    CHECK_EQ_INT(et_anchors_generate(&o, a, 60), ET_ERR_USAGE);
}
