/* Still images: pixel values, EXIF orientation, damaged and hostile files,
 * and telling images from videos. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/frame.h"
#include "emotrace/image.h"
#include "emotrace/media_input.h"
#include "emotrace/video.h"
#include "cli_run.h"
#include "test.h"

#define FFMPEG "ffmpeg -nostdin -hide_banner -v error -y"


static int write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, size, f);
    return fclose(f) == 0 && n == size ? 0 : -1;
}

static int message_names(const char *path)
{
    return strstr(et_error_message(), path) != NULL;
}

/* 16x12 picture in four flat quadrants: white top-left, red top-right,
 * green bottom-left, blue bottom-right; written as raw RGB24. */
static const uint8_t quadrant_colors[4][3] = {{255, 255, 255}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};

static int write_quadrants(const char *raw)
{
    uint8_t px[12][16][3];
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 16; x++)
            memcpy(px[y][x], quadrant_colors[(y >= 6) * 2 + (x >= 8)], 3);
    return write_file(raw, px, sizeof px);
}

/* Index into quadrant_colors of the color nearest the pixel at (x, y). */
static int color_at(const et_frame *f, int x, int y)
{
    const uint8_t *p = f->rgb + (size_t)y * f->stride + (size_t)x * 3;
    int best = -1, best_d = 1 << 30;
    for (int c = 0; c < 4; c++) {
        int d = 0;
        for (int k = 0; k < 3; k++)
            d += (p[k] - quadrant_colors[c][k]) * (p[k] - quadrant_colors[c][k]);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    return best;
}

TEST(image_png_exact_pixels)
{
    const char *raw = test_path("q.rgb"), *png = test_path("q.png");
    REQUIRE(write_quadrants(raw) == 0);
    REQUIRE(shell_runf(FFMPEG " -f rawvideo -pix_fmt rgb24 -s 16x12 -i '%s' '%s'", raw, png) == 0);
    et_frame f = {0};
    REQUIRE(et_image_load(png, &f) == ET_OK);
    CHECK_EQ_INT(f.width, 16);
    CHECK_EQ_INT(f.height, 12);
    CHECK_EQ_INT(f.index, 0);
    int exact = 1;
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 16; x++)
            exact &= !memcmp(f.rgb + y * f.stride + x * 3, quadrant_colors[(y >= 6) * 2 + (x >= 8)], 3);
    CHECK(exact);
    uint8_t gray[16 * 12];
    et_frame_to_gray(&f, gray, 16);
    CHECK_EQ_INT(gray[0], 255);
    CHECK_EQ_INT(gray[15], 76);
    CHECK_EQ_INT(gray[11 * 16], 150);
    CHECK_EQ_INT(gray[11 * 16 + 15], 29);
    et_frame_free(&f);
}

TEST(image_jpeg_pixels)
{
    const char *raw = test_path("q.rgb"), *jpg = test_path("q.jpg");
    REQUIRE(write_quadrants(raw) == 0);
    REQUIRE(shell_runf(FFMPEG " -f rawvideo -pix_fmt rgb24 -s 16x12 -i '%s' -pix_fmt yuvj444p -q:v 1 '%s'",
               raw, jpg) == 0);
    et_frame f = {0};
    REQUIRE(et_image_load(jpg, &f) == ET_OK);
    CHECK_EQ_INT(f.width, 16);
    CHECK_EQ_INT(f.height, 12);
    /* Lossy: compare quadrant centres with a tolerance. */
    static const int cx[4] = {3, 12, 3, 12}, cy[4] = {2, 2, 9, 9};
    for (int q = 0; q < 4; q++) {
        const uint8_t *p = f.rgb + cy[q] * f.stride + cx[q] * 3;
        for (int k = 0; k < 3; k++)
            CHECK_MSG(abs(p[k] - quadrant_colors[q][k]) <= 12, "quadrant %d channel %d: %d vs %d", q, k,
                      p[k], quadrant_colors[q][k]);
    }
    et_frame_free(&f);
}

/* Inserts an EXIF APP1 segment with the given orientation after the SOI. */
static int add_exif_orientation(const char *src, const char *dst, int orientation)
{
    FILE *f = fopen(src, "rb");
    if (!f)
        return -1;
    static uint8_t in[1 << 16];
    size_t n = fread(in, 1, sizeof in, f);
    fclose(f);
    if (n < 4 || n == sizeof in)
        return -1;
    const uint8_t app1[] = {
        0xFF, 0xE1, 0x00, 34,                    /* APP1, length 34 */
        'E', 'x', 'i', 'f', 0, 0,                /* EXIF header */
        'M', 'M', 0, 42, 0, 0, 0, 8,             /* big-endian TIFF, IFD0 at 8 */
        0, 1,                                    /* one entry */
        0x01, 0x12, 0, 3, 0, 0, 0, 1,            /* Orientation, SHORT, count 1 */
        0, (uint8_t)orientation, 0, 0,           /* value */
        0, 0, 0, 0,                              /* no next IFD */
    };
    static uint8_t out[(1 << 16) + sizeof app1];
    memcpy(out, in, 2);
    memcpy(out + 2, app1, sizeof app1);
    memcpy(out + 2 + sizeof app1, in + 2, n - 2);
    return write_file(dst, out, n + sizeof app1);
}

TEST(image_jpeg_exif_orientation)
{
    const char *raw = test_path("q.rgb"), *jpg = test_path("q.jpg"), *rot = test_path("o.jpg");
    REQUIRE(write_quadrants(raw) == 0);
    REQUIRE(shell_runf(FFMPEG " -f rawvideo -pix_fmt rgb24 -s 16x12 -i '%s' -pix_fmt yuvj444p -q:v 1 '%s'",
               raw, jpg) == 0);
    /* Quadrant (index into quadrant_colors) shown at the top-left, top-right,
     * bottom-left, bottom-right of the upright picture, per orientation. */
    static const int want[9][4] = {
        {0},
        {0, 1, 2, 3}, /* 1: as stored */
        {1, 0, 3, 2}, /* 2: mirrored */
        {3, 2, 1, 0}, /* 3: 180 */
        {2, 3, 0, 1}, /* 4: upside-down mirror */
        {0, 2, 1, 3}, /* 5: transpose */
        {2, 0, 3, 1}, /* 6: needs 90 clockwise */
        {3, 1, 2, 0}, /* 7: transverse */
        {1, 3, 0, 2}, /* 8: needs 90 counter-clockwise */
    };
    et_frame f = {0};
    for (int o = 1; o <= 8; o++) {
        REQUIRE(add_exif_orientation(jpg, rot, o) == 0);
        REQUIRE(et_image_load(rot, &f) == ET_OK);
        int sideways = o >= 5;
        CHECK_EQ_INT(f.width, sideways ? 12 : 16);
        CHECK_EQ_INT(f.height, sideways ? 16 : 12);
        int got[4] = {color_at(&f, 2, 2), color_at(&f, f.width - 3, 2), color_at(&f, 2, f.height - 3),
                      color_at(&f, f.width - 3, f.height - 3)};
        for (int c = 0; c < 4; c++)
            CHECK_MSG(got[c] == want[o][c], "orientation %d corner %d: quadrant %d, expected %d", o, c,
                      got[c], want[o][c]);
    }
    et_frame_free(&f);
}

TEST(image_truncated_files)
{
    const char *png = test_path("t.png"), *jpg = test_path("t.jpg");
    const char *png_cut = test_path("cut.png"), *jpg_cut = test_path("cut.jpg");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc=size=128x96 -frames:v 1 '%s' -frames:v 1 '%s'", png,
               jpg) == 0);
    REQUIRE(shell_runf("head -c $(( $(stat -c %%s '%s') / 2 )) '%s' > '%s'", png, png, png_cut) == 0);
    REQUIRE(shell_runf("head -c $(( $(stat -c %%s '%s') / 2 )) '%s' > '%s'", jpg, jpg, jpg_cut) == 0);
    et_frame f = {0};
    REQUIRE(et_image_load(png, &f) == ET_OK); /* the whole files are fine */
    REQUIRE(et_image_load(jpg, &f) == ET_OK);

    CHECK_EQ_INT(et_image_load(png_cut, &f), ET_ERR_FORMAT);
    CHECK_MSG(message_names(png_cut), "message: %s", et_error_message());
    CHECK_EQ_INT(et_image_load(jpg_cut, &f), ET_ERR_FORMAT);
    CHECK_MSG(message_names(jpg_cut) && strstr(et_error_message(), "truncated"), "message: %s",
              et_error_message());
    /* Cut inside the headers. */
    REQUIRE(shell_runf("head -c 40 '%s' > '%s'", jpg, jpg_cut) == 0);
    CHECK_EQ_INT(et_image_load(jpg_cut, &f), ET_ERR_FORMAT);
    CHECK_MSG(message_names(jpg_cut), "message: %s", et_error_message());
    et_frame_free(&f);
}

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

TEST(image_huge_header_rejected_before_decoding)
{
    /* A valid-looking PNG whose IHDR claims 100000x100000 RGB pixels (30 GB).
     * Under ASan an attempt to allocate that would abort the test run. */
    uint8_t png[8 + 25 + 12] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    uint8_t *ihdr = png + 8;
    put32be(ihdr, 13);
    memcpy(ihdr + 4, "IHDR", 4);
    put32be(ihdr + 8, 100000);
    put32be(ihdr + 12, 100000);
    ihdr[16] = 8; /* bit depth */
    ihdr[17] = 2; /* RGB */
    /* CRC left zero: stb_image does not check it, and we must stop earlier anyway. */
    uint8_t *iend = ihdr + 25;
    put32be(iend, 0);
    memcpy(iend + 4, "IEND", 4);
    const char *path = test_path("huge.png");
    REQUIRE(write_file(path, png, sizeof png) == 0);
    et_frame f = {0};
    CHECK_EQ_INT(et_image_load(path, &f), ET_ERR_FORMAT);
    CHECK_MSG(message_names(path) && strstr(et_error_message(), "100000x100000"), "message: %s",
              et_error_message());
    CHECK(f.rgb == NULL);
}

TEST(image_missing_and_garbage_files)
{
    et_frame f = {0};
    const char *missing = test_path("missing.png");
    CHECK_EQ_INT(et_image_load(missing, &f), ET_ERR_IO);
    CHECK_MSG(message_names(missing), "message: %s", et_error_message());
    const char *garbage = test_path("garbage.jpg");
    REQUIRE(write_file(garbage, "definitely not an image", 23) == 0);
    CHECK_EQ_INT(et_image_load(garbage, &f), ET_ERR_FORMAT);
    CHECK_MSG(message_names(garbage), "message: %s", et_error_message());
    const char *empty = test_path("empty.png");
    REQUIRE(write_file(empty, "", 0) == 0);
    CHECK_EQ_INT(et_image_load(empty, &f), ET_ERR_FORMAT);
    CHECK_EQ_INT(et_image_load(test_tmpdir(), &f), ET_ERR_IO);
    CHECK(f.rgb == NULL);
}

TEST(image_probe_by_content)
{
    const char *png = test_path("x.png"), *jpg = test_path("x.jpg"), *mp4 = test_path("x.mp4");
    const char *bmp = test_path("x.bmp"), *ppm = test_path("x.ppm"), *gif = test_path("x.gif");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc=size=32x24:rate=5 -frames:v 1 '%s' -frames:v 1 '%s'"
                      " -frames:v 2 '%s' -frames:v 1 '%s' -frames:v 1 '%s' -frames:v 1 '%s'",
               png, jpg, mp4, bmp, ppm, gif) == 0);
    CHECK_EQ_INT(et_image_probe(png), 1);
    CHECK_EQ_INT(et_image_probe(jpg), 1);
    CHECK_EQ_INT(et_image_probe(mp4), 0);
    /* Content wins over the name. */
    const char *disguised = test_path("photo.mp4");
    REQUIRE(shell_runf("cp '%s' '%s'", png, disguised) == 0);
    CHECK_EQ_INT(et_image_probe(disguised), 1);
    CHECK_EQ_INT(et_image_probe(bmp), 1);
    CHECK_EQ_INT(et_image_probe(ppm), 1);
    CHECK_EQ_INT(et_image_probe(gif), 1);
    et_frame f = {0};
    CHECK_EQ_INT(et_image_load(bmp, &f), ET_OK);
    CHECK_EQ_INT(et_image_load(ppm, &f), ET_OK);
    CHECK(f.width == 32 && f.height == 24);
    /* Formats libavcodec reads that stb_image did not. */
    const char *tiff = test_path("x.tiff"), *webp = test_path("x.webp");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc=size=32x24 -frames:v 1 '%s' -frames:v 1 -c:v libwebp '%s'",
                       tiff, webp) == 0);
    CHECK_EQ_INT(et_image_probe(tiff), 1);
    CHECK_EQ_INT(et_image_probe(webp), 1);
    CHECK_EQ_INT(et_image_load(tiff, &f), ET_OK);
    CHECK(f.width == 32 && f.height == 24);
    CHECK_EQ_INT(et_image_load(webp, &f), ET_OK);
    CHECK(f.width == 32 && f.height == 24);
    et_frame_free(&f);
    const char *text = test_path("notes.txt"), *tga = test_path("x.TGA");
    REQUIRE(write_file(text, "BM is not enough", 16) == 0);
    CHECK_EQ_INT(et_image_probe(text), 0);
    REQUIRE(write_file(tga, "\0\0\2", 3) == 0);
    CHECK_EQ_INT(et_image_probe(tga), 1);
    const char *missing = test_path("missing.png");
    CHECK(et_image_probe(missing) < 0);
    CHECK_MSG(message_names(missing), "message: %s", et_error_message());
}

/* An animated GIF is read as a video, every frame at its time (stb_image
 * gives the first frame only); a one-image GIF stays an image, also in a
 * directory, and a GIF cut short stays an image for the loader to judge. */
TEST(image_animated_gif_is_a_video)
{
    const char *dir = test_path("gifs"), *anim = test_path("gifs/anim.gif"), *still = test_path("gifs/still.gif");
    const char *cut = test_path("cut.gif");
    REQUIRE(shell_runf("mkdir -p '%s' && " FFMPEG " -f lavfi -i testsrc=size=32x24:rate=5:duration=0.6 '%s' && "
                       FFMPEG " -f lavfi -i testsrc=size=32x24:rate=5:duration=0.2 '%s' && head -c 200 '%s' > '%s'",
                       dir, anim, still, anim, cut) == 0);
    CHECK_EQ_INT(et_image_probe(anim), 0);
    CHECK_EQ_INT(et_image_probe(still), 1);
    CHECK_EQ_INT(et_image_probe(cut), 1);
    et_video *v = NULL;
    REQUIRE(et_video_open(&v, anim, NULL) == ET_OK);
    et_frame f = {0};
    int n = 0, ret;
    while ((ret = et_video_read(v, &f)) > 0) {
        CHECK_NEAR(f.t, 0.2 * n, 1e-6);
        CHECK(f.width == 32 && f.height == 24);
        n++;
    }
    CHECK_EQ_INT(ret, 0);
    CHECK_EQ_INT(n, 3);
    et_frame_free(&f);
    et_video_close(v);
    et_media_list list = {0};
    et_media_input_options o = {0};
    REQUIRE(et_media_list_add_path(&list, dir, &o) == ET_OK);
    REQUIRE(list.count == 2);
    int videos = 0, sequences = 0;
    for (size_t i = 0; i < list.count; i++) {
        if (list.items[i].kind == ET_MEDIA_VIDEO && strstr(list.items[i].path, "anim.gif"))
            videos++;
        if (list.items[i].kind == ET_MEDIA_IMAGE_SEQUENCE && list.items[i].image_count == 1 &&
            strstr(list.items[i].images[0], "still.gif"))
            sequences++;
    }
    CHECK(videos == 1 && sequences == 1);
    et_media_list_free(&list);
}

static void write_bytes(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, size, f) != size)
        test_fail(__FILE__, __LINE__, "cannot write %s", path);
    if (f)
        fclose(f);
}

/* PGM/PPM, decoded by libavcodec since stb_image 2.27 read 16-bit samples
 * little-endian, ignored the maximum value and read past its buffer
 * converting a 16-bit PGM to RGB
 * (tests/fuzz/regress/image/pgm-16bit-maxval-past-buffer.pgm): 8- and
 * 16-bit (big-endian) samples scaled from their maximum value to 255, the
 * ASCII variant too, and missing samples an error naming the file, not
 * black pixels. */
TEST(image_pnm_8_and_16_bit_ascii_truncated_and_bad_maxval)
{
    et_frame f = {0};
    const char *pgm8 = test_path("g8.pgm"), *pgm16 = test_path("g16.pgm"), *ppm16 = test_path("c16.ppm");
    static const uint8_t g8[] = "P5\n# comment\n3 1\n255\n\x10\x80\xff";
    write_bytes(pgm8, g8, sizeof g8 - 1);
    REQUIRE(et_image_load(pgm8, &f) == ET_OK);
    CHECK(f.width == 3 && f.height == 1);
    CHECK(f.rgb[0] == 0x10 && f.rgb[1] == 0x10 && f.rgb[2] == 0x10 && f.rgb[3] == 0x80 && f.rgb[8] == 0xff);

    /* 16-bit samples come to 8 bits through libswscale, which rounds its
     * own way: within 1.5 levels of the exact value (768 of 1000 gives 197
     * for 195.84). */
    static const uint8_t g16[] = "P5 2 2 65535\n\x12\x34\xab\xcd\x00\xff\xff\x00";
    write_bytes(pgm16, g16, sizeof g16 - 1);
    REQUIRE(et_image_load(pgm16, &f) == ET_OK);
    CHECK(f.width == 2 && f.height == 2);
    /* 0x1234, 0xabcd, 0x00ff, 0xff00 of 65535 */
    static const double want16[4] = {18.13, 171.14, 0.99, 254.0};
    for (int i = 0; i < 4; i++)
        for (int c = 0; c < 3; c++)
            CHECK_NEAR(f.rgb[(i / 2) * f.stride + (i % 2) * 3 + c], want16[i], 1.5);

    static const uint8_t c16[] = "P6 1 1 1000\n\x01\x00\x02\x00\x03\x00";
    write_bytes(ppm16, c16, sizeof c16 - 1);
    REQUIRE(et_image_load(ppm16, &f) == ET_OK);
    /* 256, 512, 768 of 1000 */
    CHECK_NEAR(f.rgb[0], 65.28, 1.5);
    CHECK_NEAR(f.rgb[1], 130.56, 1.5);
    CHECK_NEAR(f.rgb[2], 195.84, 1.5);
    static const uint8_t g4[] = "P5 2 1 15\n\x0f\x07";
    write_bytes(pgm8, g4, sizeof g4 - 1);
    REQUIRE(et_image_load(pgm8, &f) == ET_OK);
    CHECK_MSG(f.rgb[0] == 255 && f.rgb[3] == 119, "15 and 7 of 15: %d %d", f.rgb[0], f.rgb[3]);
    /* ASCII PPM (P3), which stb_image did not read. */
    const char *ascii = test_path("a.ppm");
    static const uint8_t p3[] = "P3 2 1 255\n255 0 0  0 0 255\n";
    write_bytes(ascii, p3, sizeof p3 - 1);
    REQUIRE(et_image_load(ascii, &f) == ET_OK);
    CHECK(f.width == 2 && f.height == 1 && !memcmp(f.rgb, "\xff\0\0\0\0\xff", 6));

    static const struct {
        const char *name, *bytes;
    } cut[] = {{"cut8.pgm", "P5 4 4 255\n\x01\x02\x03"}, {"cut16.pgm", "P5 2 1 65535\n\x01\x02\x03"}};
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        const char *path = test_path(cut[i].name);
        write_bytes(path, cut[i].bytes, strlen(cut[i].bytes));
        CHECK_EQ_INT(et_image_load(path, &f), ET_ERR_FORMAT);
        CHECK_MSG(message_names(path) && strstr(et_error_message(), "truncated PGM"), "%s: %s", cut[i].name,
                  et_error_message());
    }
    /* A maximum value outside 1..65535 is damage that libavcodec (5.1)
     * reads leniently, as 255: the pixels are the bytes as they are. */
    const char *maxval = test_path("maxval.pgm");
    write_bytes(maxval, "P5 1 1 70000\n\x07", 14);
    REQUIRE(et_image_load(maxval, &f) == ET_OK);
    CHECK(f.width == 1 && f.height == 1 && f.rgb[0] == 7);
    /* The fuzzer's find: refused (its samples are missing), no overread. */
    CHECK_EQ_INT(et_image_load("tests/fuzz/regress/image/pgm-16bit-maxval-past-buffer.pgm", &f), ET_ERR_FORMAT);
    et_frame_free(&f);
}
