/* The SQLite store: written with et_sink_*, read back with plain SQL. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emotrace/error.h"
#include "emotrace/store.h"
#include "test.h"

enum { ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL }; /* FER2013 order */

static void tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", test_tmpdir(), name);
}

static et_media_info media(const char *path, int64_t size, int64_t mtime)
{
    et_media_info m = {0};
    m.path = path;
    m.size = size;
    m.mtime = mtime;
    m.duration = 10.0;
    m.fps = 25.0;
    m.width = 640;
    m.height = 480;
    return m;
}

/* A deterministic observation: frame i of track tr. */
static et_observation observation(int i, int tr)
{
    et_observation o = {0};
    o.frame = i;
    o.t = i / 25.0;
    o.track = tr;
    o.x = 10.5 + i;
    o.y = 20.25;
    o.w = 64;
    o.h = 72;
    o.score = 0.875;
    for (int k = 0; k < ET_EMOTIONS; k++)
        o.prob[k] = 0.05;
    o.prob[HAPPY] = 0.7;
    o.emotion = HAPPY;
    return o;
}

/* Writes one finished media file with n observations on tracks 1 and 2. */
static int write_media(et_sink *s, const char *path, int64_t size, int64_t mtime, int n)
{
    et_media_info m = media(path, size, mtime);
    int rc = et_sink_begin_media(s, &m);
    for (int i = 0; rc == ET_OK && i < n; i++) {
        et_observation o = observation(i, 1 + i % 2);
        rc = et_sink_write_observation(s, &o);
    }
    if (rc != ET_OK)
        return rc;
    et_track_summary tracks[2] = {{0}};
    for (int t = 0; t < 2; t++) {
        tracks[t].track = t + 1;
        tracks[t].first_t = t / 25.0;
        tracks[t].last_t = (n - 1) / 25.0;
        tracks[t].frames = n / 2;
        tracks[t].emotion = HAPPY;
        for (int k = 0; k < ET_EMOTIONS; k++)
            tracks[t].mean_prob[k] = 0.05;
        tracks[t].mean_prob[HAPPY] = 0.7;
    }
    m.frames_analyzed = n / 2;
    m.status = ET_MEDIA_DONE;
    return et_sink_end_media(s, &m, tracks, 2);
}

static sqlite3 *db_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* First column of the first row as an integer (-999 on error, -998 when no row). */
static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        int rc = sqlite3_step(st);
        v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : rc == SQLITE_DONE ? -998 : -999;
    } else {
        fprintf(stderr, "  SQL error: %s: %s\n", sql, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return v;
}

static double q_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    double v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* First column of the first row as text, "<null>" or "<none>". */
static const char *q_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *st = NULL;
    snprintf(out, size, "<none>");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(out, size, "%s", t ? (const char *)t : "<null>");
    }
    sqlite3_finalize(st);
    return out;
}

static int integrity_ok(sqlite3 *db)
{
    char buf[256];
    return !strcmp(q_text(db, "PRAGMA integrity_check", buf, sizeof buf), "ok");
}

TEST(store_sqlite_writes_and_reads_back)
{
    char path[512], buf[512];
    tmp_path(path, sizeof path, "out.sqlite");
    et_run_info run = {"9.9.9", "emotion-cnn.safetensors=abc123", "--fps 5 --min-face 40"};
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, &run) == ET_OK);
    CHECK(et_sink_format_of(s) == ET_SINK_SQLITE);

    CHECK(write_media(s, "videos/a.mp4", 1000, 1700000000, 30) == ET_OK);

    /* A file that could not even be opened. */
    et_media_info b = media("missing.mp4", 0, 0);
    b.duration = b.fps = 0;
    b.width = b.height = 0;
    CHECK(et_sink_fail_media(s, &b, "missing.mp4: No such file or directory") == ET_OK);

    /* A file that failed half way: its observations must go. */
    et_media_info c = media("broken.mp4", 500, 1600000000);
    CHECK(et_sink_begin_media(s, &c) == ET_OK);
    for (int i = 0; i < 5; i++) {
        et_observation o = observation(i, 1);
        CHECK(et_sink_write_observation(s, &o) == ET_OK);
    }
    c.frames_analyzed = 5;
    CHECK(et_sink_fail_media(s, &c, "broken.mp4: decode error at frame 5") == ET_OK);

    /* A still image: no duration, no fps. */
    et_media_info d = media("photo, \"1\".png", 42, 1500000000);
    d.duration = 0;
    d.fps = 0;
    CHECK(et_sink_begin_media(s, &d) == ET_OK);
    et_observation o = observation(0, 1);
    CHECK(et_sink_write_observation(s, &o) == ET_OK);
    d.frames_analyzed = 1;
    CHECK(et_sink_end_media(s, &d, NULL, 0) == ET_OK);
    /* WAL while the run writes, so that others can read meanwhile; one
     * file (a rollback journal) once it is closed. */
    sqlite3 *during = db_open(path);
    CHECK(during && !strcmp(q_text(during, "PRAGMA journal_mode", buf, sizeof buf), "wal"));
    sqlite3_close(during);
    CHECK(et_sink_close(s) == ET_OK);

    sqlite3 *db = db_open(path);
    REQUIRE(db);
    CHECK(integrity_ok(db));
    CHECK(!strcmp(q_text(db, "PRAGMA journal_mode", buf, sizeof buf), "delete"));
    CHECK_EQ_INT(q_int(db, "PRAGMA user_version"), 1);
    CHECK_EQ_INT(q_int(db, "PRAGMA application_id"), 0x454D4F54);

    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM runs"), 1);
    CHECK(!strcmp(q_text(db, "SELECT tool_version FROM runs", buf, sizeof buf), "9.9.9"));
    CHECK(!strcmp(q_text(db, "SELECT weights FROM runs", buf, sizeof buf),
                  "emotion-cnn.safetensors=abc123"));
    CHECK(!strcmp(q_text(db, "SELECT options FROM runs", buf, sizeof buf), "--fps 5 --min-face 40"));
    CHECK_EQ_INT(q_int(db, "SELECT started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T"
                           "[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z' FROM runs"),
                 1);

    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM media"), 4);
    CHECK(!strcmp(q_text(db, "SELECT status FROM media WHERE path = 'videos/a.mp4'", buf, sizeof buf),
                  "done"));
    CHECK_EQ_INT(q_int(db, "SELECT size FROM media WHERE path = 'videos/a.mp4'"), 1000);
    CHECK_EQ_INT(q_int(db, "SELECT mtime FROM media WHERE path = 'videos/a.mp4'"), 1700000000);
    CHECK_NEAR(q_double(db, "SELECT duration FROM media WHERE path = 'videos/a.mp4'"), 10.0, 1e-12);
    CHECK_NEAR(q_double(db, "SELECT fps FROM media WHERE path = 'videos/a.mp4'"), 25.0, 1e-12);
    CHECK_EQ_INT(q_int(db, "SELECT width * 10000 + height FROM media WHERE path = 'videos/a.mp4'"),
                 6400480);
    CHECK_EQ_INT(q_int(db, "SELECT frames_analyzed FROM media WHERE path = 'videos/a.mp4'"), 15);
    CHECK_EQ_INT(q_int(db, "SELECT error IS NULL FROM media WHERE path = 'videos/a.mp4'"), 1);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM media JOIN runs ON runs.id = media.run_id"), 4);

    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations JOIN media ON media.id = media_id "
                           "WHERE path = 'videos/a.mp4'"),
                 30);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations JOIN media ON media.id = media_id "
                           "WHERE path = 'videos/a.mp4' AND track_id = 2"),
                 15);
    const char *row7 = "FROM observations JOIN media ON media.id = media_id "
                       "WHERE path = 'videos/a.mp4' AND frame = 7";
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT track_id %s", row7);
    CHECK_EQ_INT(q_int(db, sql), 2);
    snprintf(sql, sizeof sql, "SELECT t %s", row7);
    CHECK_NEAR(q_double(db, sql), 7 / 25.0, 1e-12);
    snprintf(sql, sizeof sql, "SELECT x + y * 1000 %s", row7);
    CHECK_NEAR(q_double(db, sql), 17.5 + 20250, 1e-9);
    snprintf(sql, sizeof sql, "SELECT w * 1000 + h %s", row7);
    CHECK_NEAR(q_double(db, sql), 64072, 1e-9);
    snprintf(sql, sizeof sql, "SELECT score %s", row7);
    CHECK_NEAR(q_double(db, sql), 0.875, 1e-12);
    snprintf(sql, sizeof sql, "SELECT happy %s", row7);
    CHECK_NEAR(q_double(db, sql), 0.7, 1e-12);
    snprintf(sql, sizeof sql, "SELECT angry + disgust + fear + happy + sad + surprise + neutral %s",
             row7);
    CHECK_NEAR(q_double(db, sql), 1.0, 1e-9);
    snprintf(sql, sizeof sql, "SELECT emotion %s", row7);
    CHECK(!strcmp(q_text(db, sql, buf, sizeof buf), "happy"));

    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM tracks JOIN media ON media.id = media_id "
                           "WHERE path = 'videos/a.mp4'"),
                 2);
    CHECK(!strcmp(q_text(db, "SELECT emotion FROM tracks WHERE track = 2", buf, sizeof buf), "happy"));
    CHECK_NEAR(q_double(db, "SELECT happy FROM tracks WHERE track = 2"), 0.7, 1e-12);
    CHECK_NEAR(q_double(db, "SELECT last_t FROM tracks WHERE track = 2"), 29 / 25.0, 1e-12);
    CHECK_EQ_INT(q_int(db, "SELECT frames FROM tracks WHERE track = 2"), 15);

    /* Failures: a row with the error, nothing else. */
    CHECK(!strcmp(q_text(db, "SELECT status FROM media WHERE path = 'missing.mp4'", buf, sizeof buf),
                  "failed"));
    CHECK(!strcmp(q_text(db, "SELECT error FROM media WHERE path = 'missing.mp4'", buf, sizeof buf),
                  "missing.mp4: No such file or directory"));
    CHECK_EQ_INT(q_int(db, "SELECT duration IS NULL AND width IS NULL FROM media "
                           "WHERE path = 'missing.mp4'"),
                 1);
    CHECK(!strcmp(q_text(db, "SELECT status || ': ' || error FROM media WHERE path = 'broken.mp4'",
                         buf, sizeof buf),
                  "failed: broken.mp4: decode error at frame 5"));
    CHECK_EQ_INT(q_int(db, "SELECT frames_analyzed FROM media WHERE path = 'broken.mp4'"), 5);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations JOIN media ON media.id = media_id "
                           "WHERE status = 'failed'"),
                 0);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM tracks JOIN media ON media.id = media_id "
                           "WHERE status = 'failed'"),
                 0);

    /* The still image: unknown duration and fps are NULL. */
    CHECK_EQ_INT(q_int(db, "SELECT duration IS NULL AND fps IS NULL AND width = 640 FROM media "
                           "WHERE path = 'photo, \"1\".png'"),
                 1);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 31);

    /* Indexes for per-track and time-range queries, and the planner uses them. */
    CHECK(!strcmp(q_text(db, "SELECT group_concat(name, ',') FROM pragma_index_info('observations_track')",
                         buf, sizeof buf),
                  "media_id,track_id,t"));
    CHECK(!strcmp(q_text(db, "SELECT group_concat(name, ',') FROM pragma_index_info('observations_time')",
                         buf, sizeof buf),
                  "media_id,t"));
    sqlite3_stmt *st = NULL;
    int uses_track = 0, uses_time = 0;
    if (sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT * FROM observations WHERE media_id = 1 "
                               "AND track_id = 2 ORDER BY t", -1, &st, NULL) == SQLITE_OK)
        while (sqlite3_step(st) == SQLITE_ROW)
            uses_track |= strstr((const char *)sqlite3_column_text(st, 3), "observations_track") != NULL;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN SELECT * FROM observations WHERE media_id = 1 "
                               "AND t BETWEEN 1 AND 2", -1, &st, NULL) == SQLITE_OK)
        while (sqlite3_step(st) == SQLITE_ROW)
            uses_time |= strstr((const char *)sqlite3_column_text(st, 3), "observations_") != NULL;
    sqlite3_finalize(st);
    CHECK(uses_track);
    CHECK(uses_time);
    sqlite3_close(db);
}

TEST(store_sqlite_reanalysis_replaces_rows)
{
    char path[512], buf[64];
    tmp_path(path, sizeof path, "out.db");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(write_media(s, "a.mp4", 100, 1, 10) == ET_OK);
    CHECK(write_media(s, "b.mp4", 100, 1, 4) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);

    /* A second run redoes a.mp4 (the file changed) with fewer frames. */
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(write_media(s, "a.mp4", 200, 2, 6) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);

    sqlite3 *db = db_open(path);
    REQUIRE(db);
    CHECK(integrity_ok(db));
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM runs"), 2);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM media WHERE path = 'a.mp4'"), 1);
    CHECK_EQ_INT(q_int(db, "SELECT size FROM media WHERE path = 'a.mp4'"), 200);
    CHECK_EQ_INT(q_int(db, "SELECT run_id FROM media WHERE path = 'a.mp4'"), 2);
    CHECK_EQ_INT(q_int(db, "SELECT run_id FROM media WHERE path = 'b.mp4'"), 1);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations JOIN media ON media.id = media_id "
                           "WHERE path = 'a.mp4'"),
                 6);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations JOIN media ON media.id = media_id "
                           "WHERE path = 'b.mp4'"),
                 4);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 10);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM tracks"), 4);
    /* No orphans left by the replacement. */
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations WHERE media_id NOT IN (SELECT id FROM media)"), 0);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM tracks WHERE media_id NOT IN (SELECT id FROM media)"), 0);
    (void)buf;
    sqlite3_close(db);

    /* A failed redo also replaces the earlier result. */
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    et_media_info m = media("b.mp4", 100, 3);
    CHECK(et_sink_fail_media(s, &m, "b.mp4: truncated") == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);
    db = db_open(path);
    REQUIRE(db);
    CHECK(!strcmp(q_text(db, "SELECT status FROM media WHERE path = 'b.mp4'", buf, sizeof buf),
                  "failed"));
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 6);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM tracks"), 2);
    sqlite3_close(db);
}

TEST(store_sqlite_resume_check)
{
    char path[512];
    tmp_path(path, sizeof path, "resume.sqlite");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(write_media(s, "done.mp4", 1234, 1700000000, 4) == ET_OK);
    et_media_info f = media("failed.mp4", 99, 1700000000);
    CHECK(et_sink_fail_media(s, &f, "nope") == ET_OK);
    CHECK_EQ_INT(et_sink_media_done(s, "done.mp4", 1234, 1700000000), 1);
    CHECK(et_sink_close(s) == ET_OK);

    /* And from a later run. */
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK_EQ_INT(et_sink_media_done(s, "done.mp4", 1234, 1700000000), 1);
    CHECK_EQ_INT(et_sink_media_done(s, "done.mp4", 1235, 1700000000), 0);
    CHECK_EQ_INT(et_sink_media_done(s, "done.mp4", 1234, 1700000001), 0);
    CHECK_EQ_INT(et_sink_media_done(s, "./done.mp4", 1234, 1700000000), 0);
    CHECK_EQ_INT(et_sink_media_done(s, "failed.mp4", 99, 1700000000), 0);
    CHECK_EQ_INT(et_sink_media_done(s, "never.mp4", 1, 1), 0);

    /* A media file that is begun but not ended does not count. */
    et_media_info m = media("open.mp4", 5, 5);
    CHECK(et_sink_begin_media(s, &m) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK_EQ_INT(et_sink_media_done(s, "open.mp4", 5, 5), 0);
    CHECK(et_sink_close(s) == ET_OK);

    /* Text sinks never claim anything is done. */
    tmp_path(path, sizeof path, "resume.csv");
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK_EQ_INT(et_sink_media_done(s, "done.mp4", 1234, 1700000000), 0);
    CHECK(et_sink_close(s) == ET_OK);
}

/* Another process can read while a media file is being written, and sees
 * only finished files. */
TEST(store_sqlite_readers_see_only_finished_media)
{
    char path[512];
    tmp_path(path, sizeof path, "live.sqlite");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(write_media(s, "first.mp4", 1, 1, 8) == ET_OK);
    et_media_info m = media("second.mp4", 1, 1);
    CHECK(et_sink_begin_media(s, &m) == ET_OK);
    for (int i = 0; i < 50; i++) {
        et_observation o = observation(i, 1);
        CHECK(et_sink_write_observation(s, &o) == ET_OK);
    }
    sqlite3 *db = db_open(path);
    REQUIRE(db);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM media"), 1);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 8);
    m.frames_analyzed = 50;
    CHECK(et_sink_end_media(s, &m, NULL, 0) == ET_OK);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 58);
    sqlite3_close(db);
    CHECK(et_sink_close(s) == ET_OK);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A process killed in the middle of a media file leaves a valid database
 * without any trace of that file. */
TEST(store_sqlite_crash_mid_media_leaves_no_trace)
{
    char path[512], wal[600];
    tmp_path(path, sizeof path, "crash.sqlite");
    snprintf(wal, sizeof wal, "%s-wal", path);
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(write_media(s, "kept.mp4", 1, 1, 20) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);

    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        et_sink *c = NULL;
        if (et_sink_open(&c, path, NULL, NULL) != ET_OK)
            _exit(2);
        et_media_info m = media("killed.mp4", 1, 1);
        if (et_sink_begin_media(c, &m) != ET_OK)
            _exit(3);
        /* Enough rows to spill out of the page cache into the WAL file. */
        for (int i = 0; i < 40000; i++) {
            et_observation o = observation(i, i % 3);
            if (et_sink_write_observation(c, &o) != ET_OK)
                _exit(4);
        }
        raise(SIGKILL);
        _exit(5);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %#x", status);
    CHECK_MSG(file_size(wal) > 100000, "WAL holds %lld bytes; the crash came too early to matter",
              (long long)file_size(wal));

    sqlite3 *db = db_open(path);
    REQUIRE(db);
    CHECK(integrity_ok(db));
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM media"), 1);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM media WHERE path = 'killed.mp4'"), 0);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 20);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM tracks"), 2);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM runs"), 2); /* the killed run did start */
    sqlite3_close(db);

    /* The database is usable: redo the killed file. */
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK_EQ_INT(et_sink_media_done(s, "killed.mp4", 1, 1), 0);
    CHECK(write_media(s, "killed.mp4", 1, 1, 6) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);
    db = db_open(path);
    REQUIRE(db);
    CHECK(integrity_ok(db));
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 26);
    sqlite3_close(db);
}

/* A write that fails in the middle of a media file (here: the file size
 * limit, which SQLite sees like a full disk) rolls the file back. */
TEST(store_sqlite_disk_full_rolls_back)
{
    char path[512], msg_path[512];
    tmp_path(path, sizeof path, "full.sqlite");
    tmp_path(msg_path, sizeof msg_path, "message.txt");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(write_media(s, "kept.mp4", 1, 1, 20) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);

    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {512 * 1024, 512 * 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
        et_sink *c = NULL;
        if (et_sink_open(&c, path, NULL, NULL) != ET_OK)
            _exit(2);
        et_media_info m = media("toolarge.mp4", 1, 1);
        int rc = et_sink_begin_media(c, &m);
        for (int i = 0; rc == ET_OK && i < 100000; i++) {
            et_observation o = observation(i, 1);
            rc = et_sink_write_observation(c, &o);
        }
        if (rc == ET_OK)
            rc = et_sink_end_media(c, &m, NULL, 0);
        FILE *f = fopen(msg_path, "w");
        if (f) {
            fprintf(f, "%d %s", rc, et_error_message());
            fclose(f);
        }
        /* Later calls repeat the error instead of writing on. */
        int again = et_sink_begin_media(c, &m);
        et_sink_close(c);
        _exit(rc == ET_OK ? 3 : again == rc ? 0 : 4);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    char msg[1100] = "";
    FILE *f = fopen(msg_path, "r");
    if (f) {
        size_t n = fread(msg, 1, sizeof msg - 1, f);
        msg[n] = '\0';
        fclose(f);
    }
    CHECK_MSG(strstr(msg, path) != NULL, "message does not name the database: %s", msg);
    CHECK_MSG(strstr(msg, "toolarge.mp4") != NULL, "message does not name the media: %s", msg);

    sqlite3 *db = db_open(path);
    REQUIRE(db);
    CHECK(integrity_ok(db));
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM media"), 1);
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 20);
    sqlite3_close(db);
}

static int make_db(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

TEST(store_sqlite_refuses_other_schemas)
{
    char path[512], buf[64];
    et_sink *s = NULL;

    /* Somebody else's database is left alone, not even switched to WAL. */
    tmp_path(path, sizeof path, "other.sqlite");
    REQUIRE(make_db(path, "CREATE TABLE media (name TEXT); INSERT INTO media VALUES ('x');") == SQLITE_OK);
    CHECK(et_sink_open(&s, path, NULL, NULL) == ET_ERR_FORMAT);
    CHECK(s == NULL);
    CHECK(strstr(et_error_message(), path) != NULL);
    CHECK(strstr(et_error_message(), "not an emotrace results database") != NULL);
    sqlite3 *db = db_open(path);
    REQUIRE(db);
    CHECK(!strcmp(q_text(db, "PRAGMA journal_mode", buf, sizeof buf), "delete"));
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM sqlite_master"), 1);
    sqlite3_close(db);

    /* A newer schema version is refused. */
    tmp_path(path, sizeof path, "newer.sqlite");
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(write_media(s, "a.mp4", 1, 1, 2) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);
    REQUIRE(make_db(path, "PRAGMA user_version = 7") == SQLITE_OK);
    CHECK(et_sink_open(&s, path, NULL, NULL) == ET_ERR_FORMAT);
    CHECK(strstr(et_error_message(), path) != NULL);
    CHECK(strstr(et_error_message(), "newer") != NULL);
    CHECK(strstr(et_error_message(), "version 7") != NULL);

    /* Our id and version, but a table lacks a column. */
    tmp_path(path, sizeof path, "damaged.sqlite");
    REQUIRE(make_db(path, "PRAGMA application_id = 1162694484; PRAGMA user_version = 1;"
                          "CREATE TABLE runs (id, started_at, tool_version, weights, options);"
                          "CREATE TABLE media (id, path, size);") == SQLITE_OK);
    CHECK(et_sink_open(&s, path, NULL, NULL) == ET_ERR_FORMAT);
    CHECK(strstr(et_error_message(), path) != NULL);
    CHECK(strstr(et_error_message(), "table media has no column mtime") != NULL);

    /* Not SQLite at all. */
    tmp_path(path, sizeof path, "text.db");
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    for (int i = 0; i < 100; i++)
        fputs("this is a text file, not a database\n", f);
    fclose(f);
    CHECK(et_sink_open(&s, path, NULL, NULL) == ET_ERR_FORMAT);
    CHECK(strstr(et_error_message(), path) != NULL);
    CHECK(strstr(et_error_message(), "not a database") != NULL);

    /* An empty file is a fine place to start. */
    tmp_path(path, sizeof path, "empty.db");
    f = fopen(path, "w");
    REQUIRE(f);
    fclose(f);
    CHECK(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);
}

TEST(store_sqlite_open_errors_name_the_file)
{
    char path[512];
    et_sink *s = NULL;
    snprintf(path, sizeof path, "%s/no/such/dir/out.sqlite", test_tmpdir());
    CHECK(et_sink_open(&s, path, NULL, NULL) < 0);
    CHECK(s == NULL);
    CHECK_MSG(strstr(et_error_message(), path) != NULL, "message: %s", et_error_message());
    CHECK_MSG(strstr(et_error_message(), "No such file or directory") != NULL, "message: %s",
              et_error_message());

    /* A read-only directory, new and existing databases. The check runs in
     * a child that drops root, which would ignore the permissions. */
    char dir[256], fresh[300], existing[300];
    snprintf(dir, sizeof dir, "/tmp/emotrace-test-ro-%d", (int)getpid());
    snprintf(fresh, sizeof fresh, "%s/new.sqlite", dir);
    snprintf(existing, sizeof existing, "%s/old.sqlite", dir);
    REQUIRE(mkdir(dir, 0755) == 0);
    if (et_sink_open(&s, existing, NULL, NULL) == ET_OK) {
        CHECK(write_media(s, "a.mp4", 1, 1, 4) == ET_OK);
        CHECK(et_sink_close(s) == ET_OK);
    }
    CHECK(chmod(dir, 0555) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(9);
        int bad = 0;
        et_sink *c = NULL;
        if (et_sink_open(&c, fresh, NULL, NULL) == ET_OK || !strstr(et_error_message(), fresh) ||
            !strstr(et_error_message(), "Permission denied"))
            bad |= 1;
        et_sink_close(c);
        c = NULL;
        int rc = et_sink_open(&c, existing, NULL, NULL);
        if (rc == ET_OK) {
            et_media_info m = media("b.mp4", 1, 1);
            rc = et_sink_begin_media(c, &m);
        }
        if (rc == ET_OK || !strstr(et_error_message(), existing) ||
            !strstr(et_error_message(), "Permission denied"))
            bad |= 2;
        if (bad)
            fprintf(stderr, "  child: %s\n", et_error_message());
        et_sink_close(c);
        _exit(bad);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    sqlite3 *db = db_open(existing);
    if (db) {
        CHECK(integrity_ok(db));
        CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 4);
    }
    sqlite3_close(db);
    chmod(dir, 0755);
    unlink(fresh);
    unlink(existing);
    char side[320];
    snprintf(side, sizeof side, "%s-wal", existing);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", existing);
    unlink(side);
    CHECK(rmdir(dir) == 0);
}

/* Names that look like SQLite URIs are still plain file names. */
TEST(store_sqlite_uri_like_names_are_files)
{
    char cwd[4096];
    REQUIRE(getcwd(cwd, sizeof cwd));
    REQUIRE(chdir(test_tmpdir()) == 0);
    et_sink *s = NULL;
    int rc = et_sink_open(&s, "file:x.sqlite?mode=ro", "sqlite", NULL);
    if (rc == ET_OK)
        rc = write_media(s, "a.mp4", 1, 1, 2);
    et_sink_close(s);
    CHECK_MSG(rc == ET_OK, "%s", et_error_message());
    CHECK(access("file:x.sqlite?mode=ro", F_OK) == 0);
    CHECK(chdir(cwd) == 0);
}

TEST(store_sink_checks_call_order)
{
    char path[512];
    tmp_path(path, sizeof path, "order.sqlite");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    et_observation o = observation(0, 1);
    CHECK(et_sink_write_observation(s, &o) == ET_ERR_USAGE);
    et_media_info m = media("a.mp4", 1, 1);
    CHECK(et_sink_end_media(s, &m, NULL, 0) == ET_ERR_USAGE);
    CHECK(et_sink_begin_media(s, &m) == ET_OK);
    CHECK(et_sink_begin_media(s, &m) == ET_ERR_USAGE);
    o.emotion = 7;
    CHECK(et_sink_write_observation(s, &o) == ET_ERR_USAGE);
    CHECK(strstr(et_error_message(), "emotion index 7") != NULL);
    o.emotion = SAD;
    /* Usage errors leave the sink working. */
    CHECK(et_sink_write_observation(s, &o) == ET_OK);
    et_track_summary bad = {0};
    bad.emotion = -1;
    CHECK(et_sink_end_media(s, &m, &bad, 1) == ET_ERR_USAGE);
    m.status = ET_MEDIA_FAILED;
    m.error = "gave up";
    CHECK(et_sink_end_media(s, &m, NULL, 0) == ET_OK); /* failed status = fail_media */
    CHECK(et_sink_close(s) == ET_OK);
    CHECK(et_sink_close(NULL) == ET_OK);

    sqlite3 *db = db_open(path);
    REQUIRE(db);
    char buf[64];
    CHECK(!strcmp(q_text(db, "SELECT status || ' ' || error FROM media", buf, sizeof buf),
                  "failed gave up"));
    CHECK_EQ_INT(q_int(db, "SELECT count(*) FROM observations"), 0);
    sqlite3_close(db);
}
