/* The store in live mode: SQLite commits per interval at checkpoints (read
 * back through a second connection while the media is still open), and
 * media.frames_dropped, added to databases made before it existed. */
#include <sqlite3.h>
#include <stdio.h>
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

TEST(store_sqlite_live_commits_at_checkpoints_per_interval)
{
    const char *path = test_path("live.sqlite");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    et_media_info m;
    memset(&m, 0, sizeof m);
    m.path = "udp://127.0.0.1:5000";
    et_sink_set_commit_interval(s, 0.05);
    REQUIRE(et_sink_begin_media(s, &m) == ET_OK);
    et_observation o = face(0);
    CHECK(et_sink_write_observation(s, &o) == ET_OK);
    m.frames_analyzed = 1;
    /* Too soon after the start: nothing is committed yet. */
    CHECK(et_sink_checkpoint(s, &m) == ET_OK);
    CHECK_EQ_INT(count(path, "SELECT COUNT(*) FROM media"), 0);
    struct timespec pause = {0, 80 * 1000000L};
    nanosleep(&pause, NULL);
    o = face(1);
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
