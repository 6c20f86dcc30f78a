/* End-to-end tests of `emotrace analyze` on real decoded media, with the
 * shipped weights: results read back from SQLite, CSV and JSON Lines. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_run.h"
#include "db_dump.h"
#include "emotrace/emotion.h"
#include "emotrace/json.h"
#include "test.h"

#define FACE_A "tests/fixtures/faces/Adam_Mair_0001.jpg"
#define FACE_B "tests/fixtures/faces/Elton_John_0002.jpg"


/* Splits one RFC 4180 record starting at *p into fields (at most max);
 * returns the number of fields and advances *p past the line break. */
static int csv_record(const char **p, char fields[][512], int max)
{
    int n = 0;
    const char *s = *p;
    if (!*s)
        return 0;
    for (;;) {
        char *out = n < max ? fields[n] : NULL;
        size_t len = 0;
        if (*s == '"') {
            s++;
            while (*s && !(*s == '"' && s[1] != '"')) {
                if (*s == '"')
                    s++;
                if (out && len < 511)
                    out[len++] = *s;
                s++;
            }
            if (*s == '"')
                s++;
        } else {
            while (*s && *s != ',' && *s != '\n' && *s != '\r') {
                if (out && len < 511)
                    out[len++] = *s;
                s++;
            }
        }
        if (out)
            out[len] = '\0';
        n++;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\r')
            s++;
        if (*s == '\n')
            s++;
        break;
    }
    *p = s;
    return n;
}

static char example_db[600];

static void remove_example_db(void)
{
    char path[700];
    const char *suffixes[3] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", example_db, suffixes[i]);
        remove(path);
    }
}

/* Analyses the example once (5 frames/s) and shares the database. */
static int example_analysed(void)
{
    static int done = -1;
    if (done >= 0)
        return done;
    snprintf(example_db, sizeof example_db, "/tmp/emotrace-test-example-%d.sqlite", (int)getpid());
    atexit(remove_example_db);
    char args[1024];
    snprintf(args, sizeof args, "analyze -q --fps 5 -o %s examples/expressions.mp4", example_db);
    char *err = NULL;
    int status = cli_run(args, NULL, &err);
    if (status != 0)
        fprintf(stderr, "  analyze exited %d: %s\n", status, err ? err : "");
    free(err);
    done = status == 0;
    return done;
}

TEST(analyze_example_sqlite_read_back)
{
    REQUIRE(example_analysed());
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open_v2(example_db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM media WHERE status = 'done'"), 1);
    CHECK_EQ_INT(db_number(db, "SELECT frames_analyzed FROM media"), 90); /* 18 s at 5 frames/s */
    CHECK_NEAR(db_number(db, "SELECT duration FROM media"), 18.0, 0.05);
    CHECK_EQ_INT(db_number(db, "SELECT width * 10000 + height FROM media"), 640 * 10000 + 360);
    double observations = db_number(db, "SELECT COUNT(*) FROM observations");
    CHECK_MSG(observations >= 85 && observations <= 90, "%g observations for 90 frames of one face", observations);
    /* Probabilities are distributions and the label is their argmax. */
    CHECK_NEAR(db_number(db, "SELECT MAX(ABS(angry+disgust+fear+happy+sad+surprise+neutral-1)) FROM observations"),
               0.0, 1e-3);
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM observations WHERE emotion NOT IN "
                                  "('angry','disgust','fear','happy','sad','surprise','neutral')"), 0);
    /* The label rule: where happy is the most probable and leads the
     * reported emotion by the margin, the reported emotion is happy. */
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM observations WHERE happy > angry AND happy > disgust AND "
                                  "happy > fear AND happy > sad AND happy > surprise AND happy > neutral AND "
                                  "happy >= 0.151 + CASE emotion WHEN 'angry' THEN angry WHEN 'disgust' THEN disgust "
                                  "WHEN 'fear' THEN fear WHEN 'sad' THEN sad WHEN 'surprise' THEN surprise "
                                  "WHEN 'neutral' THEN neutral ELSE 1 END"), 0);
    /* ... and the rule keeps the label from flickering: no more changes of
     * the reported emotion than of the argmax (the look-ahead has already
     * smoothed the probabilities). */
    CHECK(db_number(db, "SELECT COUNT(*) FROM observations a JOIN observations b ON b.track_id = a.track_id AND "
                           "b.frame = (SELECT MIN(frame) FROM observations c WHERE c.track_id = a.track_id AND "
                           "c.frame > a.frame) WHERE a.emotion <> b.emotion") <=
          db_number(db, "WITH m AS (SELECT track_id, frame, CASE MAX(angry,disgust,fear,happy,sad,surprise,neutral) "
                           "WHEN angry THEN 0 WHEN disgust THEN 1 WHEN fear THEN 2 WHEN happy THEN 3 WHEN sad THEN 4 "
                           "WHEN surprise THEN 5 ELSE 6 END AS top FROM observations) SELECT COUNT(*) FROM m a JOIN m b "
                           "ON b.track_id = a.track_id AND b.frame = (SELECT MIN(frame) FROM m c WHERE c.track_id = a.track_id "
                           "AND c.frame > a.frame) WHERE a.top <> b.top"));
    /* Timestamps follow the frame index at 25 frames/s. */
    CHECK_NEAR(db_number(db, "SELECT MAX(ABS(t - frame / 25.0)) FROM observations"), 0.0, 1e-6);
    /* Tracks summarise their observations. */
    CHECK(db_number(db, "SELECT COUNT(*) FROM tracks") >= 1);
    CHECK_EQ_INT(db_number(db, "SELECT SUM(frames) FROM tracks"), observations);
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM runs WHERE weights LIKE '%emotion-cnn=%'"), 1);
    /* The options that shape the results are recorded (--fps 5, defaults). */
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM runs WHERE options LIKE 'detector=short min_score=0 "
                                  "min_face=0 max_faces=0 max_gap=1 fps=5 %temporal=lstm lookahead=1 tta=none%'"), 1);
    CHECK_EQ_INT(db_number(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND "
                                  "name IN ('observations_track', 'observations_time')"), 2);
    sqlite3_close(db);
}

/* The six labelled 3-second segments of the example (see
 * examples/expressions.segments.csv): the majority label of each segment
 * must be right for at least 4 of them. The CNN reads the example's neutral
 * photo as sad and its surprised one as fear, and the look-ahead follows
 * the CNN (the causal LSTM, --lookahead 0, gets the neutral one: 5 of 6). */
TEST(analyze_example_segments_recovered)
{
    REQUIRE(example_analysed());
    char *segments = file_read_text("examples/expressions.segments.csv");
    REQUIRE(segments);
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open_v2(example_db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    const char *p = segments;
    char fields[4][512];
    int total = 0, right = 0;
    csv_record(&p, fields, 4); /* header */
    while (csv_record(&p, fields, 4) == 4) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT emotion FROM observations WHERE t >= %s + 0.5 AND t < %s GROUP BY emotion "
                 "ORDER BY COUNT(*) DESC LIMIT 1", fields[0], fields[1]);
        sqlite3_stmt *st = NULL;
        char majority[32] = "?";
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            snprintf(majority, sizeof majority, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        total++;
        right += !strcmp(majority, fields[2]);
        if (strcmp(majority, fields[2]) != 0)
            fprintf(stderr, "  segment %s-%s s: expected %s, majority %s\n", fields[0], fields[1], fields[2], majority);
    }
    CHECK_EQ_INT(total, 6);
    CHECK_MSG(right >= 4, "%d of %d segments right", right, total);
    sqlite3_close(db);
    free(segments);
}

TEST(analyze_csv_and_jsonl_parse_back)
{
    char *out = NULL, *err = NULL;
    int status = cli_run("analyze -q --fps 2 --end 4 -o - examples/expressions.mp4", &out, &err);
    CHECK_EQ_INT(status, 0);
    REQUIRE(out);
    const char *p = out;
    char fields[20][512];
    CHECK_EQ_INT(csv_record(&p, fields, 20), 18);
    CHECK(!strcmp(fields[0], "path") && !strcmp(fields[4], "person") && !strcmp(fields[17], "emotion") &&
          !strcmp(fields[10], "angry"));
    int rows = 0;
    while (*p) {
        int n = csv_record(&p, fields, 20);
        CHECK_EQ_INT(n, 18);
        CHECK(!strcmp(fields[0], "examples/expressions.mp4"));
        CHECK(!strcmp(fields[4], "1")); /* one face: one person */
        double sum = 0;
        for (int k = 10; k < 17; k++)
            sum += atof(fields[k]);
        CHECK_NEAR(sum, 1.0, 2e-3);
        CHECK(et_emotion_from_name(fields[17]) >= 0);
        rows++;
    }
    CHECK_MSG(rows >= 8 && rows <= 9, "%d rows for 4 s at 2 frames/s", rows);
    free(out);
    free(err);

    char args[1024];
    snprintf(args, sizeof args, "analyze -q --fps 2 --end 4 -o %s/out.jsonl examples/expressions.mp4", test_tmpdir());
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/out.jsonl", test_tmpdir());
    char *jsonl = file_read_text(path);
    REQUIRE(jsonl);
    int lines = 0;
    for (char *line = strtok(jsonl, "\n"); line; line = strtok(NULL, "\n")) {
        et_json *obj = NULL;
        CHECK(et_json_parse(line, strlen(line), &obj) == 0);
        if (!obj)
            continue;
        CHECK(!strcmp(et_json_get_string(obj, "path", ""), "examples/expressions.mp4"));
        CHECK(et_json_get(obj, "t") && et_json_get(obj, "track") && et_json_get(obj, "neutral"));
        CHECK(et_emotion_from_name(et_json_get_string(obj, "emotion", "?")) >= 0);
        et_json_free(obj);
        lines++;
    }
    CHECK_EQ_INT(lines, rows);
    free(jsonl);
}

/* A variable-frame-rate file: the reported t of each frame is the frame's
 * own timestamp, not index / rate. */
TEST(analyze_variable_frame_rate_timestamps)
{
    char cmd[2048], list[600], video[600];
    snprintf(list, sizeof list, "%s/list.txt", test_tmpdir());
    snprintf(video, sizeof video, "%s/vfr.mkv", test_tmpdir());
    FILE *f = fopen(list, "w");
    REQUIRE(f);
    /* Frame durations 0.1, 0.5, 0.2, 0.7, 0.3 s. */
    const double durations[5] = {0.1, 0.5, 0.2, 0.7, 0.3};
    fprintf(f, "ffconcat version 1.0\n");
    for (int i = 0; i < 5; i++)
        fprintf(f, "file '%s/%s'\nduration %.1f\n", getenv("PWD") ? getenv("PWD") : ".", FACE_A, durations[i]);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -y -f concat -safe 0 -i %s -vf scale=320:320,format=yuv420p -fps_mode vfr "
             "-c:v libx264 %s", list, video);
    REQUIRE(shell_run(cmd) == 0);
    /* The reference: each frame's timestamp as ffprobe reads it (the muxer
     * rounds the requested durations to its time base). */
    char probe[600];
    snprintf(probe, sizeof probe, "%s/probe.txt", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v -show_entries frame=best_effort_timestamp_time -of csv=p=0 %s > %s",
             video, probe);
    REQUIRE(shell_run(cmd) == 0);
    char *expected_text = file_read_text(probe);
    REQUIRE(expected_text);
    double expected[5];
    int expected_count = 0;
    for (char *line = strtok(expected_text, "\n"); line && expected_count < 5; line = strtok(NULL, "\n"))
        if (*line >= '0' && *line <= '9')
            expected[expected_count++] = atof(line);
    free(expected_text);
    REQUIRE(expected_count == 5);
    /* Irregular spacing, as made (0.1, 0.5, 0.2, 0.7 s give or take rounding). */
    CHECK(expected[2] - expected[1] > 0.4 && expected[3] - expected[2] < 0.3);
    char args[1024], *out = NULL;
    snprintf(args, sizeof args, "analyze -q --no-temporal -o - %s", video);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    REQUIRE(out);
    const char *p = out;
    char fields[20][512];
    csv_record(&p, fields, 20);
    int i = 0;
    while (*p && i < 5) {
        csv_record(&p, fields, 20);
        CHECK_NEAR(atof(fields[2]), expected[i], 0.0005);
        CHECK_EQ_INT(atoi(fields[1]), i);
        i++;
    }
    CHECK_EQ_INT(i, 5);
    free(out);
}

/* Two people side by side, drifting: two tracks, each keeping its id. */
TEST(analyze_two_faces_two_stable_tracks)
{
    char cmd[2048], video[600];
    snprintf(video, sizeof video, "%s/two.mp4", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -y -f lavfi -i color=c=gray:s=640x360:r=10:d=2 -loop 1 -i %s -loop 1 -i %s "
             "-filter_complex \"[1]scale=200:200[a];[2]scale=180:180[b];[0][a]overlay=x='40+10*t':y=60:shortest=1[t];"
             "[t][b]overlay=x='400-10*t':y=80:shortest=1,format=yuv420p\" -c:v libx264 -t 2 %s",
             FACE_A, FACE_B, video);
    REQUIRE(shell_run(cmd) == 0);
    char db[600], args[1024];
    snprintf(db, sizeof db, "%s/two.sqlite", test_tmpdir());
    snprintf(args, sizeof args, "analyze -q -o %s %s", db, video);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    sqlite3 *s = NULL;
    REQUIRE(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM tracks"), 2);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM observations"), 40);
    /* The left face is always one track, the right face the other. */
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(DISTINCT track_id) FROM observations WHERE x < 320"), 1);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(DISTINCT track_id) FROM observations WHERE x >= 320"), 1);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM (SELECT frame FROM observations GROUP BY frame "
                                 "HAVING COUNT(DISTINCT track_id) = 2)"), 20);
    sqlite3_close(s);
}

/* An image folder is one sequence in natural order (img2 before img10),
 * frame i at i / --image-fps; files that are not images are skipped with a
 * warning. */
TEST(analyze_image_folder_natural_order)
{
    char dir[600], cmd[2048];
    snprintf(dir, sizeof dir, "%s/frames", test_tmpdir());
    /* img1, img2: the face at 200 px; img10: the same face at 400 px. */
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && ffmpeg -nostdin -v error -y -i %s -vf scale=200:200,pad=500:500:150:150 %s/img1.png && "
             "cp %s/img1.png %s/img2.png && ffmpeg -nostdin -v error -y -i %s -vf scale=400:400,pad=500:500:50:50 "
             "%s/img10.png && echo notes > %s/notes.txt",
             dir, FACE_A, dir, dir, dir, FACE_A, dir, dir);
    REQUIRE(shell_run(cmd) == 0);
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "analyze --image-fps 2 --no-temporal -o - %s", dir);
    CHECK_EQ_INT(cli_run(args, &out, &err), 0);
    REQUIRE(out && err);
    CHECK(strstr(err, "notes.txt") != NULL);
    const char *p = out;
    char fields[20][512];
    double t[3] = {-1, -1, -1}, w[3] = {0, 0, 0};
    csv_record(&p, fields, 20);
    for (int i = 0; i < 3 && *p; i++) {
        csv_record(&p, fields, 20);
        t[i] = atof(fields[2]);
        w[i] = atof(fields[7]);
    }
    CHECK_NEAR(t[0], 0.0, 1e-6);
    CHECK_NEAR(t[1], 0.5, 1e-6);
    CHECK_NEAR(t[2], 1.0, 1e-6);
    CHECK_NEAR(w[1] / w[0], 1.0, 0.05);
    CHECK_NEAR(w[2] / w[0], 2.0, 0.2);
    free(out);
    free(err);
}

/* Broken inputs fail one by one, with their names; the others are done. */
TEST(analyze_corrupt_files_reported_others_done)
{
    char cmd[2048];
    const char *d = test_tmpdir();
    snprintf(cmd, sizeof cmd,
             "head -c 20000 /dev/urandom > %s/garbage.mp4 && head -c 3000 %s > %s/truncated.jpg && cp %s %s/good.jpg",
             d, FACE_A, d, FACE_A, d);
    REQUIRE(shell_run(cmd) == 0);
    char args[2048], *err = NULL, db[600];
    snprintf(db, sizeof db, "%s/out.sqlite", d);
    snprintf(args, sizeof args, "analyze -q -o %s %s/garbage.mp4 %s/good.jpg %s/truncated.jpg", db, d, d, d);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    REQUIRE(err);
    CHECK(strstr(err, "garbage.mp4") != NULL);
    CHECK(strstr(err, "truncated.jpg") != NULL);
    sqlite3 *s = NULL;
    REQUIRE(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM media WHERE status = 'done' AND path LIKE '%good.jpg'"), 1);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM media WHERE status = 'failed' AND error <> ''"), 2);
    CHECK_EQ_INT(db_number(s, "SELECT COUNT(*) FROM observations"), 1);
    sqlite3_close(s);
    free(err);
}

TEST(analyze_usage_errors_exit_2)
{
    CHECK_EQ_INT(cli_run("analyze", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("analyze --bogus x", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("analyze --fps -1 examples/expressions.mp4", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("analyze --resume -o - examples/expressions.mp4", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("no-such-command", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("--version", NULL, NULL), 0);
}
