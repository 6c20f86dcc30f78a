/* The detector's input: letterbox geometry, black bars, area averaging when
 * shrinking (no aliasing) and bilinear enlarging. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_detector.h"
#include "test.h"

#define IN 128

TEST(vision_letterbox_shrink_averages_area)
{
    /* A 640x360 checkerboard of single pixels, black and white: averaged it
     * is mid gray (0 in [-1, 1]); sampled it would alias to stripes. */
    int w = 640, h = 360;
    uint8_t *rgb = malloc((size_t)w * h * 3);
    static float input[3 * IN * IN];
    REQUIRE(rgb);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memset(rgb + ((size_t)y * w + x) * 3, (x + y) % 2 ? 255 : 0, 3);
    et_letterbox lb;
    REQUIRE(et_face_letterbox(rgb, w, h, w * 3, 0.0f, input, IN, IN, &lb) == ET_OK);
    /* Scale 128 / 640; the 72 image rows sit in the middle: 28 black rows
     * above and below. */
    CHECK_NEAR(lb.scale, 0.2f, 1e-6);
    CHECK_NEAR(lb.offset_x, 0.0f, 1e-6);
    CHECK_NEAR(lb.offset_y, 28.0f, 1e-6);
    float worst = 0.0f;
    for (int ch = 0; ch < 3; ch++)
        for (int v = 0; v < IN; v++)
            for (int u = 0; u < IN; u++) {
                float value = input[(ch * IN + v) * IN + u];
                float expect = v < 28 || v >= 100 ? -1.0f : 0.0f;
                float err = fabsf(value - expect);
                worst = err > worst ? err : worst;
            }
    /* A 5x5 box holds 13 and 12 pixels of the two colours: +-0.04. */
    CHECK_MSG(worst < 0.05f, "largest difference from gray / black %.3f", worst);
    free(rgb);
}

TEST(vision_letterbox_margin_and_enlarging)
{
    /* 2x2 image, a margin of 0.5 (1 pixel of border on each side): a 4x4
     * canvas enlarged 32 times; the image is the middle 64x64. */
    const uint8_t rgb[2 * 2 * 3] = {255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255};
    static float input[3 * IN * IN];
    et_letterbox lb;
    REQUIRE(et_face_letterbox(rgb, 2, 2, 6, 0.5f, input, IN, IN, &lb) == ET_OK);
    CHECK_NEAR(lb.scale, 32.0f, 1e-5);
    CHECK_NEAR(lb.offset_x, 32.0f, 1e-4);
    CHECK_NEAR(lb.offset_y, 32.0f, 1e-4);
    const float *r = input, *b = input + 2 * IN * IN;
    CHECK_NEAR(r[10 * IN + 10], -1.0f, 0);       /* border: black */
    CHECK_NEAR(r[40 * IN + 40], 1.0f, 1e-6);     /* top row red */
    CHECK_NEAR(b[40 * IN + 40], -1.0f, 1e-6);
    CHECK_NEAR(b[90 * IN + 90], 1.0f, 1e-6);     /* bottom row blue */
    CHECK_NEAR(r[64 * IN + 40], 0.0f, 0.05);     /* halfway between the rows */
    /* Bad sizes are errors. */
    CHECK_EQ_INT(et_face_letterbox(rgb, 2, 2, 5, 0.0f, input, IN, IN, &lb), ET_ERR_USAGE);
}
