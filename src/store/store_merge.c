/* Merging SQLite result stores (shards of one batch analysed on several
 * machines) into one: every run, media file, track and observation is
 * copied with new ids, in one transaction, so that a refused or failed
 * merge leaves the output as it was. All values go through bound
 * parameters (sqlite3_bind_value of the source column). */
#include "emotrace/store_merge.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "sink_internal.h"

typedef struct {
    sqlite3_int64 from, to;
} id_pair;

typedef struct {
    id_pair *pairs; /* in increasing from order: rows are read by id */
    size_t count, capacity;
} id_map;

static int map_add(id_map *m, sqlite3_int64 from, sqlite3_int64 to)
{
    if (m->count == m->capacity) {
        size_t cap = m->capacity ? m->capacity * 2 : 64;
        id_pair *grown = realloc(m->pairs, cap * sizeof *grown);
        if (!grown)
            return et_error_set(ET_ERR_NOMEM, "out of memory merging");
        m->pairs = grown;
        m->capacity = cap;
    }
    m->pairs[m->count++] = (id_pair){from, to};
    return ET_OK;
}

/* The new id of from, or 0 if the source had no such row. */
static sqlite3_int64 map_find(const id_map *m, sqlite3_int64 from)
{
    size_t lo = 0, hi = m->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->pairs[mid].from < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->count && m->pairs[lo].from == from ? m->pairs[lo].to : 0;
}

typedef struct {
    sqlite3 *out, *in;
    const char *out_name, *in_name;
    id_map runs, media;
    et_merge_stats *stats;
} merge_state;

static int db_error(sqlite3 *db, const char *name, const char *what)
{
    return et_error_set(ET_ERR_IO, "%s: %s: %s", name, what, sqlite3_errmsg(db));
}

/* Copies the rows of select_sql (from the input) into insert_sql (on the
 * output). Column 0 of the select is the row's old id (kept in map when
 * map is not NULL), its other columns bind to parameters 1.. of the insert;
 * remap_column (a select column, or 0) holds an id translated through
 * remap. */
static int copy_rows(merge_state *m, const char *select_sql, const char *insert_sql, id_map *map, int remap_column,
                     const id_map *remap, long *copied)
{
    sqlite3_stmt *sel = NULL, *ins = NULL;
    int rc = ET_OK, step;
    if (sqlite3_prepare_v2(m->in, select_sql, -1, &sel, NULL) != SQLITE_OK)
        return db_error(m->in, m->in_name, "reading");
    if (sqlite3_prepare_v2(m->out, insert_sql, -1, &ins, NULL) != SQLITE_OK) {
        sqlite3_finalize(sel);
        return db_error(m->out, m->out_name, "writing");
    }
    int columns = sqlite3_column_count(sel);
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        for (int c = 1; c < columns; c++) {
            if (c == remap_column) {
                sqlite3_int64 to = map_find(remap, sqlite3_column_int64(sel, c));
                if (!to) {
                    rc = et_error_set(ET_ERR_FORMAT, "%s: row %lld refers to a missing row (id %lld)", m->in_name,
                                      (long long)sqlite3_column_int64(sel, 0),
                                      (long long)sqlite3_column_int64(sel, c));
                    break;
                }
                sqlite3_bind_int64(ins, c, to);
            } else {
                sqlite3_bind_value(ins, c, sqlite3_column_value(sel, c));
            }
        }
        if (rc != ET_OK)
            break;
        int done = sqlite3_step(ins);
        if (done == SQLITE_CONSTRAINT_UNIQUE && map == &m->media) {
            rc = et_error_set(ET_ERR_USAGE, "%s: %s is already in %s (from the output or an earlier input); "
                              "nothing was merged",
                              m->in_name, (const char *)sqlite3_column_text(sel, 1), m->out_name);
            break;
        }
        if (done != SQLITE_DONE) {
            rc = db_error(m->out, m->out_name, "writing");
            break;
        }
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        if (map && (rc = map_add(map, sqlite3_column_int64(sel, 0), sqlite3_last_insert_rowid(m->out))) != ET_OK)
            break;
        (*copied)++;
    }
    if (rc == ET_OK && step != SQLITE_DONE)
        rc = db_error(m->in, m->in_name, "reading");
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    return rc;
}

/* 1 when the input's table has column (databases written before live
 * sources lack media.frames_dropped: their files dropped nothing; before
 * persons, the person columns and the persons table). */
static int has_column(merge_state *m, const char *table, const char *column)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(m->in, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

static int has_frames_dropped(merge_state *m)
{
    return has_column(m, "media", "frames_dropped");
}

static int merge_one(merge_state *m)
{
    int rc = et_store_sqlite_check(m->in, m->in_name, 0);
    long ignored = 0;
    m->runs.count = m->media.count = 0;
    if (rc == ET_OK)
        rc = copy_rows(m, "SELECT id, started_at, tool_version, weights, options FROM runs ORDER BY id",
                       "INSERT INTO runs (started_at, tool_version, weights, options) VALUES (?1, ?2, ?3, ?4)",
                       &m->runs, 0, NULL, &m->stats->runs);
    if (rc == ET_OK)
        rc = copy_rows(m,
                       has_frames_dropped(m)
                           ? "SELECT id, path, size, mtime, duration, fps, width, height, frames_analyzed, status, "
                             "error, run_id, frames_dropped FROM media ORDER BY id"
                           : "SELECT id, path, size, mtime, duration, fps, width, height, frames_analyzed, status, "
                             "error, run_id, 0 FROM media ORDER BY id",
                       "INSERT INTO media (path, size, mtime, duration, fps, width, height, frames_analyzed, "
                       "status, error, run_id, frames_dropped) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                       "?11, ?12)",
                       &m->media, 11, &m->runs, &m->stats->media);
    /* Person numbers need no renumbering: per file they belong to their
     * media row, across files (scope 'run') to their run, and both get new
     * ids together. */
    int persons = has_column(m, "observations", "person");
    if (rc == ET_OK)
        rc = copy_rows(m,
                       persons ? "SELECT id, media_id, track, first_t, last_t, frames, emotion, angry, disgust, "
                                 "fear, happy, sad, surprise, neutral, person, embedding FROM tracks ORDER BY id"
                               : "SELECT id, media_id, track, first_t, last_t, frames, emotion, angry, disgust, "
                                 "fear, happy, sad, surprise, neutral, NULL, NULL FROM tracks ORDER BY id",
                       "INSERT INTO tracks (media_id, track, first_t, last_t, frames, emotion, angry, disgust, "
                       "fear, happy, sad, surprise, neutral, person, embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                       "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                       NULL, 1, &m->media, &ignored);
    if (rc == ET_OK)
        rc = copy_rows(m,
                       persons ? "SELECT rowid, media_id, frame, t, track_id, x, y, w, h, score, angry, disgust, "
                                 "fear, happy, sad, surprise, neutral, emotion, person FROM observations ORDER BY "
                                 "rowid"
                               : "SELECT rowid, media_id, frame, t, track_id, x, y, w, h, score, angry, disgust, "
                                 "fear, happy, sad, surprise, neutral, emotion, NULL FROM observations ORDER BY "
                                 "rowid",
                       "INSERT INTO observations (media_id, frame, t, track_id, x, y, w, h, score, angry, "
                       "disgust, fear, happy, sad, surprise, neutral, emotion, person) VALUES (?1, ?2, ?3, ?4, "
                       "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                       NULL, 1, &m->media, &m->stats->observations);
    if (rc == ET_OK && has_column(m, "persons", "person"))
        rc = copy_rows(m,
                       "SELECT rowid, media_id, person, scope, first_t, last_t, on_screen, tracks, frames, "
                       "emotion, angry, disgust, fear, happy, sad, surprise, neutral FROM persons ORDER BY rowid",
                       "INSERT INTO persons (media_id, person, scope, first_t, last_t, on_screen, tracks, frames, "
                       "emotion, angry, disgust, fear, happy, sad, surprise, neutral) VALUES (?1, ?2, ?3, ?4, ?5, "
                       "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                       NULL, 1, &m->media, &ignored);
    return rc;
}

int et_store_merge(const char *out, const char *const *inputs, int count, et_merge_stats *stats)
{
    merge_state m;
    memset(&m, 0, sizeof m);
    memset(stats, 0, sizeof *stats);
    m.out_name = out;
    m.stats = stats;
    int rc = ET_OK;
    if (sqlite3_open_v2(out, &m.out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = et_error_set(ET_ERR_IO, "%s: cannot open the database for writing: %s", out,
                          m.out ? sqlite3_errmsg(m.out) : "out of memory");
        goto done;
    }
    sqlite3_extended_result_codes(m.out, 1);
    sqlite3_busy_timeout(m.out, 10000);
    if (sqlite3_exec(m.out, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(m.out, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_error(m.out, out, "cannot write");
        goto done;
    }
    if ((rc = et_store_sqlite_check(m.out, out, 1)) != ET_OK)
        goto done;
    for (int i = 0; i < count && rc == ET_OK; i++) {
        m.in_name = inputs[i];
        if (sqlite3_open_v2(inputs[i], &m.in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
            rc = et_error_set(ET_ERR_IO, "%s: cannot open: %s", inputs[i],
                              m.in ? sqlite3_errmsg(m.in) : "out of memory");
        else
            rc = merge_one(&m);
        sqlite3_close(m.in);
        m.in = NULL;
        stats->inputs += rc == ET_OK;
    }
    /* Shards analysed with other weights are not comparable: counted, so
     * that the caller can warn (merging them may be meant). */
    sqlite3_stmt *st = NULL;
    if (rc == ET_OK && sqlite3_prepare_v2(m.out, "SELECT count(DISTINCT weights) FROM runs", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        stats->weights_variants = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc == ET_OK && sqlite3_exec(m.out, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(m.out, out, "cannot commit");
done:
    if (m.out && !sqlite3_get_autocommit(m.out))
        sqlite3_exec(m.out, "ROLLBACK", NULL, NULL, NULL);
    /* One file again (as analyze leaves its output; sink_sqlite.c). */
    if (m.out) {
        sqlite3_busy_timeout(m.out, 0);
        sqlite3_exec(m.out, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
    }
    sqlite3_close(m.out);
    free(m.runs.pairs);
    free(m.media.pairs);
    return rc;
}
