/* The SQLite result store.
 *
 * Schema version 1 (PRAGMA user_version = 1, PRAGMA application_id =
 * 0x454D4F54, "EMOT"). Times are seconds, boxes are pixels of the source
 * frame with the origin at the top left, probabilities are 0..1.
 *
 * runs: one row per emotrace invocation that opened the database.
 *   id            INTEGER PRIMARY KEY  run number
 *   started_at    TEXT     when the run opened the database, UTC, ISO 8601
 *                          ("2024-05-01T12:00:00Z")
 *   tool_version  TEXT     emotrace version that wrote the run
 *   weights       TEXT     SHA-256 of the weights files used
 *                          ("emotion-cnn.safetensors=<64 hex digits> ...")
 *   options       TEXT     analysis options of the run
 *
 * media: one row per input file (video or image), the latest analysis only.
 *   id               INTEGER PRIMARY KEY  referenced by tracks and observations
 *   path             TEXT UNIQUE  the file as named on the command line
 *   size             INTEGER  file size in bytes when analysed
 *   mtime            INTEGER  modification time when analysed, seconds since
 *                             1970-01-01 UTC (with size, decides --resume)
 *   duration         REAL     length in seconds; NULL for still images or
 *                             when unknown
 *   fps              REAL     frame rate of the source; NULL when not
 *                             applicable or unknown
 *   width, height    INTEGER  frame size in pixels; NULL when unknown
 *   frames_analyzed  INTEGER  frames that went through face detection
 *   frames_dropped   INTEGER  frames of a live source that analysis had no
 *                             time for (--live-policy latest); 0 for files.
 *                             Added to older databases when they are opened
 *                             (NOT NULL DEFAULT 0: older builds still write
 *                             them); not in expected_columns for that reason.
 *   status           TEXT     'done' or 'failed'
 *   error            TEXT     why the file failed; NULL when done
 *   run_id           INTEGER  runs.id of the run that wrote this row
 *   A failed file has no tracks and no observations; a failed live source
 *   keeps what it stored, with its tracks (see below). Analysing a path again
 *   replaces its rows (media, tracks, observations) in one transaction.
 *
 * tracks: one row per face track in a media file.
 *   id               INTEGER PRIMARY KEY
 *   media_id         INTEGER  media.id
 *   track            INTEGER  track number within the file (the
 *                             observations.track_id of its observations)
 *   first_t, last_t  REAL     time of the first and last observation
 *   frames           INTEGER  number of observations in the track
 *   emotion          TEXT     dominant emotion label (see below)
 *   angry, disgust, fear, happy, sad, surprise, neutral
 *                    REAL     mean probability of each emotion over the track
 *   person           INTEGER  the track's person (persons.person); NULL when
 *                             persons were not linked (--no-persons)
 *   embedding        BLOB     the track's face descriptor, 128 IEEE float32
 *                             values, little-endian (512 bytes), only with
 *                             --store-embeddings; NULL otherwise
 *
 * persons: one row per person seen in a media file (analyze links the
 * tracks that show the same face; see the man page for the rule).
 *   media_id         INTEGER  media.id (deleted with its media row)
 *   person           INTEGER  person number: per file (scope 'file'), or
 *                             shared by the media of one run (scope 'run',
 *                             --persons-across: the same number is the same
 *                             person in every file with the same run_id)
 *   scope            TEXT     'file' or 'run'
 *   first_t, last_t  REAL     first and last observation of the person
 *   on_screen        REAL     seconds on screen, counted as the README's
 *                             query counts a track's (each observation lasts
 *                             until its track's next one, at most two steps)
 *   tracks           INTEGER  tracks of the person in this file
 *   frames           INTEGER  observations of the person
 *   emotion          TEXT     the emotion shown for the longest time (ties:
 *                             the higher mean probability), as in summary
 *   angry, disgust, fear, happy, sad, surprise, neutral
 *                    REAL     share of on_screen shown with each emotion
 *
 * observations: one row per face per analysed frame.
 *   media_id     INTEGER  media.id
 *   frame        INTEGER  frame index in the source, from 0
 *   t            REAL     time of the frame in seconds from the start
 *   track_id     INTEGER  track number within the file (tracks.track)
 *   x, y, w, h   REAL     face box: left, top, width, height in pixels
 *   score        REAL     face detector confidence, 0..1
 *   angry, disgust, fear, happy, sad, surprise, neutral
 *                REAL     probability of each emotion (they sum to 1)
 *   emotion      TEXT     the label shown for this face: one of 'angry',
 *                         'disgust', 'fear', 'happy', 'sad', 'surprise',
 *                         'neutral'
 *   person       INTEGER  the track's person (persons.person); NULL when
 *                         persons were not linked
 *   Columns added after the first release (frames_dropped, person,
 *   embedding, the persons table) are added to older databases when they
 *   are opened; older builds can still write to them (they leave them NULL).
 *   Indexes: observations_track (media_id, track_id, t) for per-track
 *   queries, observations_time (media_id, t) for time ranges.
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

#include "emotrace/error.h"
#include "sink_internal.h"

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x454D4F54 /* "EMOT" */
#define STR_(x) #x
#define STR(x) STR_(x)
#define BUSY_TIMEOUT_MS 10000

#define PERSONS_TABLE_SQL                                                                                \
    "CREATE TABLE persons (\n"                                                                          \
    "  media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,\n"                             \
    "  person INTEGER NOT NULL,\n"                                                                      \
    "  scope TEXT NOT NULL CHECK (scope IN ('file', 'run')),\n"                                         \
    "  first_t REAL NOT NULL,\n"                                                                        \
    "  last_t REAL NOT NULL,\n"                                                                         \
    "  on_screen REAL NOT NULL,\n"                                                                      \
    "  tracks INTEGER NOT NULL,\n"                                                                      \
    "  frames INTEGER NOT NULL,\n"                                                                      \
    "  emotion TEXT NOT NULL,\n"                                                                        \
    "  angry REAL, disgust REAL, fear REAL, happy REAL, sad REAL, surprise REAL, neutral REAL,\n"      \
    "  UNIQUE (media_id, person)\n"                                                                     \
    ");\n"

static const char schema_sql[] =
    "CREATE TABLE runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  started_at TEXT NOT NULL,\n"
    "  tool_version TEXT NOT NULL,\n"
    "  weights TEXT NOT NULL,\n"
    "  options TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE media (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  path TEXT NOT NULL UNIQUE,\n"
    "  size INTEGER NOT NULL,\n"
    "  mtime INTEGER NOT NULL,\n"
    "  duration REAL,\n"
    "  fps REAL,\n"
    "  width INTEGER,\n"
    "  height INTEGER,\n"
    "  frames_analyzed INTEGER NOT NULL,\n"
    "  status TEXT NOT NULL CHECK (status IN ('done', 'failed')),\n"
    "  error TEXT,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id),\n"
    "  frames_dropped INTEGER NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE TABLE tracks (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  media_id INTEGER NOT NULL REFERENCES media(id),\n"
    "  track INTEGER NOT NULL,\n"
    "  first_t REAL NOT NULL,\n"
    "  last_t REAL NOT NULL,\n"
    "  frames INTEGER NOT NULL,\n"
    "  emotion TEXT NOT NULL,\n"
    "  angry REAL, disgust REAL, fear REAL, happy REAL, sad REAL, surprise REAL, neutral REAL,\n"
    "  person INTEGER,\n"
    "  embedding BLOB,\n"
    "  UNIQUE (media_id, track)\n"
    ");\n"
    "CREATE TABLE observations (\n"
    "  media_id INTEGER NOT NULL REFERENCES media(id),\n"
    "  frame INTEGER NOT NULL,\n"
    "  t REAL NOT NULL,\n"
    "  track_id INTEGER NOT NULL,\n"
    "  x REAL, y REAL, w REAL, h REAL,\n"
    "  score REAL,\n"
    "  angry REAL, disgust REAL, fear REAL, happy REAL, sad REAL, surprise REAL, neutral REAL,\n"
    "  emotion TEXT NOT NULL,\n"
    "  person INTEGER\n"
    ");\n"
    "CREATE INDEX observations_track ON observations (media_id, track_id, t);\n"
    "CREATE INDEX observations_time ON observations (media_id, t);\n"
    PERSONS_TABLE_SQL
    "PRAGMA application_id = " STR(APPLICATION_ID) ";\n"
    "PRAGMA user_version = " STR(SCHEMA_VERSION) ";\n";

/* Columns an existing database must have (extra ones are tolerated). */
static const char *const expected_columns[] = {
    "runs",         "id,started_at,tool_version,weights,options",
    "media",        "id,path,size,mtime,duration,fps,width,height,frames_analyzed,status,error,run_id",
    "tracks",       "id,media_id,track,first_t,last_t,frames,emotion,"
                    "angry,disgust,fear,happy,sad,surprise,neutral",
    "observations", "media_id,frame,t,track_id,x,y,w,h,score,"
                    "angry,disgust,fear,happy,sad,surprise,neutral,emotion",
};

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

static const char *const statement_sql[ST_COUNT] = {
    [ST_FIND_MEDIA] = "SELECT id FROM media WHERE path = ?1",
    [ST_DELETE_OBSERVATIONS] = "DELETE FROM observations WHERE media_id = ?1",
    [ST_DELETE_TRACKS] = "DELETE FROM tracks WHERE media_id = ?1",
    [ST_DELETE_MEDIA] = "DELETE FROM media WHERE id = ?1",
    [ST_INSERT_MEDIA] = "INSERT INTO media (path, size, mtime, duration, fps, width, height, "
                        "frames_analyzed, status, error, run_id, frames_dropped) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_UPDATE_MEDIA] = "UPDATE media SET size = ?2, mtime = ?3, duration = ?4, fps = ?5, "
                        "width = ?6, height = ?7, frames_analyzed = ?8, status = ?9, error = ?10, "
                        "frames_dropped = ?12 WHERE id = ?1",
    [ST_INSERT_OBSERVATION] = "INSERT INTO observations (media_id, frame, t, track_id, x, y, w, h, "
                              "score, angry, disgust, fear, happy, sad, surprise, neutral, emotion, person) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                              "?15, ?16, ?17, ?18)",
    [ST_INSERT_TRACK] = "INSERT INTO tracks (media_id, track, first_t, last_t, frames, emotion, "
                        "angry, disgust, fear, happy, sad, surprise, neutral, person, embedding) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [ST_MEDIA_DONE] = "SELECT EXISTS (SELECT 1 FROM media WHERE path = ?1 AND size = ?2 "
                      "AND mtime = ?3 AND status = 'done')",
    [ST_DELETE_PERSONS] = "DELETE FROM persons WHERE media_id = ?1",
    /* Each observation lasts until its track's next one, at most two
     * sampling steps (the shortest positive time between observations of
     * a track in the file, else 1 / fps, else 0); the last one step. */
    [ST_INSERT_PERSONS] =
        "INSERT INTO persons (media_id, person, scope, first_t, last_t, on_screen, tracks, frames, emotion, "
        "angry, disgust, fear, happy, sad, surprise, neutral) "
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

/* Parameters 2..10 and 12 of ST_INSERT_MEDIA and ST_UPDATE_MEDIA. */
static void bind_media(sqlite3_stmt *st, const et_media_info *m, int done, const char *error)
{
    sqlite3_bind_int64(st, 2, m->size);
    sqlite3_bind_int64(st, 3, m->mtime);
    bind_positive(st, 4, m->duration);
    bind_positive(st, 5, m->fps);
    if (m->width > 0 && m->height > 0) {
        sqlite3_bind_int(st, 6, m->width);
        sqlite3_bind_int(st, 7, m->height);
    }
    sqlite3_bind_int64(st, 8, m->frames_analyzed);
    sqlite3_bind_text(st, 9, done ? "done" : "failed", -1, SQLITE_STATIC);
    if (!done)
        sqlite3_bind_text(st, 10, error && *error ? error : "failed", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 12, m->frames_dropped);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
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
    sqlite3_bind_text(ins, 1, media->path, -1, SQLITE_STATIC);
    bind_media(ins, media, 0, "analysis did not finish");
    sqlite3_bind_int64(ins, 11, s->run_id);
    if ((rc = step_done(s, ST_INSERT_MEDIA, what)) != ET_OK)
        return rc;
    s->media_id = sqlite3_last_insert_rowid(s->db);
    s->last_commit = now();
    return ET_OK;
}

static int sqlite_write_observation(et_sink *sink, const et_observation *o)
{
    sqlite_sink *s = (sqlite_sink *)sink;
    sqlite3_stmt *st = s->st[ST_INSERT_OBSERVATION];
    sqlite3_bind_int64(st, 1, s->media_id);
    sqlite3_bind_int64(st, 2, o->frame);
    sqlite3_bind_double(st, 3, o->t);
    sqlite3_bind_int(st, 4, o->track);
    sqlite3_bind_double(st, 5, o->x);
    sqlite3_bind_double(st, 6, o->y);
    sqlite3_bind_double(st, 7, o->w);
    sqlite3_bind_double(st, 8, o->h);
    sqlite3_bind_double(st, 9, o->score);
    for (int i = 0; i < ET_EMOTIONS; i++)
        sqlite3_bind_double(st, 10 + i, o->prob[i]);
    sqlite3_bind_text(st, 17, et_emotion_names[o->emotion], -1, SQLITE_STATIC);
    if (o->person > 0)
        sqlite3_bind_int(st, 18, o->person);
    return step_done(s, ST_INSERT_OBSERVATION, s->doing);
}

/* Updates the media row from m and commits the media file's transaction. */
static int finish_media(sqlite_sink *s, const et_media_info *m, int done, const char *error,
                        const char *what)
{
    sqlite3_stmt *up = s->st[ST_UPDATE_MEDIA];
    sqlite3_bind_int64(up, 1, s->media_id);
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
    if (s->base.commit_interval <= 0 || now() - s->last_commit < s->base.commit_interval)
        return ET_OK;
    int rc = finish_media(s, progress, 0, "live source still being analysed (or its run was killed)", s->doing);
    if (rc == ET_OK)
        rc = exec(s, "BEGIN IMMEDIATE", s->doing);
    s->last_commit = now();
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
        sqlite3_bind_int64(st, 1, s->media_id);
        sqlite3_bind_int(st, 2, t->track);
        sqlite3_bind_double(st, 3, t->first_t);
        sqlite3_bind_double(st, 4, t->last_t);
        sqlite3_bind_int64(st, 5, t->frames);
        sqlite3_bind_text(st, 6, et_emotion_names[t->emotion], -1, SQLITE_STATIC);
        for (int k = 0; k < ET_EMOTIONS; k++)
            sqlite3_bind_double(st, 7 + k, t->mean_prob[k]);
        if (t->person > 0)
            sqlite3_bind_int(st, 14, t->person);
        if (t->embedding && t->embedding_size > 0)
            sqlite3_bind_blob(st, 15, t->embedding, t->embedding_size * (int)sizeof(float), SQLITE_STATIC);
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

/* Checks that table has every column in the comma-separated list. */
static int check_columns(sqlite_sink *s, const char *table, const char *columns)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1,
                                &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, rc, "reading the schema");
    int result = ET_OK;
    const char *c = columns;
    while (result == ET_OK && *c) {
        size_t n = strcspn(c, ",");
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c, (int)n, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            result = et_error_set(ET_ERR_FORMAT,
                                  "%s: not the emotrace results schema: table %s has no column "
                                  "%.*s",
                                  s->base.name, table, (int)n, c);
        else if (rc != SQLITE_ROW)
            result = db_fail(s, rc, "reading the schema");
        c += n;
        if (*c == ',')
            c++;
    }
    sqlite3_finalize(st);
    return result;
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
    if (app != APPLICATION_ID)
        return et_error_set(ET_ERR_FORMAT,
                            "%s: not an emotrace results database (it already holds other data)",
                            s->base.name);
    if (version > SCHEMA_VERSION)
        return et_error_set(ET_ERR_FORMAT,
                            "%s: written by a newer emotrace (schema version %lld; this version "
                            "handles up to %d)",
                            s->base.name, (long long)version, SCHEMA_VERSION);
    if (version < 1)
        return et_error_set(ET_ERR_FORMAT, "%s: unknown emotrace schema version %lld",
                            s->base.name, (long long)version);
    for (size_t i = 0; i < sizeof expected_columns / sizeof expected_columns[0]; i += 2)
        if ((rc = check_columns(s, expected_columns[i], expected_columns[i + 1])) != ET_OK)
            return rc;
    return ET_OK;
}

static int insert_run(sqlite_sink *s, const et_run_info *run)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO runs (started_at, tool_version, weights, options) "
                                "VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?1, ?2, ?3)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, run && run->tool_version ? run->tool_version : ET_VERSION, -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 2, run && run->weights ? run->weights : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, run && run->options ? run->options : "", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    s->run_id = sqlite3_last_insert_rowid(s->db);
    return rc == SQLITE_OK ? ET_OK : db_fail(s, rc, "recording the run");
}

/* Databases from before media.frames_dropped get the column; the default
 * keeps the INSERTs of older builds valid, so both can go on writing. */
static int add_frames_dropped(sqlite_sink *s)
{
    sqlite3_int64 has = 0;
    int rc = query_int(s, "SELECT count(*) FROM pragma_table_info('media') WHERE name = 'frames_dropped'", &has,
                       "reading the schema");
    if (rc != ET_OK || has)
        return rc;
    return exec(s, "ALTER TABLE media ADD COLUMN frames_dropped INTEGER NOT NULL DEFAULT 0",
                "adding media.frames_dropped");
}

/* Databases from before persons get their columns and table (NULL for the
 * rows already there; older builds leave them NULL too). */
static int add_persons(sqlite_sink *s)
{
    static const char *const columns[][3] = {
        {"observations", "person", "ALTER TABLE observations ADD COLUMN person INTEGER"},
        {"tracks", "person", "ALTER TABLE tracks ADD COLUMN person INTEGER"},
        {"tracks", "embedding", "ALTER TABLE tracks ADD COLUMN embedding BLOB"},
    };
    char sql[200];
    sqlite3_int64 has = 0;
    int rc = ET_OK;
    for (size_t i = 0; i < sizeof columns / sizeof columns[0] && rc == ET_OK; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'", columns[i][0],
                 columns[i][1]);
        if ((rc = query_int(s, sql, &has, "reading the schema")) == ET_OK && !has)
            rc = exec(s, columns[i][2], "adding the person columns");
    }
    if (rc == ET_OK)
        rc = query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'persons'", &has,
                       "reading the schema");
    if (rc == ET_OK && !has)
        rc = exec(s, PERSONS_TABLE_SQL, "adding the persons table");
    return rc;
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
    if (empty && (rc = exec(s, schema_sql, "cannot create the tables")) != ET_OK)
        return rc;
    if (!empty && ((rc = add_frames_dropped(s)) != ET_OK || (rc = add_persons(s)) != ET_OK))
        return rc;
    if ((rc = insert_run(s, run)) != ET_OK || (rc = exec(s, "COMMIT", "cannot set up database")) != ET_OK)
        return rc;
    for (int i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                                NULL);
        if (rc != SQLITE_OK)
            return db_fail(s, rc, "preparing statements");
    }
    return ET_OK;
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
    if (!empty && create && ((rc = add_frames_dropped(&s)) != ET_OK || (rc = add_persons(&s)) != ET_OK))
        return rc;
    if (!empty)
        return ET_OK;
    if (!create)
        return et_error_set(ET_ERR_FORMAT, "%s: not an emotrace results database (it is empty)", name);
    return exec(&s, schema_sql, "cannot create the tables");
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
