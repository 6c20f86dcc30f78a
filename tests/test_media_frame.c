/* Frame storage, orientation operations and the gray plane. */
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/frame.h"
#include "test.h"

/* 3x2 frame whose pixel (x, y) is (10x + y, 1, 2). */
static void make_pattern(et_frame *f)
{
    REQUIRE(et_frame_resize(f, 3, 2) == ET_OK);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) {
            uint8_t *p = f->rgb + y * f->stride + x * 3;
            p[0] = (uint8_t)(10 * x + y);
            p[1] = 1;
            p[2] = 2;
        }
}

static int at(const et_frame *f, int x, int y)
{
    return f->rgb[y * f->stride + x * 3];
}

TEST(frame_rotate_and_flip)
{
    et_frame src = {0}, dst = {0};
    make_pattern(&src);
    src.t = 1.5;
    src.index = 7;

    REQUIRE(et_frame_rotate(&dst, &src, 90) == ET_OK);
    CHECK_EQ_INT(dst.width, 2);
    CHECK_EQ_INT(dst.height, 3);
    /* Clockwise: the bottom-left source pixel (0,1) becomes the top-left. */
    CHECK_EQ_INT(at(&dst, 0, 0), 1);
    CHECK_EQ_INT(at(&dst, 1, 0), 0);
    CHECK_EQ_INT(at(&dst, 0, 2), 21);
    CHECK_EQ_INT(at(&dst, 1, 2), 20);
    CHECK_NEAR(dst.t, 1.5, 0);
    CHECK_EQ_INT(dst.index, 7);

    REQUIRE(et_frame_rotate(&dst, &src, 180) == ET_OK);
    CHECK_EQ_INT(dst.width, 3);
    CHECK_EQ_INT(at(&dst, 0, 0), 21);
    CHECK_EQ_INT(at(&dst, 2, 1), 0);

    REQUIRE(et_frame_rotate(&dst, &src, 270) == ET_OK);
    CHECK_EQ_INT(dst.width, 2);
    /* Counter-clockwise: the top-right source pixel (2,0) becomes the top-left. */
    CHECK_EQ_INT(at(&dst, 0, 0), 20);
    CHECK_EQ_INT(at(&dst, 1, 0), 21);
    CHECK_EQ_INT(at(&dst, 0, 2), 0);
    CHECK(dst.rgb[1] == 1 && dst.rgb[2] == 2);

    REQUIRE(et_frame_rotate(&dst, &src, 0) == ET_OK);
    CHECK(!memcmp(dst.rgb, src.rgb, 18));
    CHECK_EQ_INT(et_frame_rotate(&dst, &src, 45), ET_ERR_USAGE);

    et_frame_flip_horizontal(&dst);
    CHECK_EQ_INT(at(&dst, 0, 0), 20);
    CHECK_EQ_INT(at(&dst, 1, 0), 10);
    CHECK_EQ_INT(at(&dst, 2, 1), 1);

    et_frame_free(&src);
    et_frame_free(&dst);
    CHECK(dst.rgb == NULL && dst.capacity == 0);
}

TEST(frame_resize_reuses_storage)
{
    et_frame f = {0};
    REQUIRE(et_frame_resize(&f, 8, 8) == ET_OK);
    uint8_t *p = f.rgb;
    REQUIRE(et_frame_resize(&f, 4, 4) == ET_OK);
    CHECK(f.rgb == p);
    CHECK_EQ_INT(f.stride, 12);
    CHECK_EQ_INT(et_frame_resize(&f, 0, 4), ET_ERR_USAGE);
    CHECK_EQ_INT(et_frame_resize(&f, 1 << 30, 1 << 30), ET_ERR_USAGE);
    et_frame_free(&f);
}

TEST(frame_gray_is_bt601_luma)
{
    static const uint8_t colors[5][3] = {{255, 255, 255}, {0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    static const int luma[5] = {255, 0, 76, 150, 29};
    et_frame f = {0};
    REQUIRE(et_frame_resize(&f, 5, 1) == ET_OK);
    memcpy(f.rgb, colors, sizeof colors);
    uint8_t gray[8] = {0};
    et_frame_to_gray(&f, gray, 8);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(gray[i], luma[i]);
    et_frame_free(&f);
}
