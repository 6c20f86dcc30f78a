/* Annotated video: the encoder keeps every frame at its time (also a
 * variable frame rate), the bitmap font and boxes land where they should,
 * and `analyze --annotate` writes a video with the input's frame count and
 * timestamps whose faces carry the box in their emotion's colour; --fps
 * without --annotate leaves the frames it drops unconverted and still
 * analyses the very same frames. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "db_dump.h"
#include "emotrace/draw.h"
#include "emotrace/error.h"
#include "emotrace/image.h"
#include "emotrace/report.h"
#include "emotrace/video.h"
#include "emotrace/video_writer.h"
#include "test.h"

static const uint8_t *pixel(const et_frame *f, int x, int y)
{
    return f->rgb + (size_t)y * f->stride + 3 * (size_t)x;
}

TEST(annotate_writer_keeps_variable_timestamps)
{
    static const double times[] = {0, 0.1, 0.35, 0.4, 0.8, 1.0, 1.04};
    const int n = (int)(sizeof times / sizeof times[0]);
    const char *path = test_path("vfr.mp4");
    et_video_writer *w = NULL;
    /* An odd size: the encoded picture loses its last column and row. */
    REQUIRE(et_video_writer_open(&w, path, 65, 49, 25) == ET_OK);
    et_frame f = {0};
    REQUIRE(et_frame_resize(&f, 65, 49) == ET_OK);
    for (int i = 0; i < n; i++) {
        /* Left half dark, right half bright, brightness growing with i. */
        uint8_t level = (uint8_t)(40 + 25 * i);
        const uint8_t dark[3] = {20, 20, 20}, bright[3] = {level, level, level};
        et_draw_fill(&f, 0, 0, 32, 49, dark);
        et_draw_fill(&f, 32, 0, 33, 49, bright);
        f.t = times[i];
        f.index = i;
        CHECK_EQ_INT(et_video_writer_write(w, &f), ET_OK);
    }
    CHECK_EQ_INT(et_video_writer_finish(w), ET_OK);
    et_video_writer_close(w);

    et_video *v = NULL;
    REQUIRE(et_video_open(&v, path, NULL) == ET_OK);
    et_video_info info;
    et_video_get_info(v, &info);
    CHECK_EQ_INT(info.width, 64);
    CHECK_EQ_INT(info.height, 48);
    int count = 0, ret;
    while ((ret = et_video_read(v, &f)) > 0) {
        if (count < n) {
            CHECK_NEAR(f.t, times[count], 1e-4);
            CHECK_NEAR(pixel(&f, 10, 24)[1], 20, 12);
            CHECK_NEAR(pixel(&f, 50, 24)[1], 40 + 25 * count, 12);
        }
        count++;
    }
    CHECK_EQ_INT(ret, 0);
    CHECK_EQ_INT(count, n);
    et_video_close(v);
    et_frame_free(&f);

    /* A file name without a container is refused by name. */
    CHECK(et_video_writer_open(&w, test_path("out.nocontainer"), 64, 48, 25) != ET_OK);
    CHECK(strstr(et_error_message(), "out.nocontainer") != NULL);
    CHECK(w == NULL);
}

TEST(annotate_draw_text_and_box)
{
    et_frame f = {0};
    REQUIRE(et_frame_resize(&f, 40, 20) == ET_OK);
    memset(f.rgb, 0, (size_t)f.stride * f.height);
    const uint8_t white[3] = {255, 255, 255}, red[3] = {255, 0, 0};
    CHECK_EQ_INT(et_draw_text_width("#1", 1), 11);
    CHECK_EQ_INT(et_draw_text_width("#1", 2), 22);
    et_draw_text(&f, 0, 0, 1, "#1", white);
    /* '#': rows 01010 11111 ...; '1' starts 6 pixels to the right: 00100. */
    CHECK_EQ_INT(pixel(&f, 0, 0)[0], 0);
    CHECK_EQ_INT(pixel(&f, 1, 0)[0], 255);
    CHECK_EQ_INT(pixel(&f, 0, 2)[0], 255);
    CHECK_EQ_INT(pixel(&f, 8, 0)[0], 255);
    CHECK_EQ_INT(pixel(&f, 7, 0)[0], 0);
    long lit = 0;
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 40; x++)
            lit += pixel(&f, x, y)[0] == 255;
    CHECK_EQ_INT(lit, 20 + 10); /* bits set in the two glyphs */
    /* A box clipped at the frame edge: only what fits is drawn. */
    et_draw_box(&f, 30, 10, 20, 20, 2, red);
    CHECK_EQ_INT(pixel(&f, 35, 10)[1], 0);
    CHECK_EQ_INT(pixel(&f, 35, 10)[0], 255);
    CHECK_EQ_INT(pixel(&f, 35, 15)[0], 0);
    CHECK_EQ_INT(pixel(&f, 31, 15)[0], 255);
    et_frame_free(&f);
}

/* The times of every video frame of path, from ffprobe; returns the count. */
static int probe_times(const char *path, double *times, int max)
{
    char command[1024];
    int status, n = 0;
    snprintf(command, sizeof command,
             "ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 '%s'", path);
    char *text = shell_capture(command, &status);
    if (!text || status != 0) {
        free(text);
        return -1;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *end;
        double t = strtod(line, &end);
        if (end != line && n < max)
            times[n++] = t;
    }
    free(text);
    return n;
}

TEST(annotate_analyze_same_frames_and_times)
{
    const char *end = cli_sanitized() ? "0.6" : "2";
    const char *video = test_path("annotated.mp4"), *csv = test_path("faces.csv");
    char args[1024], *err = NULL;
    snprintf(args, sizeof args, "analyze -q --end %s examples/expressions.mp4 -o '%s' --annotate '%s'", end, csv,
             video);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 0);
    CHECK_MSG(!err || !*err, "%s", err ? err : "");
    free(err);

    static double in[2000], out[2000];
    int n_in = probe_times("examples/expressions.mp4", in, 2000), n_out = probe_times(video, out, 2000);
    REQUIRE(n_in > 0 && n_out > 0);
    int expected = 0;
    while (expected < n_in && in[expected] - in[0] <= atof(end) + 1e-6)
        expected++;
    CHECK_EQ_INT(n_out, expected);
    for (int i = 0; i < n_out && i < expected; i++)
        CHECK_NEAR(out[i] - out[0], in[i] - in[0], 1e-4);

    /* Frame 10 shows the face's box in the colour of its emotion: read the
     * box from the CSV and look at its top edge in the decoded frame. */
    char *rows = file_read_text(csv);
    REQUIRE(rows);
    double x = 0, y = 0, w = 0, h = 0;
    char emotion[16] = "";
    for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n"))
        if (sscanf(line, "examples/expressions.mp4,10,%*f,%*d,%*d,%lf,%lf,%lf,%lf,%*f,%*f,%*f,%*f,%*f,%*f,%*f,%*f,%15s",
                   &x, &y, &w, &h, emotion) == 5)
            break;
    free(rows);
    int k = et_emotion_from_name(emotion);
    REQUIRE(k >= 0 && w > 40);
    const char *png = test_path("frame10.png");
    REQUIRE(shell_runf("ffmpeg -nostdin -v error -y -i '%s' -vf 'select=eq(n\\,10)' -frames:v 1 '%s'", video, png) ==
            0);
    et_frame f = {0};
    REQUIRE(et_image_load(png, &f) == ET_OK);
    double sum[3] = {0};
    int samples = 0;
    for (int px = (int)x + 8; px < (int)(x + w) - 8; px++, samples++)
        for (int c = 0; c < 3; c++)
            sum[c] += pixel(&f, px, (int)lround(y) + 1)[c];
    REQUIRE(samples > 0);
    for (int c = 0; c < 3; c++)
        CHECK_MSG(fabs(sum[c] / samples - et_emotion_rgb[k][c]) < 30, "box edge channel %d: %.0f, %s is %d", c,
                  sum[c] / samples, emotion, et_emotion_rgb[k][c]);
    et_frame_free(&f);
}

TEST(annotate_keeps_frames_that_fps_skips)
{
    const char *video = test_path("annotated.mkv");
    char args[1024];
    snprintf(args, sizeof args, "analyze -q --fps 5 --end 1 examples/expressions.mp4 -o '%s' --annotate '%s'",
             test_path("faces.csv"), video);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    static double out[200];
    /* 25 fps from 0 to 1 s: 26 frames, 6 of them analysed. */
    CHECK_EQ_INT(probe_times(video, out, 200), 26);
    char *csv = file_read_text(test_path("faces.csv"));
    REQUIRE(csv);
    int lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    CHECK_EQ_INT(lines, 1 + 6);
    free(csv);

    char *err = NULL;
    CHECK_EQ_INT(cli_run("analyze --annotate x.mp4 a.mp4 b.mp4", NULL, NULL), 2);
    snprintf(args, sizeof args, "analyze -q --end 0.2 examples/expressions.mp4 -o - --annotate '%s'",
             test_path("out.unknown"));
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "out.unknown: no video container"), "%s", err ? err : "");
    free(err);
}

/* --fps 5 on a 30 fps clip with B-frames: the frames it drops are not
 * converted to RGB and their non-reference ones not decoded, and the
 * observations (frame, t, box, probabilities) are those of decoding and
 * converting every frame (EMOTRACE_CONVERT_EVERY_FRAME=1, the code
 * before); --annotate still writes every frame. */
TEST(fps_sampling_same_observations_as_every_frame_converted)
{
    const char *seconds = cli_sanitized() ? "1" : "2";
    int frames = atoi(seconds) * 30;
    const char *clip = test_path("bframes.mp4");
    REQUIRE(shell_runf("ffmpeg -nostdin -v error -y -i examples/expressions.mp4 -t %s -vf fps=30,scale=640:360 "
                       "-c:v libx264 -preset veryfast -bf 3 -crf 26 '%s'",
                       seconds, clip) == 0);
    int status;
    char command[1024];
    snprintf(command, sizeof command,
             "ffprobe -v error -select_streams v:0 -show_entries frame=pict_type -of csv=p=0 '%s' | grep -c B", clip);
    char *b_frames = shell_capture(command, &status);
    REQUIRE(b_frames);
    CHECK_MSG(atoi(b_frames) >= frames / 3, "%s B-frames of %d", b_frames, frames);
    free(b_frames);

    char args[1024], db[600], reference[600];
    snprintf(db, sizeof db, "%s", test_path("sampled.sqlite"));
    snprintf(reference, sizeof reference, "%s", test_path("reference.sqlite"));
    snprintf(args, sizeof args, "analyze -q --fps 5 '%s' -o '%s'", clip, db);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    setenv("EMOTRACE_CONVERT_EVERY_FRAME", "1", 1);
    snprintf(args, sizeof args, "analyze -q --fps 5 '%s' -o '%s'", clip, reference);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    unsetenv("EMOTRACE_CONVERT_EVERY_FRAME");
    char *sampled = db_dump(db, clip), *expected = db_dump(reference, clip);
    REQUIRE(sampled && expected);
    CHECK_MSG(strcmp(sampled, expected) == 0, "sampled:\n%s\nevery frame converted:\n%s", sampled, expected);
    free(sampled);
    free(expected);
    /* One face in each of the frames at 0, 0.2, 0.4 ... s: 0, 6, 12 ... */
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM observations"), frames / 6);
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM observations WHERE frame % 6 = 0 AND abs(t - frame / 30.0) < 1e-3"),
                 frames / 6);

    const char *video = test_path("annotated.mkv");
    snprintf(args, sizeof args, "analyze -q --fps 5 '%s' -o '%s' --annotate '%s'", clip, test_path("a.csv"), video);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    static double out[200];
    CHECK_EQ_INT(probe_times(video, out, 200), frames);
}
