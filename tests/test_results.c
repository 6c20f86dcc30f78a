/* emotrace summary: reading results back (SQLite, CSV, JSON Lines) and the
 * per-track time accounting, against a file whose answer is known by hand
 * (tests/results_fixture.h) and against the README's SQL query on a real
 * analysis of the example video. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "emotrace/json.h"
#include "emotrace/results.h"
#include "results_fixture.h"
#include "test.h"

typedef struct {
    double first_t, last_t, on_screen;
    int frames;
    char dominant[16];
    double seconds, share, mean, peak, peak_t;
} summary_row;

/* The --csv row of track (prefix "path,track,") and emotion, the person
 * field after the prefix skipped; 0 if found. */
static int find_row(const char *csv, const char *prefix, const char *emotion, summary_row *r)
{
    size_t n = strlen(prefix);
    for (const char *line = csv; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, prefix, n) != 0)
            continue;
        char label[16];
        const char *after_person = strchr(line + n, ',');
        if (after_person && sscanf(after_person + 1, "%lf,%lf,%lf,%d,%15[^,],%15[^,],%lf,%lf,%lf,%lf,%lf", &r->first_t, &r->last_t,
                   &r->on_screen, &r->frames, r->dominant, label, &r->seconds, &r->share, &r->mean, &r->peak,
                   &r->peak_t) == 11 &&
            !strcmp(label, emotion))
            return 0;
    }
    return -1;
}

static void check_fixture_summary(const char *file)
{
    char args[1024], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "summary --csv '%s'", file);
    CHECK_EQ_INT(cli_run(args, &out, &err), 0);
    REQUIRE(out);
    summary_row r;
    CHECK_MSG(!strncmp(out, "path,track,person,first_t,last_t,on_screen,frames,dominant,emotion,", 67), "%s: header: %.80s",
              file, out);
    REQUIRE(find_row(out, "a.mp4,1,", "sad", &r) == 0);
    CHECK_NEAR(r.first_t, 0, 1e-9);
    CHECK_NEAR(r.last_t, 2.1, 1e-9);
    CHECK_NEAR(r.on_screen, 1.3, 1e-9);
    CHECK_EQ_INT(r.frames, 12);
    CHECK(!strcmp(r.dominant, "sad"));
    CHECK_NEAR(r.seconds, 0.7, 1e-9);
    CHECK_NEAR(r.share, 0.7 / 1.3, 1e-4);
    CHECK_NEAR(r.peak, 0.75, 1e-4);
    CHECK_NEAR(r.peak_t, 0.7, 1e-9);
    REQUIRE(find_row(out, "a.mp4,1,", "happy", &r) == 0);
    CHECK_NEAR(r.seconds, 0.4, 1e-9);
    CHECK_NEAR(r.peak, 0.9, 1e-4);
    CHECK_NEAR(r.peak_t, 0.2, 1e-9);
    /* Mean over 12 observations: 0.6 + 0.9 + 0.6 + 0.6 while happy; the
     * other 8 give (1 - main) / 6 with main 0.6 five times, 0.75, 0.6, 0.8. */
    CHECK_NEAR(r.mean, (2.7 + (5 * 0.4 + 0.25 + 0.4 + 0.2) / 6) / 12, 1e-4);
    REQUIRE(find_row(out, "a.mp4,1,", "surprise", &r) == 0);
    CHECK_NEAR(r.seconds, 0.2, 1e-9);
    CHECK_NEAR(r.peak_t, 2.1, 1e-9);
    REQUIRE(find_row(out, "a.mp4,1,", "angry", &r) == 0);
    CHECK_NEAR(r.seconds, 0, 1e-12);
    REQUIRE(find_row(out, "a.mp4,2,", "neutral", &r) == 0);
    CHECK_NEAR(r.on_screen, 0.1, 1e-9);
    CHECK_NEAR(r.share, 1, 1e-9);
    CHECK(!strcmp(r.dominant, "neutral"));
    REQUIRE(find_row(out, "\"b&c, d.mp4\",1,", "fear", &r) == 0);
    CHECK_NEAR(r.on_screen, 0.3, 1e-9);
    CHECK_NEAR(r.seconds, 0.2, 1e-9);
    CHECK_NEAR(r.peak, 0.7, 1e-4);
    CHECK_NEAR(r.peak_t, 0.2, 1e-9);
    CHECK(!strcmp(r.dominant, "fear"));
    /* 3 tracks x 7 emotions and the header. */
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    CHECK_EQ_INT(lines, 22);
    free(out);
    free(err);
}

TEST(results_summary_known_answer_all_formats)
{
    static const char *const names[] = {"fixture.sqlite", "fixture.csv", "fixture.jsonl"};
    for (int i = 0; i < 3; i++) {
        const char *file = test_path(names[i]);
        REQUIRE(results_fixture_write(file) == 0);
        check_fixture_summary(file);
    }
}

TEST(results_summary_json_and_table)
{
    const char *file = test_path("fixture.sqlite");
    REQUIRE(results_fixture_write(file) == 0);
    char args[1024], *out = NULL;
    snprintf(args, sizeof args, "summary --json '%s'", file);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    REQUIRE(out);
    et_json *root = NULL;
    REQUIRE(et_json_parse(out, strlen(out), &root) == 0);
    const et_json *media = et_json_get(root, "media");
    REQUIRE(media && media->count == 3);
    /* SQLite lists media by path, the one without faces too. */
    const et_json *a = et_json_at(media, 0), *empty = et_json_at(media, 2);
    CHECK(!strcmp(et_json_get_string(a, "path", ""), FIXTURE_A));
    CHECK_NEAR(et_json_get_number(a, "fps", 0), 10, 1e-9);
    CHECK(!strcmp(et_json_get_string(empty, "path", ""), FIXTURE_EMPTY));
    CHECK_EQ_INT(et_json_get(empty, "tracks")->count, 0);
    const et_json *track = et_json_at(et_json_get(a, "tracks"), 0);
    REQUIRE(track);
    CHECK_NEAR(et_json_get_number(track, "on_screen", 0), 1.3, 1e-9);
    CHECK(!strcmp(et_json_get_string(track, "dominant", ""), "sad"));
    const et_json *surprise = et_json_get(et_json_get(track, "emotions"), "surprise");
    CHECK_NEAR(et_json_get_number(surprise, "seconds", 0), 0.2, 1e-9);
    CHECK_NEAR(et_json_get_number(surprise, "peak", 0), 0.8, 1e-9);
    CHECK_NEAR(et_json_get_number(surprise, "peak_t", 0), 2.1, 1e-9);
    et_json_free(root);
    free(out);

    /* The table: one line per track with the shares, then the peaks. */
    snprintf(args, sizeof args, "summary '%s'", file);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    REQUIRE(out);
    CHECK(strstr(out, "a.mp4  (00:03.0, 640x360, 10 fps)  2 tracks\n"));
    CHECK(strstr(out, "     1  00:00.00  00:02.10      1.30 s  sad           0.0%     0.0%     0.0%    30.8%    53.8%"
                      "    15.4%     0.0%\n"));
    CHECK(strstr(out, "0.90 00:00.20"));
    CHECK(strstr(out, "empty.mp4  (00:03.0, 640x360, 10 fps)  0 tracks\n  no faces\n"));
    free(out);
}

TEST(results_summary_errors)
{
    char *err = NULL;
    const char *bad = test_path("bad.csv");
    FILE *f = fopen(bad, "w");
    REQUIRE(f);
    fputs("path,frame,t,track\nx.mp4,0,0.0,1\n", f);
    fclose(f);
    char args[1024];
    snprintf(args, sizeof args, "summary '%s'", bad);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "bad.csv: line 1: no column 'angry'"), "%s", err ? err : "");
    free(err);
    f = fopen(bad, "w");
    REQUIRE(f);
    fputs("path,t,track,angry,disgust,fear,happy,sad,surprise,neutral\nx.mp4,0.5,1,0,0,0,1,0,0,zero\n", f);
    fclose(f);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "bad.csv: line 2: neutral is 'zero', not a number"), "%s", err ? err : "");
    free(err);
    CHECK_EQ_INT(cli_run("summary /nonexistent/x.sqlite", NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "/nonexistent/x.sqlite"), "%s", err ? err : "");
    free(err);
    CHECK_EQ_INT(cli_run("summary results.txt", NULL, NULL), 1);
    CHECK_EQ_INT(cli_run("summary", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("summary --csv --json x.csv", NULL, NULL), 2);
}

/* A real analysis: the summary's seconds per track and emotion are the
 * README query's, and a track's seconds add up to the analysed time. */
TEST(results_summary_matches_readme_query)
{
    const char *db = test_path("real.sqlite");
    const char *end = cli_sanitized() ? "1" : "3";
    char args[1024], *out = NULL;
    snprintf(args, sizeof args, "analyze -q --end %s examples/expressions.mp4 -o '%s'", end, db);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    snprintf(args, sizeof args, "summary --csv '%s'", db);
    REQUIRE(cli_run(args, &out, NULL) == 0 && out);
    char command[2048];
    snprintf(command, sizeof command,
             "sqlite3 -csv '%s' \"WITH o AS (SELECT media_id, track_id, emotion, LEAD(t) OVER (PARTITION BY "
             "media_id, track_id ORDER BY t) - t AS dt FROM observations), step AS (SELECT media_id, MIN(dt) AS s "
             "FROM o WHERE dt > 0 GROUP BY media_id) SELECT o.track_id, o.emotion, "
             "SUM(MIN(COALESCE(o.dt, step.s), 2 * step.s)) FROM o JOIN step USING (media_id) "
             "GROUP BY o.media_id, o.track_id, o.emotion\"",
             db);
    int status;
    char *sql = shell_capture(command, &status);
    REQUIRE(sql && status == 0);
    int rows = 0;
    double total = 0;
    for (char *line = strtok(sql, "\n"); line; line = strtok(NULL, "\n")) {
        int track;
        char emotion[16], prefix[64];
        double seconds;
        if (sscanf(line, "%d,%15[^,],%lf", &track, emotion, &seconds) != 3)
            continue;
        snprintf(prefix, sizeof prefix, "examples/expressions.mp4,%d,", track);
        summary_row r;
        CHECK_MSG(find_row(out, prefix, emotion, &r) == 0, "no summary row for track %d %s", track, emotion);
        CHECK_NEAR(r.seconds, seconds, 1e-3);
        total += seconds;
        rows++;
    }
    CHECK(rows >= 1);
    /* One face all along, every frame of the 25 fps video from 0 to end:
     * each counts 0.04 s. */
    CHECK_NEAR(total, atof(end) + 0.04, 1e-6);
    free(sql);
    free(out);
}

/* Whether path exists. */
static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* Reading a finished database (summary, report, plot, merge's inputs)
 * leaves no -wal or -shm file beside it, and the one file holds it all: a
 * copy of it alone reads the same. */
TEST(results_readers_leave_the_database_one_file)
{
    const char *db = test_path("r.sqlite"), *copy = test_path("copy.sqlite");
    char args[2048], side[700], *out = NULL, *copied = NULL;
    snprintf(args, sizeof args, "analyze -q --end 1 examples/expressions.mp4 -o '%s'", db);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    const char *readers[] = {"summary '%s'", "summary --json '%s'", "report '%s' -o '%s/r.html'",
                             "plot '%s' -o '%s/r.svg'", "merge -q '%s/merged.sqlite' '%s'"};
    for (int i = 0; i < 5; i++) {
        char command[1024];
        snprintf(command, sizeof command, readers[i], i < 4 ? db : test_tmpdir(), i < 4 ? test_tmpdir() : db);
        CHECK_MSG(cli_run(command, NULL, NULL) == 0, "%s failed", command);
        for (int k = 0; k < 2; k++) {
            snprintf(side, sizeof side, "%s%s", db, k ? "-shm" : "-wal");
            CHECK_MSG(!exists(side), "%s left %s", command, side);
        }
    }
    snprintf(side, sizeof side, "%s/merged.sqlite-wal", test_tmpdir());
    CHECK_MSG(!exists(side), "merge left %s", side);
    REQUIRE(shell_runf("cp '%s' '%s'", db, copy) == 0);
    snprintf(args, sizeof args, "summary --csv '%s'", db);
    REQUIRE(cli_run(args, &out, NULL) == 0 && out);
    snprintf(args, sizeof args, "summary --csv '%s'", copy);
    REQUIRE(cli_run(args, &copied, NULL) == 0 && copied);
    char *tail = strchr(out, '\n'), *copied_tail = strchr(copied, '\n');
    CHECK(tail && strlen(tail) > 100);
    CHECK_MSG(tail && copied_tail && !strcmp(tail, copied_tail), "the copy reads:\n%s\nthe original:\n%s", copied,
              out);
    free(out);
    free(copied);
}
