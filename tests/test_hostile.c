/* Hostile and broken input (tests/fixtures/hostile plus files made here):
 * every bad file gets one error naming it, every other file is analysed,
 * the exit status is 1; an output that cannot be written gives a clear
 * error and leaves a sound database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_run.h"
#include "db_dump.h"
#include "test.h"

#define FACE "tests/fixtures/faces/Adam_Mair_0001.jpg"
#define HOSTILE "tests/fixtures/hostile"

static const char *const bad_files[] = {"empty.mp4",       "garbage.mkv",   "huge-header.png",
                                        "truncated.jpg",   "truncated.mp4", "truncated.png"};
#define BAD_COUNT (int)(sizeof bad_files / sizeof bad_files[0])

/* Names that break naive quoting in shells, CSV and SQL. */
static const char *const odd_names[] = {"a b.jpg", "q'uo\"te.jpg", "com,ma.jpg", "new\nline.jpg",
                                        "\xc3\xbcn\xc3\xaf\xe2\x82\xac.jpg"};
#define ODD_COUNT (int)(sizeof odd_names / sizeof odd_names[0])

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int ok = in && out;
    char buffer[8192];
    size_t n;
    while (ok && (n = fread(buffer, 1, sizeof buffer, in)) > 0)
        ok = fwrite(buffer, 1, n, out) == n;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* Counts the lines of err that start with "emotrace: " and contain name. */
static int error_lines(const char *err, const char *name)
{
    int n = 0;
    for (const char *line = err; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (!strncmp(line, "emotrace: ", 10)) {
            char copy[4096];
            snprintf(copy, sizeof copy, "%.*s", (int)len, line);
            n += strstr(copy, name) != NULL;
        }
        line = end ? end + 1 : NULL;
    }
    return n;
}

/* Runs as an unprivileged user when root (permissions mean nothing to root). */
static const char *as_user(void)
{
    return geteuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : "";
}

/* The binary by absolute path: the runs below work inside the scratch
 * directory, so that stored paths are short and relative. */
static const char *binary(void)
{
    static char path[4096];
    if (!realpath(cli_binary(), path))
        snprintf(path, sizeof path, "%s", cli_binary());
    return path;
}

/* The binary that as_user() runs. As root, a copy with the shipped weights
 * beside it in the scratch directory d (mode 755): the checkout may sit
 * where nobody else can read, such as /root (mode 700). */
static const char *user_binary(const char *d)
{
    static char path[4096];
    if (geteuid() != 0)
        return binary();
    snprintf(path, sizeof path, "%s/bin/emotrace", d);
    if (shell_runf("mkdir -p '%s/bin/weights' && cp '%s' '%s' && cp weights/*.safetensors '%s/bin/weights/' && "
                   "chmod -R a+rX '%s/bin'",
                   d, binary(), path, d, d) != 0)
        test_fail(__FILE__, __LINE__, "cannot copy the binary and weights into %s/bin", d);
    return path;
}

static void run_corpus(const char *d, int jobs)
{
    char cmd[4096], db[600], csv[600], errfile[600];
    snprintf(db, sizeof db, "%s/out/jobs%d.sqlite", d, jobs);
    snprintf(csv, sizeof csv, "%s/out/jobs%d.csv", d, jobs);
    snprintf(errfile, sizeof errfile, "%s/out/jobs%d.err", d, jobs);
    /* The glob passes every name, newline and all, as one argument. */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s'%s' analyze -q --stills --fps 5 --jobs %d -o '%s' corpus/* names/* locked 2> '%s'", d,
             as_user(), user_binary(d), jobs, db, errfile);
    CHECK_EQ_INT(shell_run(cmd), 1);
    char *err = file_read_text(errfile);
    REQUIRE(err);
    for (int i = 0; i < BAD_COUNT; i++)
        CHECK_MSG(error_lines(err, bad_files[i]) == 1, "jobs %d: %s: expected one error line in:\n%s", jobs,
                  bad_files[i], err);
    CHECK_MSG(error_lines(err, "locked") == 1, "jobs %d: locked: expected one error line in:\n%s", jobs, err);
    CHECK(strstr(err, "Permission denied") != NULL);
    CHECK(strstr(err, "header says 100000x100000 pixels") != NULL);
    free(err);

    char *integrity = db_integrity(db);
    CHECK(integrity && !strcmp(integrity, "ok\n"));
    free(integrity);
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM media WHERE status = 'failed' AND error <> ''"), BAD_COUNT + 1);
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM media WHERE status = 'done'"), ODD_COUNT + 2);
    /* One face in each photo; the clip has one per analysed frame. */
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM observations o JOIN media m ON m.id = o.media_id "
                              "WHERE m.path LIKE 'names/%'"),
                 ODD_COUNT);
    CHECK(db_count(db, "SELECT count(*) FROM observations o JOIN media m ON m.id = o.media_id "
                       "WHERE m.path = 'corpus/good.mp4'") >= 2);
    char *paths = db_paths(db);
    REQUIRE(paths);
    for (int i = 0; i < ODD_COUNT; i++) {
        char want[300];
        snprintf(want, sizeof want, "names/%s\n", odd_names[i]);
        CHECK_MSG(strstr(paths, want) != NULL, "jobs %d: path names/%s not stored as given", jobs, odd_names[i]);
    }
    free(paths);

    /* CSV: the same files, every path intact through RFC 4180 quoting (read
     * back by SQLite's own CSV import). */
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' analyze -q --stills --fps 5 --jobs %d -o '%s' corpus/* names/* 2> /dev/null",
             d, binary(), jobs, csv);
    CHECK_EQ_INT(shell_run(cmd), 1);
    int status = 0;
    snprintf(cmd, sizeof cmd, "sqlite3 :memory: -cmd \".import --csv '%s' t\" 'SELECT DISTINCT path FROM t ORDER BY path'",
             csv);
    char *from_csv = shell_capture(cmd, &status);
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"SELECT path FROM media WHERE status = 'done' ORDER BY path\"", db);
    char *from_db = shell_capture(cmd, &status);
    CHECK_MSG(from_csv && from_db && !strcmp(from_csv, from_db), "jobs %d: CSV paths:\n%s\nSQLite paths:\n%s", jobs,
              from_csv ? from_csv : "?", from_db ? from_db : "?");
    free(from_csv);
    free(from_db);
}

TEST(hostile_inputs_one_error_each_others_done)
{
    const char *d = test_tmpdir();
    char path[1200];
    REQUIRE(chmod(d, 0755) == 0);
    REQUIRE(shell_runf("mkdir -p '%s/corpus' '%s/names' '%s/locked' '%s/out' && chmod 777 '%s/out' && "
                       "cp %s/* '%s/corpus/' && cp %s '%s/corpus/good.jpg' && cp %s '%s/locked/' && "
                       "ffmpeg -v error -y -t 0.5 -i examples/expressions.mp4 -an -vf scale=320:180 -c:v libx264 "
                       "-preset ultrafast '%s/corpus/good.mp4' && chmod 000 '%s/locked'",
                       d, d, d, d, d, HOSTILE, d, FACE, d, FACE, d, d, d) == 0);
    for (int i = 0; i < ODD_COUNT; i++) {
        snprintf(path, sizeof path, "%s/names/%s", d, odd_names[i]);
        REQUIRE(copy_file(FACE, path) == 0);
    }
    run_corpus(d, 1);
    run_corpus(d, 2);
    chmod(path, 0644);
    snprintf(path, sizeof path, "%s/locked", d);
    chmod(path, 0755);
}

/* A file that disappears after the inputs were listed fails in its turn,
 * named; the files around it are done. Two jobs, two clips ahead of it. */
TEST(hostile_file_deleted_while_queued)
{
    const char *d = test_tmpdir();
    REQUIRE(shell_runf("cd '%s' && ffmpeg -v error -y -t 1 -i %s/examples/expressions.mp4 -an -vf scale=320:180 "
                       "-c:v libx264 -preset ultrafast a.mp4 && cp a.mp4 b.mp4 && cp %s/%s victim.jpg && "
                       "cp %s/%s z.jpg",
                       d, getcwd((char[1024]){0}, 1024), getcwd((char[1024]){0}, 1024), FACE,
                       getcwd((char[1024]){0}, 1024), FACE) == 0);
    /* The database appears once the inputs are listed: then the victim goes. */
    REQUIRE(shell_runf("cd '%s' && { '%s' analyze -q --jobs 2 -o out.sqlite a.mp4 b.mp4 victim.jpg z.jpg 2> err & "
                       "pid=$!; while [ ! -e out.sqlite ]; do sleep 0.01; done; rm victim.jpg; wait $pid; "
                       "echo $? > rc; }",
                       d, binary()) == 0);
    char path[700];
    snprintf(path, sizeof path, "%s/rc", d);
    char *rc = file_read_text(path);
    CHECK(rc && atoi(rc) == 1);
    free(rc);
    snprintf(path, sizeof path, "%s/err", d);
    char *err = file_read_text(path);
    REQUIRE(err);
    CHECK_MSG(error_lines(err, "victim.jpg") == 1 && strstr(err, "No such file"), "%s", err);
    free(err);
    snprintf(path, sizeof path, "%s/out.sqlite", d);
    CHECK_EQ_INT(db_count(path, "SELECT count(*) FROM media WHERE status = 'done'"), 3);
    CHECK_EQ_INT(db_count(path, "SELECT count(*) FROM media WHERE status = 'failed' AND path = 'victim.jpg'"), 1);
}

/* Outputs that cannot be written: a read-only directory, and a file size
 * limit (a full disk as the process sees it). A clear error naming the
 * output; what was committed before stays, sound and whole. */
TEST(hostile_output_unwritable_clear_error_sound_db)
{
    const char *d = test_tmpdir();
    char cmd[4096], *err = NULL;
    REQUIRE(chmod(d, 0755) == 0);
    REQUIRE(shell_runf("mkdir -p '%s/ro' '%s/imgs' && chmod 555 '%s/ro' && for i in 01 02 03 04 05 06 07 08 09 10 "
                       "11 12 13 14 15 16 17 18 19 20 21 22 23 24; do cp %s '%s/imgs/'f$i.jpg; done",
                       d, d, d, FACE, d) == 0);
    const char *outputs[] = {"ro/out.sqlite", "ro/out.csv", "ro/out.jsonl"};
    const char *user = user_binary(d);
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "cd '%s' && %s'%s' analyze -q -o %s imgs/f01.jpg 2>&1; echo \"rc=$?\"", d,
                 as_user(), user, outputs[i]);
        int status = 0;
        err = shell_capture(cmd, &status);
        CHECK_MSG(err && strstr(err, outputs[i]) && strstr(err, "Permission denied") && strstr(err, "rc=1"),
                  "%s: %s", outputs[i], err ? err : "?");
        free(err);
    }

    for (int jobs = 1; jobs <= 2; jobs++) {
        char db[700];
        snprintf(db, sizeof db, "%s/full%d.sqlite", d, jobs);
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' analyze -q -o full%d.sqlite imgs/f01.jpg", d, binary(), jobs);
        REQUIRE(shell_run(cmd) == 0);
        /* Ignoring SIGXFSZ turns the limit into EFBIG write errors. */
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && (trap '' XFSZ; ulimit -f 100; '%s' analyze -q --stills --jobs %d -o full%d.sqlite imgs) "
                 "2>&1; echo \"rc=$?\"",
                 d, binary(), jobs, jobs);
        int status = 0;
        err = shell_capture(cmd, &status);
        char name[32];
        snprintf(name, sizeof name, "full%d.sqlite", jobs);
        CHECK_MSG(err && strstr(err, name) && strstr(err, "rc=1"), "jobs %d: %s", jobs, err ? err : "?");
        free(err);
        char *integrity = db_integrity(db);
        CHECK(integrity && !strcmp(integrity, "ok\n"));
        free(integrity);
        /* The limit hit part way: some photos stored, each whole. */
        long long stored = db_count(db, "SELECT count(*) FROM media");
        CHECK(stored >= 1 && stored < 24);
        CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM media WHERE status <> 'done'"), 0);
        CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM observations"), stored);
        CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM tracks"), stored);
    }
}
