#include "db_dump.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "emotrace/json.h"

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    /* Read-write: after a crash the first connection recovers the WAL. */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    return db;
}

/* Appends every row of sql (?1 bound to path, or NULL) as '|'-joined text. */
static int append_rows(sqlite3 *db, const char *sql, const char *path, et_strbuf *b)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (path)
        sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            const unsigned char *v = sqlite3_column_text(st, c);
            et_strbuf_printf(b, "%s%s", c ? "|" : "", v ? (const char *)v : "NULL");
        }
        et_strbuf_append(b, "\n", 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

char *db_dump(const char *path_db, const char *path)
{
    static const char *const queries[] = {
        "SELECT path, size, mtime, duration, fps, width, height, frames_analyzed, status, error FROM media "
        "WHERE ?1 IS NULL OR path = ?1 ORDER BY path",
        "SELECT m.path, t.track, t.first_t, t.last_t, t.frames, t.emotion, t.angry, t.disgust, t.fear, t.happy, "
        "t.sad, t.surprise, t.neutral FROM tracks t JOIN media m ON m.id = t.media_id "
        "WHERE ?1 IS NULL OR m.path = ?1 ORDER BY m.path, t.track",
        "SELECT m.path, o.frame, o.t, o.track_id, o.x, o.y, o.w, o.h, o.score, o.angry, o.disgust, o.fear, "
        "o.happy, o.sad, o.surprise, o.neutral, o.emotion FROM observations o JOIN media m ON m.id = o.media_id "
        "WHERE ?1 IS NULL OR m.path = ?1 ORDER BY m.path, o.frame, o.track_id",
    };
    sqlite3 *db = open_db(path_db);
    if (!db)
        return NULL;
    et_strbuf b = {0};
    int bad = 0;
    for (size_t i = 0; i < sizeof queries / sizeof queries[0] && !bad; i++)
        bad = append_rows(db, queries[i], path, &b) != 0;
    sqlite3_close(db);
    if (bad || b.failed) {
        et_strbuf_free(&b);
        return NULL;
    }
    if (!b.data)
        et_strbuf_append(&b, "", 0);
    return b.data;
}

static char *rows_text(const char *path_db, const char *sql)
{
    sqlite3 *db = open_db(path_db);
    if (!db)
        return NULL;
    et_strbuf b = {0};
    int bad = append_rows(db, sql, NULL, &b);
    sqlite3_close(db);
    if (bad || b.failed) {
        et_strbuf_free(&b);
        return NULL;
    }
    if (!b.data)
        et_strbuf_append(&b, "", 0);
    return b.data;
}

char *db_integrity(const char *db)
{
    return rows_text(db, "PRAGMA integrity_check");
}

char *db_paths(const char *db)
{
    return rows_text(db, "SELECT path FROM media ORDER BY path");
}

double db_number(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    double v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_double(st, 0);
    else
        fprintf(stderr, "  query failed: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

long long db_count(const char *path_db, const char *sql)
{
    sqlite3 *db = open_db(path_db);
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (db && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}
