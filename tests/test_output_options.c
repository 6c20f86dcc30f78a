/* The output options of analyze that the man page offers together, one
 * test per pair: each combination either works (every output written, each
 * the same as when asked for alone) or is refused at option parsing with
 * exit status 2. One second of the example keeps them quick. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "db_dump.h"
#include "test.h"

#define CLIP "examples/expressions.mp4"
/* 0 to 1 s of the 25 fps example: 26 frames, every one analysed. */
#define RANGE "--end 1"
#define RANGE_FRAMES 26

/* Lines in text. */
static int line_count(const char *text)
{
    int n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    return n;
}

/* Frames in a video file, counted by ffprobe decoding it (-1 on error). */
static int video_frames(const char *path)
{
    char command[1024];
    int status;
    snprintf(command, sizeof command,
             "ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "
             "'%s'",
             path);
    char *text = shell_capture(command, &status);
    int n = text && status == 0 ? atoi(text) : -1;
    free(text);
    return n;
}

/* The events of the same analysis asked for alone (--events only), with
 * extra options. */
static char *events_alone(const char *options)
{
    char args[1024];
    snprintf(args, sizeof args, "analyze -q %s " RANGE " " CLIP " -o '%s' --events '%s'", options, test_path("alone.csv"),
             test_path("alone.jsonl"));
    if (cli_run(args, NULL, NULL) != 0)
        return NULL;
    return file_read_text(test_path("alone.jsonl"));
}

TEST(output_annotate_with_events_both_written)
{
    char args[1024], *err = NULL;
    const char *db = test_path("out.sqlite"), *video = test_path("annotated.mp4"), *events = test_path("ev.jsonl");
    snprintf(args, sizeof args, "analyze -q " RANGE " " CLIP " -o '%s' --annotate '%s' --events '%s'", db, video,
             events);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 0);
    CHECK_MSG(!err || !*err, "%s", err ? err : "");
    free(err);
    CHECK_EQ_INT(video_frames(video), RANGE_FRAMES);
    CHECK_EQ_INT(db_count(db, "SELECT frames_analyzed FROM media"), RANGE_FRAMES);
    CHECK(db_count(db, "SELECT count(*) FROM observations") >= RANGE_FRAMES - 1);
    char *both = file_read_text(events), *alone = events_alone("");
    REQUIRE(both && alone);
    /* One face: it appears once ("from":null) and changes label or not. */
    CHECK_MSG(strstr(both, "\"from\":null") != NULL, "events: %s", both);
    /* The one face is person 1. */
    CHECK_MSG(strstr(both, "\"track\":1,\"person\":1,\"from\":") != NULL, "events: %s", both);
    CHECK_MSG(!strcmp(both, alone), "events with --annotate:\n%s\nalone:\n%s", both, alone);
    free(both);
    free(alone);
}

TEST(output_events_to_stdout_with_file_output)
{
    char args[1024], *out = NULL;
    const char *csv = test_path("out.csv");
    snprintf(args, sizeof args, "analyze -q " RANGE " " CLIP " -o '%s' --events -", csv);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    char *alone = events_alone(""), *rows = file_read_text(csv), *rows_alone = file_read_text(test_path("alone.csv"));
    REQUIRE(out && alone && rows && rows_alone);
    CHECK_MSG(*out && !strcmp(out, alone), "standard output:\n%s\n--events FILE:\n%s", out, alone);
    CHECK(line_count(rows) > RANGE_FRAMES / 2);
    CHECK_MSG(!strcmp(rows, rows_alone), "the CSV differs when the events go to standard output");
    free(out);
    free(alone);
    free(rows);
    free(rows_alone);
    /* Both on standard output cannot be told apart: refused. */
    CHECK_EQ_INT(cli_run("analyze --events - -o - " CLIP, NULL, NULL), 2);
}

TEST(output_annotate_with_stdout_results)
{
    char args[1024], *out = NULL;
    const char *video = test_path("annotated.mkv");
    snprintf(args, sizeof args, "analyze -q " RANGE " " CLIP " -o - --annotate '%s'", video);
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    CHECK(out && !strncmp(out, "path,", 5) && line_count(out) > RANGE_FRAMES / 2);
    CHECK_EQ_INT(video_frames(video), RANGE_FRAMES);
    free(out);
}

TEST(output_format_overrides_extension)
{
    char args[1024], *out = NULL;
    const char *file = test_path("results.txt");
    snprintf(args, sizeof args, "analyze -q " RANGE " " CLIP " -o '%s' --format jsonl", file);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    char *text = file_read_text(file);
    REQUIRE(text);
    CHECK_MSG(text[0] == '{' && line_count(text) > RANGE_FRAMES / 2, "%.200s", text);
    free(text);
    snprintf(args, sizeof args, "analyze -q " RANGE " " CLIP " -o - --format jsonl");
    CHECK_EQ_INT(cli_run(args, &out, NULL), 0);
    CHECK(out && out[0] == '{');
    free(out);
    /* SQLite cannot go to standard output. */
    CHECK_EQ_INT(cli_run("analyze --format sqlite -o - " CLIP, NULL, NULL), 2);
}

TEST(output_resume_with_annotate_and_events)
{
    char args[1024], *err = NULL;
    const char *db = test_path("out.sqlite"), *video = test_path("annotated.mp4"), *events = test_path("ev.jsonl");
    /* An input not yet in the database is analysed, drawn and reported. */
    snprintf(args, sizeof args, "analyze -q " RANGE " " CLIP " -o '%s' --resume --annotate '%s' --events '%s'", db,
             video, events);
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 0);
    CHECK_EQ_INT(video_frames(video), RANGE_FRAMES);
    char *text = file_read_text(events);
    CHECK(text && strstr(text, "\"from\":null"));
    free(text);
    /* Once done, --resume skips it: nothing to draw, and the error says why. */
    remove(video);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "annotated.mp4: not written") && strstr(err, "--resume"), "%s", err ? err : "");
    free(err);
    /* --resume needs SQLite: refused with a CSV or JSON Lines output. */
    snprintf(args, sizeof args, "analyze --resume -o '%s' " CLIP, test_path("out.csv"));
    CHECK_EQ_INT(cli_run(args, NULL, NULL), 2);
}
