/* analyze over many files: --jobs, crash safety (SIGKILL, SIGTERM, then
 * --resume), --shard and merge. Real clips cut from examples/expressions.mp4,
 * results read back from the databases and compared row by row. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_run.h"
#include "emotrace/clock.h"
#include "db_dump.h"
#include "test.h"

#define EXAMPLE "examples/expressions.mp4"

/* count copies of a short clip in dir/in (c01.mp4 ...), each a different
 * stretch of the example when distinct is set. */
static int make_clips(const char *dir, int count, int distinct)
{
    if (shell_runf("mkdir -p '%s/in'", dir) != 0)
        return -1;
    for (int i = 0; i < count; i++) {
        if (distinct || i == 0) {
            if (shell_runf("ffmpeg -v error -y -ss %d -t 0.6 -i %s -an -vf scale=320:180 -c:v libx264 -preset "
                           "ultrafast '%s/in/c%02d.mp4'",
                           distinct ? 2 * i + 1 : 3, EXAMPLE, dir, i + 1) != 0)
                return -1;
        } else if (shell_runf("cp '%s/in/c01.mp4' '%s/in/c%02d.mp4'", dir, dir, i + 1) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Starts "emotrace analyze -q --fps 5 --jobs 2 --threads 2 -o db [--resume] dir/in". */
static pid_t spawn_analyze(const char *dir, const char *db, int resume)
{
    char in[600];
    snprintf(in, sizeof in, "%s/in", dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        const char *binary = cli_binary();
        if (resume)
            execl(binary, binary, "analyze", "-q", "--fps", "5", "--jobs", "2", "--threads", "2", "-o", db,
                  "--resume", in, (char *)NULL);
        else
            execl(binary, binary, "analyze", "-q", "--fps", "5", "--jobs", "2", "--threads", "2", "-o", db, in,
                  (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? child_status_checked(WEXITSTATUS(status), "emotrace analyze") : 128 + WTERMSIG(status);
}

static void remove_db(const char *db)
{
    shell_runf("rm -f '%s' '%s-wal' '%s-shm' '%s-journal'", db, db, db, db);
}

/* Every media file in db is complete: the same rows as in the reference. */
static void check_only_complete_media(const char *db, const char *ref, int *count)
{
    char *integrity = db_integrity(db);
    CHECK_MSG(integrity && !strcmp(integrity, "ok\n"), "integrity_check of %s: %s", db,
              integrity ? integrity : "(unreadable)");
    free(integrity);
    *count = 0;
    /* Killed before its set-up transaction committed: no schema at all
     * (never a part of it), which --resume then creates. */
    if (db_count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'media'") == 0) {
        CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM sqlite_master"), 0);
        return;
    }
    char *paths = db_paths(db);
    REQUIRE(paths);
    for (char *line = strtok(paths, "\n"); line; line = strtok(NULL, "\n")) {
        char *got = db_dump(db, line), *want = db_dump(ref, line);
        CHECK_MSG(got && want && !strcmp(got, want), "%s: %s differs from the uninterrupted run", db, line);
        free(got);
        free(want);
        (*count)++;
    }
    free(paths);
}

/* SIGKILL at ten moments spread over a run of 20 files (the last one as
 * soon as a file is stored, so that one kill lands mid-run however loaded
 * the machine is): what is in the database is whole, and --resume completes
 * it to the uninterrupted rows. */
TEST(batch_sigkill_then_resume_equals_uninterrupted)
{
    const char *d = test_tmpdir();
    enum { FILES = 20, KILLS = 10 };
    REQUIRE(make_clips(d, FILES, 0) == 0);
    char ref[600], db[600];
    snprintf(ref, sizeof ref, "%s/ref.sqlite", d);
    snprintf(db, sizeof db, "%s/killed.sqlite", d);
    double t0 = et_now_seconds();
    REQUIRE(wait_status(spawn_analyze(d, ref, 0)) == 0);
    double run_time = et_now_seconds() - t0;
    CHECK_EQ_INT(db_count(ref, "SELECT count(*) FROM media WHERE status = 'done'"), FILES);
    char *want = db_dump(ref, NULL);
    REQUIRE(want);

    unsigned seed = 8;
    int partial = 0;
    for (int k = 0; k < KILLS; k++) {
        seed = seed * 1103515245u + 12345u;
        double at = run_time * (k + (seed >> 16) / 65536.0) / KILLS;
        remove_db(db);
        pid_t pid = spawn_analyze(d, db, 0);
        REQUIRE(pid > 0);
        if (k == KILLS - 1) {
            for (int i = 0; i < 5000 && db_count(db, "SELECT count(*) FROM media WHERE status = 'done'") < 1; i++)
                usleep(2000);
        } else {
            struct timespec ts = {(time_t)at, (long)((at - (time_t)at) * 1e9)};
            nanosleep(&ts, NULL);
        }
        kill(pid, SIGKILL);
        wait_status(pid);
        int kept = 0;
        if (access(db, F_OK) == 0)
            check_only_complete_media(db, ref, &kept);
        partial += kept > 0 && kept < FILES;
        CHECK_EQ_INT(wait_status(spawn_analyze(d, db, 1)), 0);
        char *got = db_dump(db, NULL);
        CHECK_MSG(got && !strcmp(got, want), "kill %d at %.3f s (%d files kept): resumed results differ", k, at,
                  kept);
        free(got);
    }
    /* At least the last kill fell inside the run. */
    CHECK(partial >= 1);
    free(want);
}

/* SIGTERM with two jobs: the files being analysed finish and are stored,
 * no new one starts, exit status 1; --resume does the rest. */
TEST(batch_sigterm_stops_after_current_files)
{
    const char *d = test_tmpdir();
    enum { FILES = 20 };
    REQUIRE(make_clips(d, FILES, 0) == 0);
    char db[600];
    snprintf(db, sizeof db, "%s/out.sqlite", d);
    pid_t pid = spawn_analyze(d, db, 0);
    REQUIRE(pid > 0);
    /* Once a file is stored the signal handlers are in place. */
    for (int i = 0; i < 3000 && db_count(db, "SELECT count(*) FROM media") < 1; i++)
        usleep(2000);
    kill(pid, SIGTERM);
    CHECK_EQ_INT(wait_status(pid), 1);
    char *integrity = db_integrity(db);
    CHECK(integrity && !strcmp(integrity, "ok\n"));
    free(integrity);
    long long stored = db_count(db, "SELECT count(*) FROM media");
    CHECK(stored >= 1 && stored < FILES);
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM media WHERE status <> 'done'"), 0);
    /* Identical clips: every stored file has the full set of rows. */
    long long per_file = db_count(db, "SELECT count(*) FROM observations o JOIN media m ON m.id = o.media_id "
                                      "WHERE m.id = (SELECT min(id) FROM media)");
    CHECK(per_file > 0);
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM observations"), per_file * stored);
    CHECK_EQ_INT(wait_status(spawn_analyze(d, db, 1)), 0);
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM media WHERE status = 'done'"), FILES);
    CHECK_EQ_INT(db_count(db, "SELECT count(*) FROM observations"), per_file * FILES);
}

/* Two jobs give the rows one job gives; text output keeps each file's rows
 * together. */
TEST(batch_jobs_same_rows_as_one_job)
{
    const char *d = test_tmpdir();
    REQUIRE(make_clips(d, 4, 1) == 0);
    char args[2048], one[600], two[600], *out = NULL;
    snprintf(one, sizeof one, "%s/one.sqlite", d);
    snprintf(two, sizeof two, "%s/two.sqlite", d);
    snprintf(args, sizeof args, "analyze -q --fps 5 --jobs 1 --threads 1 -o %s %s/in", one, d);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    snprintf(args, sizeof args, "analyze -q --fps 5 --jobs 2 --threads 2 -o %s %s/in", two, d);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    char *a = db_dump(one, NULL), *b = db_dump(two, NULL);
    REQUIRE(a && b);
    CHECK(db_count(one, "SELECT count(*) FROM observations") >= 8);
    CHECK_EQ_INT(db_count(two, "SELECT count(*) FROM media WHERE status = 'done'"), 4);
    CHECK(!strcmp(a, b));
    free(a);
    free(b);

    snprintf(args, sizeof args, "analyze -q --fps 5 --jobs 3 -o - %s/in", d);
    REQUIRE(cli_run(args, &out, NULL) == 0);
    REQUIRE(out);
    /* Rows of one file never interleave with another's: the path column
     * changes exactly three times. */
    int changes = 0, rows = 0;
    char previous[600] = "";
    for (char *line = strtok(strchr(out, '\n'), "\n"); line; line = strtok(NULL, "\n")) {
        char path[600];
        snprintf(path, sizeof path, "%.*s", (int)strcspn(line, ","), line);
        changes += rows > 0 && strcmp(path, previous) != 0;
        snprintf(previous, sizeof previous, "%s", path);
        rows++;
    }
    CHECK_EQ_INT(changes, 3);
    CHECK_EQ_INT(rows, db_count(one, "SELECT count(*) FROM observations"));
    free(out);
}

/* --shard 1/2 and 2/2 split the inputs whatever their order; merged they
 * equal the unsharded run; merging a path twice is refused and changes
 * nothing. */
TEST(batch_shards_merged_equal_unsharded)
{
    const char *d = test_tmpdir();
    REQUIRE(make_clips(d, 6, 1) == 0);
    char args[4096], all[600], s1[600], s2[600], s1r[600], merged[600], *err = NULL;
    snprintf(all, sizeof all, "%s/all.sqlite", d);
    snprintf(s1, sizeof s1, "%s/s1.sqlite", d);
    snprintf(s2, sizeof s2, "%s/s2.sqlite", d);
    snprintf(s1r, sizeof s1r, "%s/s1r.sqlite", d);
    snprintf(merged, sizeof merged, "%s/merged.sqlite", d);
    snprintf(args, sizeof args, "analyze -q --fps 5 --threads 1 -o %s %s/in", all, d);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    snprintf(args, sizeof args, "analyze -q --fps 5 --threads 1 --shard 1/2 -o %s %s/in", s1, d);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    snprintf(args, sizeof args, "analyze -q --fps 5 --threads 1 --shard 2/2 -o %s %s/in", s2, d);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    /* The same share from the files named in reverse order. */
    snprintf(args, sizeof args,
             "analyze -q --fps 5 --threads 1 --shard 1/2 -o %s $(ls -r %s/in/*.mp4)", s1r, d);
    REQUIRE(cli_run(args, NULL, NULL) == 0);
    char *p1 = db_paths(s1), *p1r = db_paths(s1r);
    REQUIRE(p1 && p1r);
    CHECK(!strcmp(p1, p1r));
    long long n1 = db_count(s1, "SELECT count(*) FROM media"), n2 = db_count(s2, "SELECT count(*) FROM media");
    CHECK(n1 >= 1 && n2 >= 1);
    CHECK_EQ_INT(n1 + n2, 6);
    free(p1);
    free(p1r);

    snprintf(args, sizeof args, "merge -q %s %s %s", merged, s1, s2);
    REQUIRE(cli_run(args, NULL, &err) == 0);
    CHECK_MSG(!err || !strstr(err, "warning"), "shards of one run: %s", err);
    free(err);
    err = NULL;
    char *a = db_dump(all, NULL), *m = db_dump(merged, NULL);
    REQUIRE(a && m);
    CHECK(!strcmp(a, m));
    CHECK_EQ_INT(db_count(merged, "SELECT count(*) FROM runs"), 2);
    /* Every row points to its own media and run. */
    CHECK_EQ_INT(db_count(merged, "SELECT count(*) FROM media WHERE run_id NOT IN (SELECT id FROM runs)"), 0);
    CHECK_EQ_INT(db_count(merged, "SELECT count(*) FROM observations o JOIN media m ON m.id = o.media_id"),
                 db_count(all, "SELECT count(*) FROM observations"));

    snprintf(args, sizeof args, "merge %s %s", merged, s2);
    CHECK_EQ_INT(cli_run(args, NULL, &err), 1);
    CHECK(err && strstr(err, "already in") && strstr(err, "c0"));
    char *after = db_dump(merged, NULL);
    CHECK(after && !strcmp(after, m));
    CHECK_EQ_INT(db_count(merged, "SELECT count(*) FROM runs"), 2);
    free(after);
    free(a);
    free(m);
    free(err);
    err = NULL;

    /* frames_dropped goes with its media; a shard made with other weights
     * is merged, with a warning. */
    char s3[600], merged2[600];
    snprintf(s3, sizeof s3, "%s/s3.sqlite", d);
    snprintf(merged2, sizeof merged2, "%s/merged2.sqlite", d);
    REQUIRE(shell_runf("cp '%s' '%s' && sqlite3 '%s' \"UPDATE media SET frames_dropped = 7; "
                       "UPDATE runs SET weights = 'cnn=00'\"",
                       s2, s3, s3) == 0);
    snprintf(args, sizeof args, "merge -q %s %s %s", merged2, s1, s3);
    REQUIRE(cli_run(args, NULL, &err) == 0);
    CHECK_MSG(err && strstr(err, "2 different sets of weights") && strstr(err, merged2), "%s", err);
    CHECK_EQ_INT(db_count(merged2, "SELECT count(*) FROM media WHERE frames_dropped = 7"), n2);
    CHECK_EQ_INT(db_count(merged2, "SELECT count(*) FROM media WHERE frames_dropped = 0"), n1);
    free(err);

    CHECK_EQ_INT(cli_run("analyze --shard 3/2 x.mp4", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("analyze --shard 1/2x x.mp4", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("analyze --jobs 0 x.mp4", NULL, NULL), 2);
    CHECK_EQ_INT(cli_run("merge only.sqlite", NULL, NULL), 2);
}
