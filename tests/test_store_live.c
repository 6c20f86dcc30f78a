/* The store in live mode: SQLite commits per interval at checkpoints (read
 * back through a second connection while the media is still open), and
 * media.frames_dropped, added to databases made before it existed. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_run.h"
#include "emotrace/error.h"
#include "emotrace/store.h"
#include "test.h"

static long long count(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        int rc = sqlite3_step(st);
        v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -998;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static et_observation face(int64_t frame)
{
    et_observation o;
    memset(&o, 0, sizeof o);
    o.frame = frame;
    o.t = frame / 25.0;
    o.track = 1;
    o.w = o.h = 100;
    o.score = 0.9;
    for (int k = 0; k < ET_EMOTIONS; k++)
        o.prob[k] = 1.0 / ET_EMOTIONS;
    o.emotion = 6;
    return o;
}

/* Begins a live source (commits every 0.05 s) and writes its frame 0. */
static int begin_live_with_one_face(et_sink *s, et_media_info *m)
{
    memset(m, 0, sizeof *m);
    m->path = "udp://127.0.0.1:5000";
    et_sink_set_commit_interval(s, 0.05);
    et_observation o = face(0);
    int rc = et_sink_begin_media(s, m);
    return rc == ET_OK ? et_sink_write_observation(s, &o) : rc;
}

TEST(store_sqlite_live_commits_at_checkpoints_per_interval)
{
    const char *path = test_path("live.sqlite");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    et_media_info m;
    REQUIRE(begin_live_with_one_face(s, &m) == ET_OK);
    m.frames_analyzed = 1;
    /* Too soon after the start: nothing is committed yet. */
    CHECK(et_sink_checkpoint(s, &m) == ET_OK);
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM media"), 0);
    struct timespec pause = {0, 80 * 1000000L};
    nanosleep(&pause, NULL);
    et_observation o = face(1);
    CHECK(et_sink_write_observation(s, &o) == ET_OK);
    m.frames_analyzed = 2;
    m.frames_dropped = 5;
    CHECK(et_sink_checkpoint(s, &m) == ET_OK);
    /* Now a reader sees both observations, under a row that says the
     * analysis is still going on. */
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM observations"), 2);
    CHECK_EQ_INT(count(path, "SELECT frames_analyzed * 100 + frames_dropped FROM media WHERE status = 'failed' "
                             "AND error LIKE 'live source still being analysed%'"), 205);
    /* The next rows go on in a new transaction, committed at the end. */
    o = face(2);
    CHECK(et_sink_write_observation(s, &o) == ET_OK);
    CHECK(et_sink_checkpoint(s, &m) == ET_OK);
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM observations"), 2);
    m.frames_analyzed = 3;
    m.frames_dropped = 9;
    m.status = ET_MEDIA_DONE;
    et_track_summary t;
    memset(&t, 0, sizeof t);
    t.track = 1;
    t.frames = 3;
    t.emotion = 6;
    CHECK(et_sink_end_media(s, &m, &t, 1) == ET_OK);
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM observations"), 3);
    CHECK_EQ_INT(count(path, "SELECT frames_analyzed * 100 + frames_dropped FROM media WHERE status = 'done' "
                             "AND error IS NULL"), 309);

    /* Without an interval (files), checkpoints never commit. */
    et_sink_set_commit_interval(s, 0);
    m.path = "file.mp4";
    m.frames_dropped = 0;
    REQUIRE(et_sink_begin_media(s, &m) == ET_OK);
    o = face(0);
    CHECK(et_sink_write_observation(s, &o) == ET_OK);
    nanosleep(&pause, NULL);
    CHECK(et_sink_checkpoint(s, &m) == ET_OK);
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM media WHERE path = 'file.mp4'"), 0);
    CHECK(et_sink_close(s) == ET_OK); /* abandoned: rolled back */
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM media"), 1);
}

TEST(store_sqlite_frames_dropped_added_to_older_databases)
{
    const char *path = test_path("old.sqlite");
    et_sink *s = NULL;
    et_media_info m;
    memset(&m, 0, sizeof m);
    m.path = "a.mp4";
    m.status = ET_MEDIA_DONE;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(et_sink_begin_media(s, &m) == ET_OK && et_sink_end_media(s, &m, NULL, 0) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);
    /* Make it a database of the build before the column existed. */
    char command[1200];
    snprintf(command, sizeof command, "sqlite3 %s 'ALTER TABLE media DROP COLUMN frames_dropped'", path);
    REQUIRE(shell_run(command) == 0);
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM pragma_table_info('media') WHERE name = 'frames_dropped'"), 0);

    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    m.path = "udp://127.0.0.1:5000";
    m.frames_dropped = 7;
    CHECK(et_sink_begin_media(s, &m) == ET_OK && et_sink_end_media(s, &m, NULL, 0) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);
    CHECK_EQ_INT(count(path, "SELECT frames_dropped FROM media WHERE path = 'a.mp4'"), 0);
    CHECK_EQ_INT(count(path, "SELECT frames_dropped FROM media WHERE path = 'udp://127.0.0.1:5000'"), 7);
    CHECK_EQ_INT(count(path, "PRAGMA user_version"), 1);
    /* An older build's INSERT, without the column, still works. */
    snprintf(command, sizeof command,
             "sqlite3 %s \"INSERT INTO media (path, size, mtime, frames_analyzed, status, run_id) "
             "VALUES ('b.mp4', 1, 1, 0, 'done', 1)\"",
             path);
    CHECK(shell_run(command) == 0);
    CHECK_EQ_INT(count(path, "SELECT frames_dropped FROM media WHERE path = 'b.mp4'"), 0);
}

/* A live source that fails keeps everything it wrote, also the rows since
 * the last commit, and gets its tracks under a failed row with the error;
 * a text sink keeps its lines too. */
TEST(store_live_failure_keeps_rows_and_tracks)
{
    const char *path = test_path("fail.sqlite");
    const char *csv = test_path("fail.csv");
    et_sink *sinks[2] = {NULL, NULL};
    REQUIRE(et_sink_open(&sinks[0], path, NULL, NULL) == ET_OK);
    REQUIRE(et_sink_open(&sinks[1], csv, NULL, NULL) == ET_OK);
    struct timespec pause = {0, 80 * 1000000L};
    for (int k = 0; k < 2; k++) {
        et_sink *s = sinks[k];
        et_media_info m;
        REQUIRE(begin_live_with_one_face(s, &m) == ET_OK);
        nanosleep(&pause, NULL);
        m.frames_analyzed = 1;
        CHECK(et_sink_checkpoint(s, &m) == ET_OK); /* commits frame 0 */
        et_observation o = face(1);
        CHECK(et_sink_write_observation(s, &o) == ET_OK); /* not committed yet */
        m.frames_analyzed = 2;
        m.frames_dropped = 3;
        m.status = ET_MEDIA_FAILED;
        m.error = "udp://127.0.0.1:5000: cannot read: Connection reset by peer";
        et_track_summary t;
        memset(&t, 0, sizeof t);
        t.track = 1;
        t.frames = 2;
        t.last_t = 0.04;
        t.emotion = 6;
        CHECK(et_sink_end_media(s, &m, &t, 1) == ET_OK);
        /* fail_media on a live source keeps its rows as well. */
        m.path = "rtsp://127.0.0.1/cam";
        m.status = ET_MEDIA_DONE;
        m.error = NULL;
        REQUIRE(et_sink_begin_media(s, &m) == ET_OK);
        o = face(0);
        CHECK(et_sink_write_observation(s, &o) == ET_OK);
        CHECK(et_sink_fail_media(s, &m, "rtsp://127.0.0.1/cam: interrupted") == ET_OK);
        CHECK(et_sink_close(s) == ET_OK);
    }
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM observations o JOIN media m ON m.id = o.media_id "
                             "WHERE m.path LIKE 'udp:%'"), 2);
    CHECK_EQ_INT(count(path, "SELECT frames_analyzed * 100 + frames_dropped FROM media WHERE path LIKE 'udp:%' "
                             "AND status = 'failed' AND error = 'udp://127.0.0.1:5000: cannot read: Connection "
                             "reset by peer'"), 203);
    CHECK_EQ_INT(count(path, "SELECT SUM(t.frames) FROM tracks t JOIN media m ON m.id = t.media_id "
                             "WHERE m.path LIKE 'udp:%' AND t.track = 1 AND t.emotion = 'neutral'"), 2);
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM observations o JOIN media m ON m.id = o.media_id "
                             "WHERE m.path LIKE 'rtsp:%' AND m.status = 'failed' AND m.error LIKE '%interrupted'"), 1);
    char *text = file_read_text(csv);
    int lines = 0;
    for (const char *p = text; p && *p; p++)
        lines += *p == '\n';
    CHECK_MSG(lines == 4, "%d lines (header and 3 rows expected):\n%s", lines, text ? text : "");
    free(text);
}
