/* emotrace extract end to end on the example video: the crops are exactly
 * what analyze classifies, and sorted into emotion folders they are a
 * dataset that train fine-tunes on and eval measures. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_run.h"
#include "emotrace/emotion.h"
#include "test.h"

#define VIDEO "examples/expressions.mp4"
#define MAX_ROWS 64

typedef struct {
    char file[256];
    long frame;
    double t, x, y, w, h, confidence;
    int track, emotion;
} index_row;

/* Width, height and colour type (0: gray) from a PNG's IHDR chunk; 0 if
 * path is not a PNG. Read here since the library's stb_image is built for
 * JPEG only. */
static int png_header(const char *path, int *w, int *h, int *color_type)
{
    uint8_t b[26];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f)
        fclose(f);
    if (n != sizeof b || memcmp(b, "\x89PNG\r\n\x1a\n", 8) || memcmp(b + 12, "IHDR", 4))
        return 0;
    *w = b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    *h = b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
    *color_type = b[25];
    return 1;
}

/* Splits a line of unquoted CSV fields in place; returns the field count. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

/* Reads DIR/unlabelled/index.csv; returns the number of rows or -1. */
static int read_index(const char *dir, index_row *rows, int max)
{
    char path[700];
    snprintf(path, sizeof path, "%s/unlabelled/index.csv", dir);
    char *text = file_read_text(path);
    if (!text)
        return -1;
    int n = 0, ok = 1;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line || strcmp(line, "file,source,frame,t,track,x,y,w,h,emotion,confidence") != 0)
        ok = 0;
    while (ok && (line = strtok_r(NULL, "\n", &save)) && n < max) {
        char *f[12];
        if (split(line, f, 12) != 11 || strcmp(f[1], VIDEO) != 0) {
            ok = 0;
            break;
        }
        index_row *r = &rows[n++];
        snprintf(r->file, sizeof r->file, "%s", f[0]);
        r->frame = atol(f[2]);
        r->t = atof(f[3]);
        r->track = atoi(f[4]);
        r->x = atof(f[5]);
        r->y = atof(f[6]);
        r->w = atof(f[7]);
        r->h = atof(f[8]);
        r->emotion = et_emotion_from_name(f[9]);
        r->confidence = atof(f[10]);
    }
    free(text);
    return ok ? n : -1;
}

/* "accuracy: X" and "samples: N" of eval's report; accuracy -1 on failure. */
static double eval_accuracy(const char *dir, const char *weights, long *samples)
{
    char args[1200];
    char *out = NULL;
    snprintf(args, sizeof args, "eval --data %s%s%s", dir, weights ? " --weights " : "", weights ? weights : "");
    double accuracy = -1;
    *samples = -1;
    if (cli_run(args, &out, NULL) == 0 && out) {
        const char *a = strstr(out, "accuracy: "), *s = strstr(out, "samples: ");
        if (a && s) {
            accuracy = atof(a + 10);
            *samples = atol(s + 9);
        }
    }
    free(out);
    return accuracy;
}

TEST(extract_crops_are_what_analyze_classifies)
{
    const char *dir = test_path("set");
    char args[1200];
    snprintf(args, sizeof args, "extract -q --fps 2 --end 8 --by-prediction -o %s " VIDEO, dir);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    static index_row rows[MAX_ROWS];
    int n = read_index(dir, rows, MAX_ROWS);
    CHECK_MSG(n >= 15 && n <= 17, "%d crops for 8 s at 2 frames/s of one face", n);
    REQUIRE(n > 0);

    /* Each crop: a 48x48 gray PNG in the folder of its predicted emotion. */
    for (int i = 0; i < n; i++) {
        char path[1000], expected[300];
        int w = 0, h = 0, color_type = -1;
        snprintf(path, sizeof path, "%s/%s", dir, rows[i].file);
        CHECK_MSG(png_header(path, &w, &h, &color_type) && w == 48 && h == 48 && color_type == 0,
                  "%s: %dx%d, colour type %d", path, w, h, color_type);
        REQUIRE(rows[i].emotion >= 0);
        snprintf(expected, sizeof expected, "unlabelled/%s/", et_emotion_names[rows[i].emotion]);
        CHECK_MSG(!strncmp(rows[i].file, expected, strlen(expected)), "%s not under %s", rows[i].file, expected);
    }

    /* The same frames, boxes and CNN predictions as analyze without the
     * temporal model. */
    char *out = NULL;
    CHECK_EQ_INT(cli_run("analyze -q --no-temporal --fps 2 --end 8 -o - " VIDEO, &out, NULL), 0);
    REQUIRE(out);
    int matched = 0, lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[20];
        /* path,frame,t,track,person,x,y,w,h,score,7 probabilities,emotion */
        if (lines++ == 0 || split(line, f, 20) != 18)
            continue;
        long frame = atol(f[1]);
        for (int i = 0; i < n; i++) {
            if (rows[i].frame != frame || rows[i].track != atoi(f[3]))
                continue;
            int emotion = et_emotion_from_name(f[17]);
            CHECK_EQ_INT(rows[i].emotion, emotion);
            if (emotion >= 0)
                CHECK_NEAR(rows[i].confidence, atof(f[10 + emotion]), 1.5e-4);
            CHECK_NEAR(rows[i].x, atof(f[5]), 0.011);
            CHECK_NEAR(rows[i].w, atof(f[7]), 0.011);
            CHECK_NEAR(rows[i].t, atof(f[2]), 1e-3);
            matched++;
        }
    }
    free(out);
    CHECK_EQ_INT(matched, n);
    CHECK_EQ_INT(lines - 1, n);

    /* Accepting every prediction (moving the folders up) gives a dataset on
     * which the classifier that labelled it scores exactly 100%: eval reads
     * back the very pixels analyze classified. */
    for (int k = 0; k < ET_EMOTIONS; k++) {
        char from[800], to[800];
        snprintf(from, sizeof from, "%s/unlabelled/%s", dir, et_emotion_names[k]);
        snprintf(to, sizeof to, "%s/%s", dir, et_emotion_names[k]);
        CHECK(rename(from, to) == 0);
    }
    long samples;
    CHECK_NEAR(eval_accuracy(dir, NULL, &samples), 1.0, 1e-9);
    CHECK_EQ_INT(samples, n);
}

TEST(extract_sort_finetune_eval)
{
    const char *dir = test_path("set");
    char args[1500];
    double fps = cli_sanitized() ? 1 : 2;
    snprintf(args, sizeof args, "extract -q --fps %g -o %s " VIDEO, fps, dir);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    static index_row rows[MAX_ROWS];
    int n = read_index(dir, rows, MAX_ROWS);
    CHECK_MSG(n >= 18 * fps - 1 && n <= 18 * fps + 1, "%d crops for 18 s at %g frames/s", n, fps);
    REQUIRE(n > 0);

    /* Label by hand, as a user would: the example's segments say which
     * expression is shown when. */
    char *segments = file_read_text("examples/expressions.segments.csv");
    REQUIRE(segments);
    double start[16], end[16];
    int label[16], count = 0;
    char *save = NULL;
    for (char *line = strtok_r(segments, "\n", &save); line && count < 16; line = strtok_r(NULL, "\n", &save)) {
        char *f[4];
        if (split(line, f, 4) != 4 || et_emotion_from_name(f[2]) < 0)
            continue;
        start[count] = atof(f[0]);
        end[count] = atof(f[1]);
        label[count++] = et_emotion_from_name(f[2]);
    }
    free(segments);
    REQUIRE(count == 6);
    int moved = 0;
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < count; s++) {
            if (rows[i].t < start[s] || rows[i].t >= end[s])
                continue;
            char folder[800], from[1000], to[1200];
            snprintf(folder, sizeof folder, "%s/%s", dir, et_emotion_names[label[s]]);
            mkdir(folder, 0777);
            snprintf(from, sizeof from, "%s/%s", dir, rows[i].file);
            snprintf(to, sizeof to, "%s/%s", folder, strrchr(rows[i].file, '/') + 1);
            if (rename(from, to) == 0)
                moved++;
        }
    }
    CHECK_EQ_INT(moved, n);

    /* Fine-tune the shipped classifier for two epochs on it: it must fit
     * this (training) set better than before. */
    long samples0, samples1;
    double before = eval_accuracy(dir, NULL, &samples0);
    CHECK_EQ_INT(samples0, n);
    const char *tuned = test_path("tuned.safetensors");
    snprintf(args, sizeof args,
             "train --data %s --init weights/emotion-cnn.safetensors --out %s --epochs 2 --batch 12 --lr 0.01 "
             "--min-lr 0.01 --warmup 0 --no-augment --quiet",
             dir, tuned);
    char *err = NULL;
    int status = cli_run(args, NULL, &err);
    CHECK_MSG(status == 0, "train exited %d: %s", status, err ? err : "");
    free(err);
    double after = eval_accuracy(dir, tuned, &samples1);
    CHECK_EQ_INT(samples1, n);
    CHECK_MSG(before > 0.3 && after > before, "accuracy %.4f before fine-tuning, %.4f after", before, after);
}

TEST(extract_usage_errors)
{
    CHECK_EQ_INT(cli_run("extract " VIDEO, NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("extract -o /tmp/x", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("extract --fps 0 -o /tmp/x " VIDEO, NULL, NULL), 2);
    char args[800];
    snprintf(args, sizeof args, "extract -q -o %s %s/missing.mp4", test_path("set"), test_path(""));
    char *err = NULL;
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "missing.mp4"), "stderr: %s", err ? err : "");
    free(err);
}
