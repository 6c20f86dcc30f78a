/* The SQLite result store.
 *
 * The tables and their columns are defined once, in schema.c
 * (include/emotrace/schema.h), and documented in the man page (OUTPUT,
 * SQLite), which tests/test_schema.c checks against that definition. A
 * failed file has no tracks and no observations; a failed live source keeps
 * what it stored, with its tracks (see below). Analysing a path again
 * replaces its rows (media, tracks, observations, persons) in one
 * transaction. Columns and tables added after the first release are added
 * to older databases when they are opened; older builds can still write to
 * them (they leave them NULL, or 0 for media.frames_dropped).
 *
 * The database is in WAL mode while a run writes, so other processes can
 * read meanwhile; closing switches it back to a rollback journal, so that
 * the finished database is one file that read-only readers leave alone. Each media file is one transaction (BEGIN IMMEDIATE when it
 * starts, COMMIT when it ends): after a crash a file is either completely
 * there or not at all. A live source (camera, network stream, pipe) has no
 * end: it is committed every commit interval instead (et_sink_checkpoint),
 * its media row saying 'failed' ("still being analysed") until it ends;
 * after a crash its observations so far stay, under that row. When it
 * fails (the stream breaks off), nothing is rolled back: it keeps all its
 * observations and gets its tracks, under a 'failed' row with the error. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emotrace/clock.h"
#include "emotrace/error.h"
#include "emotrace/schema.h"
#include "sink_internal.h"

#define PARAM(column) et_schema_param(ET_COL_##column)

#define BUSY_TIMEOUT_MS 10000

/* The reused statements; each binds its values as parameters. */
enum {
    ST_FIND_MEDIA,
    ST_DELETE_OBSERVATIONS,
    ST_DELETE_TRACKS,
    ST_DELETE_MEDIA,
    ST_INSERT_MEDIA,
    ST_UPDATE_MEDIA,
    ST_INSERT_OBSERVATION,
    ST_INSERT_TRACK,
    ST_MEDIA_DONE,
    ST_DELETE_PERSONS,
    ST_INSERT_PERSONS,
    ST_COUNT
};

/* The statements written out here; those that list a table's columns
 * are built from the schema (statement_build), NULL here. */
static const char *const statement_sql[ST_COUNT] = {
    [ST_FIND_MEDIA] = "SELECT id FROM media WHERE path = ?1",
    [ST_DELETE_OBSERVATIONS] = "DELETE FROM observations WHERE media_id = ?1",
    [ST_DELETE_TRACKS] = "DELETE FROM tracks WHERE media_id = ?1",
    [ST_DELETE_MEDIA] = "DELETE FROM media WHERE id = ?1",
    [ST_MEDIA_DONE] = "SELECT EXISTS (SELECT 1 FROM media WHERE path = ?1 AND size = ?2 "
                      "AND mtime = ?3 AND status = 'done')",
    [ST_DELETE_PERSONS] = "DELETE FROM persons WHERE media_id = ?1",
    /* Each observation lasts until its track's next one, at most two
     * sampling steps (the shortest positive time between observations of
     * a track in the file, else 1 / fps, else 0); the last one step. */
    /* The rows of the SELECT follow the persons columns: statement_build
     * puts "INSERT INTO persons (<columns>) " before it. */
    [ST_INSERT_PERSONS] =
        "WITH o AS (SELECT person, track_id, t, emotion, angry, disgust, fear, happy, sad, surprise, neutral, "
        "  LEAD(t) OVER (PARTITION BY track_id ORDER BY t) - t AS dt FROM observations WHERE media_id = ?1), "
        "step AS (SELECT COALESCE((SELECT MIN(dt) FROM o WHERE dt > 0), "
        "  (SELECT 1.0 / fps FROM media WHERE id = ?1 AND fps > 0), 0) AS s), "
        "d AS (SELECT o.*, MIN(COALESCE(dt, s), 2 * s) AS sec FROM o, step WHERE person IS NOT NULL), "
        "e AS (SELECT person, emotion, SUM(sec) AS sec FROM d GROUP BY person, emotion), "
        "m AS (SELECT person, AVG(angry) AS angry, AVG(disgust) AS disgust, AVG(fear) AS fear, AVG(happy) AS happy, "
        "  AVG(sad) AS sad, AVG(surprise) AS surprise, AVG(neutral) AS neutral FROM d GROUP BY person) "
        "SELECT ?1, person, ?2, MIN(t), MAX(t), SUM(sec), COUNT(DISTINCT track_id), COUNT(*), "
        "  (SELECT e.emotion FROM e JOIN m USING (person) WHERE e.person = d.person ORDER BY e.sec DESC, "
        "   CASE e.emotion WHEN 'angry' THEN m.angry WHEN 'disgust' THEN m.disgust WHEN 'fear' THEN m.fear "
        "   WHEN 'happy' THEN m.happy WHEN 'sad' THEN m.sad WHEN 'surprise' THEN m.surprise ELSE m.neutral END "
        "   DESC LIMIT 1), "
        "  COALESCE(SUM(CASE WHEN emotion = 'angry' THEN sec END) / NULLIF(SUM(sec), 0), 0), "
        "  COALESCE(SUM(CASE WHEN emotion = 'disgust' THEN sec END) / NULLIF(SUM(sec), 0), 0), "
        "  COALESCE(SUM(CASE WHEN emotion = 'fear' THEN sec END) / NULLIF(SUM(sec), 0), 0), "
        "  COALESCE(SUM(CASE WHEN emotion = 'happy' THEN sec END) / NULLIF(SUM(sec), 0), 0), "
        "  COALESCE(SUM(CASE WHEN emotion = 'sad' THEN sec END) / NULLIF(SUM(sec), 0), 0), "
        "  COALESCE(SUM(CASE WHEN emotion = 'surprise' THEN sec END) / NULLIF(SUM(sec), 0), 0), "
        "  COALESCE(SUM(CASE WHEN emotion = 'neutral' THEN sec END) / NULLIF(SUM(sec), 0), 0) "
        "FROM d GROUP BY person ORDER BY person",
};

typedef struct {
    et_sink base;
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    sqlite3_int64 run_id;
    sqlite3_int64 media_id; /* row of the media file being written */
    double last_commit;     /* monotonic seconds, for the live commit interval */
    char *doing;            /* "storing <its path>", for messages */
    int wal;                /* switched to WAL by us: back to a single file at close */
} sqlite_sink;

static int code_for(int rc)
{
    switch (rc & 0xFF) {
    case SQLITE_NOMEM: return ET_ERR_NOMEM;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return ET_ERR_FORMAT;
    default: return ET_ERR_IO;
    }
}

/* Sets the message for a failed SQLite call and rolls back any open
 * transaction, so that a half-written media file never stays behind. */
static int db_fail(sqlite_sink *s, int rc, const char *what)
{
    const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
    int err = s->db ? sqlite3_system_errno(s->db) : 0;
    int primary = rc & 0xFF;
    int code;
    if (err && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_FULL))
        code = et_error_set(code_for(rc), "%s: %s: %s (%s)", s->base.name, what, msg, strerror(err));
    else
        code = et_error_set(code_for(rc), "%s: %s: %s", s->base.name, what, msg);
    if (s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return code;
}

static int exec(sqlite_sink *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? ET_OK : db_fail(s, rc, what);
}

/* Runs a statement that returns no rows and resets it for reuse (before
 * any rollback, which should not find it still running). */
static int step_done(sqlite_sink *s, int which, const char *what)
{
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? ET_OK : db_fail(s, rc, what);
}

/* Binds a quantity that is NULL when unknown (zero, negative, NaN). */
static void bind_positive(sqlite3_stmt *st, int index, double v)
{
    if (v > 0)
        sqlite3_bind_double(st, index, v);
    else
        sqlite3_bind_null(st, index);
}

/* The columns that ST_INSERT_MEDIA and ST_UPDATE_MEDIA both set: all but
 * id, path and run_id. */
static void bind_media(sqlite3_stmt *st, const et_media_info *m, int done, const char *error)
{
    sqlite3_bind_int64(st, PARAM(MEDIA_SIZE), m->size);
    sqlite3_bind_int64(st, PARAM(MEDIA_MTIME), m->mtime);
    bind_positive(st, PARAM(MEDIA_DURATION), m->duration);
    bind_positive(st, PARAM(MEDIA_FPS), m->fps);
    if (m->width > 0 && m->height > 0) {
        sqlite3_bind_int(st, PARAM(MEDIA_WIDTH), m->width);
        sqlite3_bind_int(st, PARAM(MEDIA_HEIGHT), m->height);
    }
    sqlite3_bind_int64(st, PARAM(MEDIA_FRAMES_ANALYZED), m->frames_analyzed);
    sqlite3_bind_text(st, PARAM(MEDIA_STATUS), done ? "done" : "failed", -1, SQLITE_STATIC);
    if (!done)
        sqlite3_bind_text(st, PARAM(MEDIA_ERROR), error && *error ? error : "failed", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, PARAM(MEDIA_FRAMES_DROPPED), m->frames_dropped);
}

static int set_doing(sqlite_sink *s, const char *path)
{
    free(s->doing);
    size_t n = strlen(path) + sizeof "storing ";
    if (!(s->doing = malloc(n)))
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", s->base.name);
    snprintf(s->doing, n, "storing %s", path);
    return ET_OK;
}

/* Deletes the rows of one media file: its observations, tracks and, when
 * with_row, the media row itself. */
static int delete_media_rows(sqlite_sink *s, sqlite3_int64 id, int with_row, const char *what)
{
    int rc;
    sqlite3_bind_int64(s->st[ST_DELETE_PERSONS], 1, id);
    if ((rc = step_done(s, ST_DELETE_PERSONS, what)) != ET_OK)
        return rc;
    sqlite3_bind_int64(s->st[ST_DELETE_OBSERVATIONS], 1, id);
    if ((rc = step_done(s, ST_DELETE_OBSERVATIONS, what)) != ET_OK)
        return rc;
    sqlite3_bind_int64(s->st[ST_DELETE_TRACKS], 1, id);
    if ((rc = step_done(s, ST_DELETE_TRACKS, what)) != ET_OK)
        return rc;
    if (!with_row)
        return ET_OK;
    sqlite3_bind_int64(s->st[ST_DELETE_MEDIA], 1, id);
    return step_done(s, ST_DELETE_MEDIA, what);
}

/* Opens the media file's transaction, drops an earlier result for the same
 * path and inserts its row (as failed until end_media says otherwise). */
static int sqlite_begin_media(et_sink *sink, const et_media_info *media)
{
    sqlite_sink *s = (sqlite_sink *)sink;
    int rc = set_doing(s, media->path);
    if (rc != ET_OK)
        return rc;
    const char *what = s->doing;
    if ((rc = exec(s, "BEGIN IMMEDIATE", what)) != ET_OK)
        return rc;
    sqlite3_stmt *find = s->st[ST_FIND_MEDIA];
    sqlite3_bind_text(find, 1, media->path, -1, SQLITE_STATIC);
    int step = sqlite3_step(find);
    sqlite3_int64 old = step == SQLITE_ROW ? sqlite3_column_int64(find, 0) : 0;
    sqlite3_reset(find);
    sqlite3_clear_bindings(find);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = db_fail(s, step, what);
    if (rc == ET_OK && step == SQLITE_ROW)
        rc = delete_media_rows(s, old, 1, what);
    if (rc != ET_OK)
        return rc;
    sqlite3_stmt *ins = s->st[ST_INSERT_MEDIA];
    sqlite3_bind_text(ins, PARAM(MEDIA_PATH), media->path, -1, SQLITE_STATIC);
    bind_media(ins, media, 0, "analysis did not finish");
    sqlite3_bind_int64(ins, PARAM(MEDIA_RUN_ID), s->run_id);
    if ((rc = step_done(s, ST_INSERT_MEDIA, what)) != ET_OK)
        return rc;
    s->media_id = sqlite3_last_insert_rowid(s->db);
    s->last_commit = et_now_seconds();
    return ET_OK;
}

static int sqlite_write_observation(et_sink *sink, const et_observation *o)
{
    sqlite_sink *s = (sqlite_sink *)sink;
    sqlite3_stmt *st = s->st[ST_INSERT_OBSERVATION];
    sqlite3_bind_int64(st, PARAM(OBS_MEDIA_ID), s->media_id);
    sqlite3_bind_int64(st, PARAM(OBS_FRAME), o->frame);
    sqlite3_bind_double(st, PARAM(OBS_T), o->t);
    sqlite3_bind_int(st, PARAM(OBS_TRACK_ID), o->track);
    sqlite3_bind_double(st, PARAM(OBS_X), o->x);
    sqlite3_bind_double(st, PARAM(OBS_Y), o->y);
    sqlite3_bind_double(st, PARAM(OBS_W), o->w);
    sqlite3_bind_double(st, PARAM(OBS_H), o->h);
    sqlite3_bind_double(st, PARAM(OBS_SCORE), o->score);
    for (int i = 0; i < ET_EMOTIONS; i++)
        sqlite3_bind_double(st, PARAM(OBS_PROB) + i, o->prob[i]);
    sqlite3_bind_text(st, PARAM(OBS_EMOTION), et_emotion_names[o->emotion], -1, SQLITE_STATIC);
    if (o->person > 0)
        sqlite3_bind_int(st, PARAM(OBS_PERSON), o->person);
    return step_done(s, ST_INSERT_OBSERVATION, s->doing);
}

/* Updates the media row from m and commits the media file's transaction. */
static int finish_media(sqlite_sink *s, const et_media_info *m, int done, const char *error,
                        const char *what)
{
    sqlite3_stmt *up = s->st[ST_UPDATE_MEDIA];
    sqlite3_bind_int64(up, PARAM(MEDIA_ID), s->media_id);
    bind_media(up, m, done, error);
    int rc = step_done(s, ST_UPDATE_MEDIA, what);
    if (rc != ET_OK)
        return rc;
    return exec(s, "COMMIT", what);
}

/* Live sources: commit what there is and go on in a new transaction. The
 * row says failed until the end, so that a killed run is not taken for a
 * finished one (and --resume analyses it again). */
static int sqlite_checkpoint(et_sink *sink, const et_media_info *progress)
{
    sqlite_sink *s = (sqlite_sink *)sink;
    if (s->base.commit_interval <= 0 || et_now_seconds() - s->last_commit < s->base.commit_interval)
        return ET_OK;
    int rc = finish_media(s, progress, 0, "live source still being analysed (or its run was killed)", s->doing);
    if (rc == ET_OK)
        rc = exec(s, "BEGIN IMMEDIATE", s->doing);
    s->last_commit = et_now_seconds();
    return rc;
}

static int sqlite_end_media(et_sink *sink, const et_media_info *final, const et_track_summary *tracks,
                            int ntracks)
{
    sqlite_sink *s = (sqlite_sink *)sink;
    const char *what = s->doing;
    sqlite3_stmt *st = s->st[ST_INSERT_TRACK];
    for (int i = 0; i < ntracks; i++) {
        const et_track_summary *t = &tracks[i];
        sqlite3_bind_int64(st, PARAM(TRACKS_MEDIA_ID), s->media_id);
        sqlite3_bind_int(st, PARAM(TRACKS_TRACK), t->track);
        sqlite3_bind_double(st, PARAM(TRACKS_FIRST_T), t->first_t);
        sqlite3_bind_double(st, PARAM(TRACKS_LAST_T), t->last_t);
        sqlite3_bind_int64(st, PARAM(TRACKS_FRAMES), t->frames);
        sqlite3_bind_text(st, PARAM(TRACKS_EMOTION), et_emotion_names[t->emotion], -1, SQLITE_STATIC);
        for (int k = 0; k < ET_EMOTIONS; k++)
            sqlite3_bind_double(st, PARAM(TRACKS_PROB) + k, t->mean_prob[k]);
        if (t->person > 0)
            sqlite3_bind_int(st, PARAM(TRACKS_PERSON), t->person);
        if (t->embedding && t->embedding_size > 0)
            sqlite3_bind_blob(st, PARAM(TRACKS_EMBEDDING), t->embedding, t->embedding_size * (int)sizeof(float), SQLITE_STATIC);
        int rc = step_done(s, ST_INSERT_TRACK, what);
        if (rc != ET_OK)
            return rc;
    }
    if (final->persons != ET_PERSONS_NONE) {
        sqlite3_stmt *p = s->st[ST_INSERT_PERSONS];
        sqlite3_bind_int64(p, 1, s->media_id);
        sqlite3_bind_text(p, 2, final->persons == ET_PERSONS_RUN ? "run" : "file", -1, SQLITE_STATIC);
        int rc = step_done(s, ST_INSERT_PERSONS, what);
        if (rc != ET_OK)
            return rc;
    }
    return finish_media(s, final, final->status == ET_MEDIA_DONE, final->error, what);
}

static int sqlite_fail_media(et_sink *sink, const et_media_info *media, const char *error, int begun)
{
    sqlite_sink *s = (sqlite_sink *)sink;
    int rc;
    if (!begun && (rc = sqlite_begin_media(sink, media)) != ET_OK)
        return rc;
    const char *what = s->doing;
    /* Whatever was written before the failure goes: a failed file has a
     * media row and nothing else. Media committed per interval (live)
     * keeps its rows: readers have seen them already. */
    if (s->base.commit_interval <= 0 && (rc = delete_media_rows(s, s->media_id, 0, what)) != ET_OK)
        return rc;
    return finish_media(s, media, 0, error ? error : media->error, what);
}

static int sqlite_media_done(et_sink *sink, const char *path, int64_t size, int64_t mtime)
{
    sqlite_sink *s = (sqlite_sink *)sink;
    sqlite3_stmt *st = s->st[ST_MEDIA_DONE];
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, size);
    sqlite3_bind_int64(st, 3, mtime);
    int rc = sqlite3_step(st);
    int result = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) != 0 : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW) {
        char what[300];
        snprintf(what, sizeof what, "looking up %s", path);
        result = db_fail(s, rc, what);
    }
    return result;
}

static int sqlite_close(et_sink *sink)
{
    sqlite_sink *s = (sqlite_sink *)sink;
    int result = ET_OK;
    if (s->db) {
        /* A media file still open is abandoned, not half-stored. */
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        for (int i = 0; i < ST_COUNT; i++)
            sqlite3_finalize(s->st[i]);
        /* Out of WAL mode, the database is one file again: read-only
         * readers (summary, report, merge, sqlite3) then leave no -wal and
         * -shm files beside it. Busy while somebody still reads: it stays
         * WAL, which is only untidy. */
        if (s->wal) {
            sqlite3_busy_timeout(s->db, 0);
            sqlite3_exec(s->db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
        }
        int rc = sqlite3_close(s->db);
        if (rc != SQLITE_OK)
            result = et_error_set(ET_ERR_IO, "%s: closing the database: %s", s->base.name,
                                  sqlite3_errstr(rc));
    }
    free(s->doing);
    free(s);
    return result;
}

/* --- opening ------------------------------------------------------------ */

static int query_int(sqlite_sink *s, const char *sql, sqlite3_int64 *out, const char *what)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? ET_OK : db_fail(s, rc, what);
}

/* Checks that table t has every column of the first release (those added
 * later are added by add_missing_columns). */
static int check_columns(sqlite_sink *s, const et_schema_table *t)
{
    for (int i = 0; i < t->ncolumns; i++) {
        const et_schema_column *c = &t->columns[i];
        if (!c->old_value && !et_schema_has_column(s->db, t->name, c->name))
            return et_error_set(ET_ERR_FORMAT, "%s: not the emotrace results schema: table %s has no column %s",
                                s->base.name, t->name, c->name);
    }
    return ET_OK;
}

/* Sets *empty when the database has nothing in it yet; otherwise checks
 * that it is an emotrace store this build can write. Only reads. */
static int check_schema(sqlite_sink *s, int *empty)
{
    sqlite3_int64 app = 0, version = 0, objects = 0;
    const char *what = "reading the database";
    int rc;
    if ((rc = query_int(s, "PRAGMA application_id", &app, what)) != ET_OK ||
        (rc = query_int(s, "PRAGMA user_version", &version, what)) != ET_OK ||
        (rc = query_int(s, "SELECT count(*) FROM sqlite_master", &objects, what)) != ET_OK)
        return rc;
    *empty = app == 0 && version == 0 && objects == 0;
    if (*empty)
        return ET_OK;
    if (app != ET_SCHEMA_APPLICATION_ID)
        return et_error_set(ET_ERR_FORMAT,
                            "%s: not an emotrace results database (it already holds other data)",
                            s->base.name);
    if (version > ET_SCHEMA_VERSION)
        return et_error_set(ET_ERR_FORMAT,
                            "%s: written by a newer emotrace (schema version %lld; this version "
                            "handles up to %d)",
                            s->base.name, (long long)version, ET_SCHEMA_VERSION);
    if (version < 1)
        return et_error_set(ET_ERR_FORMAT, "%s: unknown emotrace schema version %lld",
                            s->base.name, (long long)version);
    for (int i = 0; i < ET_TABLE_COUNT; i++)
        if (!et_schema_tables[i].added_later && (rc = check_columns(s, &et_schema_tables[i])) != ET_OK)
            return rc;
    return ET_OK;
}

static int insert_run(sqlite_sink *s, const et_run_info *run)
{
    char sql[512], started[32];
    time_t now = time(NULL);
    struct tm utc;
    if (!gmtime_r(&now, &utc) || !strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &utc))
        return et_error_set(ET_ERR_IO, "%s: recording the run: no clock", s->base.name);
    if (et_schema_insert_sql(sql, sizeof sql, &et_schema_tables[ET_TABLE_RUNS]) != 0)
        return et_error_set(ET_ERR_NOMEM, "%s: recording the run: statement too long", s->base.name);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, PARAM(RUNS_STARTED_AT), started, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, PARAM(RUNS_TOOL_VERSION), run && run->tool_version ? run->tool_version : ET_VERSION,
                          -1, SQLITE_STATIC);
        sqlite3_bind_text(st, PARAM(RUNS_WEIGHTS), run && run->weights ? run->weights : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, PARAM(RUNS_OPTIONS), run && run->options ? run->options : "", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    s->run_id = sqlite3_last_insert_rowid(s->db);
    return rc == SQLITE_OK ? ET_OK : db_fail(s, rc, "recording the run");
}

/* Databases from before a column or table was added get it: NULL (or the
 * column's default) in the rows already there, as older builds, which can
 * go on writing to them, leave it. */
static int add_missing_columns(sqlite_sink *s)
{
    char sql[1024], what[200];
    int rc = ET_OK;
    for (int i = 0; i < ET_TABLE_COUNT && rc == ET_OK; i++) {
        const et_schema_table *t = &et_schema_tables[i];
        if (t->added_later && !et_schema_has_column(s->db, t->name, t->columns[0].name)) {
            snprintf(what, sizeof what, "adding the %s table", t->name);
            rc = et_schema_create_sql(sql, sizeof sql, t) == 0 ? exec(s, sql, what)
                                                                : et_error_set(ET_ERR_NOMEM, "%s: %s", s->base.name, what);
            continue;
        }
        for (int k = 0; k < t->ncolumns && rc == ET_OK; k++) {
            const et_schema_column *c = &t->columns[k];
            if (!c->old_value || et_schema_has_column(s->db, t->name, c->name))
                continue;
            snprintf(what, sizeof what, "adding %s.%s", t->name, c->name);
            snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s%s%s", t->name, c->name, c->type,
                     c->constraint ? " " : "", c->constraint ? c->constraint : "");
            rc = exec(s, sql, what);
        }
    }
    return rc;
}

/* The creating SQL of every table, the indexes and the PRAGMAs. */
static int create_tables(sqlite_sink *s)
{
    char sql[8192];
    if (et_schema_create_all_sql(sql, sizeof sql) != 0)
        return et_error_set(ET_ERR_NOMEM, "%s: cannot create the tables: schema text too long", s->base.name);
    return exec(s, sql, "cannot create the tables");
}

/* The text of statement which into buf: from statement_sql, or built from
 * the schema for those that list a table's columns. */
static int statement_build(int which, char *buf, size_t size)
{
    const et_schema_table *media = &et_schema_tables[ET_TABLE_MEDIA];
    int n;
    switch (which) {
    case ST_INSERT_MEDIA: return et_schema_insert_sql(buf, size, media);
    case ST_INSERT_OBSERVATION: return et_schema_insert_sql(buf, size, &et_schema_tables[ET_TABLE_OBSERVATIONS]);
    case ST_INSERT_TRACK: return et_schema_insert_sql(buf, size, &et_schema_tables[ET_TABLE_TRACKS]);
    case ST_UPDATE_MEDIA:
        /* The columns bind_media sets. */
        n = snprintf(buf, size, "UPDATE media SET ");
        for (int c = 0, first = 1; c < media->ncolumns && n >= 0 && (size_t)n < size; c++) {
            if (c == ET_COL_MEDIA_ID || c == ET_COL_MEDIA_PATH || c == ET_COL_MEDIA_RUN_ID)
                continue;
            n += snprintf(buf + n, size - n, "%s%s = ?%d", first ? "" : ", ", media->columns[c].name,
                          et_schema_param(c));
            first = 0;
        }
        if (n >= 0 && (size_t)n < size)
            n += snprintf(buf + n, size - n, " WHERE id = ?%d", PARAM(MEDIA_ID));
        return n >= 0 && (size_t)n < size ? 0 : -1;
    case ST_INSERT_PERSONS:
        n = snprintf(buf, size, "INSERT INTO persons (");
        if (n < 0 || (size_t)n >= size || et_schema_column_list(buf + n, size - n, &et_schema_tables[ET_TABLE_PERSONS]))
            return -1;
        n += (int)strlen(buf + n);
        n += snprintf(buf + n, size - n, ") %s", statement_sql[which]);
        return n >= 0 && (size_t)n < size ? 0 : -1;
    default: n = snprintf(buf, size, "%s", statement_sql[which]); return n >= 0 && (size_t)n < size ? 0 : -1;
    }
}

static int prepare_statements(sqlite_sink *s)
{
    char sql[4096];
    for (int i = 0; i < ST_COUNT; i++) {
        if (statement_build(i, sql, sizeof sql) != 0)
            return et_error_set(ET_ERR_NOMEM, "%s: preparing statements: statement too long", s->base.name);
        int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "preparing statements");
    }
    return ET_OK;
}

static int sqlite_setup(sqlite_sink *s, const char *path, const et_run_info *run)
{
    /* Debian's SQLite takes "file:..." names as URIs; ours are file names. */
    char *literal = NULL;
    if (!strncmp(path, "file:", 5)) {
        size_t n = strlen(path) + 3;
        if (!(literal = malloc(n)))
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        snprintf(literal, n, "./%s", path);
    }
    int rc = sqlite3_open_v2(literal ? literal : path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    free(literal);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "cannot open database");
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* Look before changing anything, so that a foreign database is left
     * exactly as it was (not even switched to WAL). */
    int empty = 0;
    if ((rc = check_schema(s, &empty)) != ET_OK)
        return rc;
    /* WAL lets readers work during a run; NORMAL sync keeps every commit
     * atomic and, in WAL mode, loses at most the last ones on power loss. */
    if ((rc = exec(s, "PRAGMA journal_mode = WAL", "cannot set up database")) != ET_OK)
        return rc;
    s->wal = 1;
    if ((rc = exec(s, "PRAGMA synchronous = NORMAL", "cannot set up database")) != ET_OK ||
        (rc = exec(s, "PRAGMA foreign_keys = ON", "cannot set up database")) != ET_OK ||
        (rc = exec(s, "BEGIN IMMEDIATE", "cannot set up database")) != ET_OK)
        return rc;
    /* Again inside the write lock: another process may have created it. */
    if ((rc = check_schema(s, &empty)) != ET_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if ((rc = empty ? create_tables(s) : add_missing_columns(s)) != ET_OK)
        return rc;
    if ((rc = insert_run(s, run)) != ET_OK || (rc = exec(s, "COMMIT", "cannot set up database")) != ET_OK)
        return rc;
    return prepare_statements(s);
}

int et_store_sqlite_check(sqlite3 *db, const char *name, int create)
{
    sqlite_sink s;
    memset(&s, 0, sizeof s);
    s.db = db;
    s.base.name = (char *)name;
    int empty = 0;
    int rc = check_schema(&s, &empty);
    if (rc != ET_OK)
        return rc;
    /* Written to (merge's output): brought up to this build's columns. */
    if (!empty && create && (rc = add_missing_columns(&s)) != ET_OK)
        return rc;
    if (!empty)
        return ET_OK;
    if (!create)
        return et_error_set(ET_ERR_FORMAT, "%s: not an emotrace results database (it is empty)", name);
    return create_tables(&s);
}

/* Why path cannot be written, as the file system sees it, or NULL. SQLite
 * retries read-only after EACCES, so its own errno can say "No such file"
 * for a directory that is merely read-only. The directory matters even
 * for an existing file: the WAL and shared-memory files are created there. */
static const char *why_not_writable(const char *path)
{
    char dir[4096];
    struct stat st;
    if (stat(path, &st) == 0 && access(path, R_OK | W_OK) != 0)
        return strerror(errno);
    int n = snprintf(dir, sizeof dir, "%s", path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return NULL;
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        slash[slash == dir ? 1 : 0] = '\0';
    return access(dir, W_OK | X_OK) != 0 ? strerror(errno) : NULL;
}

static const et_sink_ops sqlite_ops = {sqlite_begin_media, sqlite_write_observation,
                                       sqlite_end_media,   sqlite_fail_media,
                                       sqlite_media_done,  sqlite_checkpoint,
                                       sqlite_close};

int et_sink_sqlite_open(et_sink **out, const char *path, const et_run_info *run)
{
    *out = NULL;
    sqlite_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->base.name = strdup(path))) {
        free(s);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    s->base.ops = &sqlite_ops;
    int rc = sqlite_setup(s, path, run);
    const char *why = rc == ET_ERR_IO ? why_not_writable(path) : NULL;
    if (why)
        rc = et_error_set(ET_ERR_IO, "%s: cannot open the database for writing: %s", path, why);
    if (rc != ET_OK) {
        char *name = s->base.name;
        sqlite_close(&s->base);
        free(name);
        return rc;
    }
    *out = &s->base;
    return ET_OK;
}
