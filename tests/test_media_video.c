/* Video decoding on real media made at test time with the ffmpeg CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emotrace/error.h"
#include "emotrace/frame.h"
#include "emotrace/video.h"
#include "cli_run.h"
#include "test.h"

/* H.264 when Debian's ffmpeg has libx264 (it does), else MPEG-4 part 2. */
static const char *encoder(void)
{
    static int has_x264 = -1;
    if (has_x264 < 0)
        has_x264 = system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx264") == 0;
    return has_x264 ? "libx264" : "mpeg4";
}

#define FFMPEG "ffmpeg -nostdin -hide_banner -v error -y"

static int message_names(const char *path)
{
    return strstr(et_error_message(), path) != NULL;
}

/* Reads every frame; returns the count or a negative error. */
static int read_all(et_video *v, et_frame *f, double *times, int max)
{
    int n = 0, ret;
    while ((ret = et_video_read(v, f)) > 0) {
        if (n < max)
            times[n] = f->t;
        n++;
    }
    return ret < 0 ? ret : n;
}

TEST(video_cfr_mp4_frames_and_timestamps)
{
    const char *path = test_path("cfr.mp4");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc=size=64x48:rate=10 -t 1 -c:v %s -pix_fmt yuv420p '%s'",
               encoder(), path) == 0);
    et_video *v;
    REQUIRE(et_video_open(&v, path, NULL) == ET_OK);
    et_video_info info;
    et_video_get_info(v, &info);
    CHECK_EQ_INT(info.width, 64);
    CHECK_EQ_INT(info.height, 48);
    CHECK_EQ_INT(info.rotation, 0);
    CHECK_NEAR(info.fps, 10, 1e-9);
    CHECK_EQ_INT(info.frame_count, 10);
    CHECK_NEAR(info.duration, 1.0, 0.05);
    CHECK(!strcmp(info.codec, strcmp(encoder(), "libx264") ? "mpeg4" : "h264"));

    et_frame f = {0};
    int n = 0, ret;
    while ((ret = et_video_read(v, &f)) > 0) {
        CHECK_EQ_INT(f.width, 64);
        CHECK_EQ_INT(f.height, 48);
        CHECK_EQ_INT(f.stride, 64 * 3);
        CHECK_EQ_INT(f.index, n);
        CHECK_NEAR(f.t, n * 0.1, 1e-9);
        n++;
    }
    CHECK_EQ_INT(ret, 0);
    CHECK_EQ_INT(n, 10);
    CHECK_EQ_INT(et_video_read(v, &f), 0); /* stays at the end */
    et_frame_free(&f);
    et_video_close(v);
}

TEST(video_vfr_timestamps_exact)
{
    /* Five frames 0.1 s apart, then five 0.25 s apart, in a 1 ms time base. */
    const char *path = test_path("vfr.mkv");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc=size=64x48:rate=10 -frames:v 10"
                      " -vf \"settb=1/1000,setpts='if(lt(N,5),N*0.1,0.5+(N-5)*0.25)/TB'\""
                      " -fps_mode vfr -enc_time_base 1/1000 -c:v %s '%s'",
               encoder(), path) == 0);
    static const double want[10] = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.25, 1.5};
    et_video *v;
    REQUIRE(et_video_open(&v, path, NULL) == ET_OK);
    et_frame f = {0};
    double t[16];
    CHECK_EQ_INT(read_all(v, &f, t, 16), 10);
    for (int i = 0; i < 10; i++)
        CHECK_NEAR(t[i], want[i], 1e-9);
    et_frame_free(&f);
    et_video_close(v);
}

/* Mean brightness of the 8x8 patch in each corner: 0 TL, 1 TR, 2 BL, 3 BR;
 * returns the brightest. */
static int bright_corner_rgb(const et_frame *f)
{
    int best = -1;
    double best_sum = -1;
    for (int c = 0; c < 4; c++) {
        int x0 = c & 1 ? f->width - 8 : 0, y0 = c & 2 ? f->height - 8 : 0;
        double sum = 0;
        for (int y = y0; y < y0 + 8; y++)
            for (int x = x0; x < x0 + 8; x++)
                sum += f->rgb[(size_t)y * f->stride + (size_t)x * 3 + 1];
        if (sum > best_sum) {
            best_sum = sum;
            best = c;
        }
    }
    return best;
}

/* Brightest corner of a raw gray w x h picture written by the ffmpeg CLI. */
static int bright_corner_gray_file(const char *raw, int w, int h)
{
    et_frame g = {0};
    if (et_frame_resize(&g, w, h) < 0)
        return -1;
    FILE *fp = fopen(raw, "rb");
    int ok = fp != NULL;
    uint8_t *row = malloc((size_t)w);
    for (int y = 0; ok && y < h; y++) {
        ok = fread(row, 1, (size_t)w, fp) == (size_t)w;
        for (int x = 0; ok && x < w; x++)
            g.rgb[(size_t)y * g.stride + (size_t)x * 3 + 1] = row[x];
    }
    if (fp)
        fclose(fp);
    free(row);
    int corner = ok ? bright_corner_rgb(&g) : -1;
    et_frame_free(&g);
    return corner;
}

TEST(video_display_rotation)
{
    /* A white square in the top-left corner of a black 64x48 picture, then
     * copies tagged rotate=90/180/270, and the first frame of each as the
     * ffmpeg CLI shows it (it rotates by the display matrix by default). */
    const char *plain = test_path("plain.mp4");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i \"color=c=black:s=64x48:r=10,drawbox=x=0:y=0:w=16:h=16:"
                      "color=white:t=fill\" -t 0.3 -c:v %s -pix_fmt yuv420p '%s'",
               encoder(), plain) == 0);
    REQUIRE(shell_runf("cd '%s' && " FFMPEG " -i plain.mp4"
               " -map 0 -c copy -metadata:s:v rotate=90 rot90.mp4"
               " -map 0 -c copy -metadata:s:v rotate=180 rot180.mp4"
               " -map 0 -c copy -metadata:s:v rotate=270 rot270.mp4"
               " && " FFMPEG " -i rot90.mp4 -i rot180.mp4 -i rot270.mp4"
               " -map 0:v -frames:v 1 -f rawvideo -pix_fmt gray cli90.gray"
               " -map 1:v -frames:v 1 -f rawvideo -pix_fmt gray cli180.gray"
               " -map 2:v -frames:v 1 -f rawvideo -pix_fmt gray cli270.gray",
               test_tmpdir()) == 0);
    et_video *v;
    et_frame f = {0};
    REQUIRE(et_video_open(&v, plain, NULL) == ET_OK);
    REQUIRE(et_video_read(v, &f) == 1);
    CHECK_EQ_INT(bright_corner_rgb(&f), 0);
    CHECK(f.rgb[(4 * f.stride) + 4 * 3] > 200 && f.rgb[(40 * f.stride) + 56 * 3] < 50);
    et_video_close(v);

    static const int tags[3] = {90, 180, 270};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "rot%d.mp4", tags[i]);
        const char *path = test_path(name);
        REQUIRE(et_video_open(&v, path, NULL) == ET_OK);
        et_video_info info;
        et_video_get_info(v, &info);
        int quarter = tags[i] != 180;
        CHECK_EQ_INT(info.width, quarter ? 48 : 64);
        CHECK_EQ_INT(info.height, quarter ? 64 : 48);
        /* The rotate tag and the turn that undoes it are the same axis. */
        CHECK(info.rotation == tags[i] || info.rotation == 360 - tags[i]);
        REQUIRE(et_video_read(v, &f) == 1);
        CHECK_EQ_INT(f.width, info.width);
        CHECK_EQ_INT(f.height, info.height);
        int corner = bright_corner_rgb(&f);
        /* The upright picture must match what the ffmpeg CLI displays. */
        snprintf(name, sizeof name, "cli%d.gray", tags[i]);
        CHECK_EQ_INT(corner, bright_corner_gray_file(test_path(name), f.width, f.height));
        if (tags[i] == 180)
            CHECK_EQ_INT(corner, 3);
        else /* a quarter turn puts the top-left square top-right or bottom-left */
            CHECK_EQ_INT(corner, info.rotation == 90 ? 1 : 2);
        et_video_close(v);
    }
    et_frame_free(&f);
}

TEST(video_resolution_change_midstream)
{
    /* Red 64x48, then blue 96x64, concatenated as MPEG-TS. */
    const char *a = test_path("a.ts"), *b = test_path("b.ts"), *ab = test_path("ab.ts");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i color=c=red:s=64x48:r=10 -frames:v 5 -c:v %s -pix_fmt yuv420p '%s'",
               encoder(), a) == 0);
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i color=c=blue:s=96x64:r=10 -frames:v 5 -c:v %s -pix_fmt yuv420p '%s'",
               encoder(), b) == 0);
    REQUIRE(shell_runf("cat '%s' '%s' > '%s'", a, b, ab) == 0);
    et_video *v;
    REQUIRE(et_video_open(&v, ab, NULL) == ET_OK);
    et_frame f = {0};
    int n = 0, ret;
    while ((ret = et_video_read(v, &f)) > 0) {
        int second = n >= 5;
        CHECK_EQ_INT(f.width, second ? 96 : 64);
        CHECK_EQ_INT(f.height, second ? 64 : 48);
        const uint8_t *p = f.rgb + (size_t)(f.height / 2) * f.stride + (size_t)(f.width / 2) * 3;
        if (second)
            CHECK_MSG(p[2] > 200 && p[0] < 40, "frame %d not blue: %d %d %d", n, p[0], p[1], p[2]);
        else
            CHECK_MSG(p[0] > 200 && p[2] < 40, "frame %d not red: %d %d %d", n, p[0], p[1], p[2]);
        n++;
    }
    CHECK_EQ_INT(ret, 0);
    CHECK_EQ_INT(n, 10);
    et_frame_free(&f);
    et_video_close(v);
}

TEST(video_truncated_files)
{
    /* The same video with the index (moov) at the end, ffmpeg's default,
     * and at the front. Big enough, with keyframes often enough, that whole
     * frames come before the middle. */
    const char *full = test_path("full.mp4"), *cut = test_path("cut.mp4");
    const char *fast = test_path("fast.mp4"), *fast_cut = test_path("fast_cut.mp4");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc=size=128x96:rate=10:duration=2 -c:v %s -g 5 -pix_fmt yuv420p"
                      " '%s' -c:v %s -g 5 -pix_fmt yuv420p -movflags +faststart '%s'",
               encoder(), full, encoder(), fast) == 0);

    /* Index at the end: cut in half, nothing is playable. */
    REQUIRE(shell_runf("head -c $(( $(stat -c %%s '%s') / 2 )) '%s' > '%s'", full, full, cut) == 0);
    et_video *v = (et_video *)&v;
    int ret = et_video_open(&v, cut, NULL);
    CHECK(ret < 0);
    CHECK(v == NULL);
    CHECK_MSG(message_names(cut), "message: %s", et_error_message());

    /* Index first: the frames before the cut decode, then the stream ends. */
    REQUIRE(shell_runf("head -c $(( $(stat -c %%s '%s') / 2 )) '%s' > '%s'", fast, fast, fast_cut) == 0);
    REQUIRE(et_video_open(&v, fast_cut, NULL) == ET_OK);
    et_frame f = {0};
    double t[32];
    int n = read_all(v, &f, t, 32);
    CHECK_MSG(n > 0 && n < 20, "%d frames from half a 20-frame file (%s)", n, et_error_message());
    for (int i = 0; i < n && i < 32; i++)
        CHECK_NEAR(t[i], i * 0.1, 1e-9);
    et_frame_free(&f);
    et_video_close(v);
}

TEST(video_garbage_and_missing_files)
{
    const char *path = test_path("garbage.mp4");
    FILE *fp = fopen(path, "wb");
    REQUIRE(fp);
    uint32_t x = 12345;
    for (int i = 0; i < 8192; i++) {
        x = x * 1664525u + 1013904223u;
        fputc((int)(x >> 24), fp);
    }
    fclose(fp);
    et_video *v;
    int ret = et_video_open(&v, path, NULL);
    if (ret == ET_OK) { /* probed as something: then nothing may decode */
        et_frame f = {0};
        while ((ret = et_video_read(v, &f)) > 0) {
        }
        et_frame_free(&f);
        et_video_close(v);
    }
    CHECK(ret < 0);
    CHECK_MSG(message_names(path), "message: %s", et_error_message());

    const char *text = test_path("notes.mkv");
    REQUIRE(shell_runf("echo 'this is not a video' > '%s'", text) == 0);
    CHECK(et_video_open(&v, text, NULL) < 0);
    CHECK_MSG(message_names(text), "message: %s", et_error_message());

    const char *missing = test_path("missing.mp4");
    CHECK_EQ_INT(et_video_open(&v, missing, NULL), ET_ERR_IO);
    CHECK_MSG(message_names(missing), "message: %s", et_error_message());

    /* An audio-only file has no video stream. */
    const char *audio = test_path("tone.wav");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i sine=frequency=440:duration=0.1 '%s'", audio) == 0);
    CHECK_EQ_INT(et_video_open(&v, audio, NULL), ET_ERR_FORMAT);
    CHECK_MSG(message_names(audio) && strstr(et_error_message(), "no video stream"), "message: %s",
              et_error_message());
}

TEST(video_open_options)
{
    const char *path = test_path("opt.mkv");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc=size=32x24:rate=5 -frames:v 3 -c:v %s '%s'", encoder(),
               path) == 0);
    const char *good[] = {"probesize=100000", "analyzeduration=500000", NULL};
    et_video_options opt = {.threads = 1, .input_format = "matroska", .input_options = good};
    et_video *v;
    REQUIRE(et_video_open(&v, path, &opt) == ET_OK);
    et_frame f = {0};
    double t[8];
    CHECK_EQ_INT(read_all(v, &f, t, 8), 3);
    et_frame_free(&f);
    et_video_close(v);

    opt.input_format = "no_such_format";
    CHECK_EQ_INT(et_video_open(&v, path, &opt), ET_ERR_USAGE);
    CHECK(strstr(et_error_message(), "no_such_format") != NULL);

    const char *not_kv[] = {"probesize", NULL};
    opt = (et_video_options){.input_options = not_kv};
    CHECK_EQ_INT(et_video_open(&v, path, &opt), ET_ERR_USAGE);
    CHECK(strstr(et_error_message(), "key=value") != NULL);

    const char *unknown[] = {"no_such_option=1", NULL};
    opt.input_options = unknown;
    CHECK_EQ_INT(et_video_open(&v, path, &opt), ET_ERR_USAGE);
    CHECK(strstr(et_error_message(), "no_such_option") != NULL);
    CHECK(v == NULL);
}

/* Devices come from libavdevice, which the binary does not link (it would
 * load some 80 more libraries into every process): a device's name loads
 * it, here lavfi's test pattern. */
TEST(video_device_loaded_on_demand)
{
    char command[1024];
    snprintf(command, sizeof command, "readelf -d '%s' | grep NEEDED", cli_binary());
    int status;
    char *needed = shell_capture(command, &status);
    REQUIRE(needed);
    CHECK_MSG(strstr(needed, "libavformat") && !strstr(needed, "libavdevice"), "%s", needed);
    free(needed);

    et_video_options opt = {.input_format = "lavfi"};
    et_video *v;
    REQUIRE(et_video_open(&v, "testsrc=size=64x48:rate=10:duration=1", &opt) == ET_OK);
    et_frame f = {0};
    double t[16];
    CHECK_EQ_INT(read_all(v, &f, t, 16), 10);
    CHECK_NEAR(t[9], 0.9, 1e-9);
    CHECK_EQ_INT(f.width, 64);
    et_frame_free(&f);
    et_video_close(v);
}

TEST(video_full_and_limited_range_colors)
{
    /* MJPEG decodes to full-range "J" formats, H.264 here to limited range;
     * both must come out as the colour that went in. (FFmpeg's AVI MJPEG
     * packets lack an EOI marker, which its decoder reports; hush it.) */
    const char *mjpeg = test_path("c.avi"), *h264 = test_path("c.mkv");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i color=c=0xC83214:s=64x48:r=5 -frames:v 2 -c:v mjpeg -q:v 1 '%s'",
               mjpeg) == 0);
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i color=c=0xC83214:s=64x48:r=5 -frames:v 2 -c:v %s -pix_fmt yuv420p"
                      " '%s'", encoder(), h264) == 0);
    const char *paths[2] = {mjpeg, h264};
    static const int want[3] = {0xC8, 0x32, 0x14};
    et_frame f = {0};
    for (int i = 0; i < 2; i++) {
        et_video *v;
        REQUIRE(et_video_open(&v, paths[i], NULL) == ET_OK);
        int n = 0;
        while (et_video_read(v, &f) > 0) {
            const uint8_t *p = f.rgb + (size_t)24 * f.stride + (size_t)32 * 3;
            for (int k = 0; k < 3; k++)
                CHECK_MSG(abs(p[k] - want[k]) <= 6, "%s frame %d channel %d: %d, expected %d", paths[i], n,
                          k, p[k], want[k]);
            n++;
        }
        CHECK_EQ_INT(n, 2);
        et_video_close(v);
    }
    et_frame_free(&f);
}
