/* The SQLite results schema (include/emotrace/schema.h); the man page
 * documents every column (man/emotrace.1, OUTPUT, SQLite), and
 * tests/test_schema.c keeps the two in step. A column added after the
 * first release says what older databases hold instead; sink_sqlite.c adds
 * it to them when it opens them. */
#include "emotrace/schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* The seven probability columns, in the order of et_emotion_names. */
#define EMOTION_COLUMNS(type)                                                                        \
    {"angry", type, NULL, NULL, NULL}, {"disgust", type, NULL, NULL, NULL}, {"fear", type, NULL, NULL, NULL}, \
        {"happy", type, NULL, NULL, NULL}, {"sad", type, NULL, NULL, NULL},                              \
        {"surprise", type, NULL, NULL, NULL}, {"neutral", type, NULL, NULL, NULL}

static const et_schema_column runs_columns[ET_COL_RUNS_COUNT] = {
    [ET_COL_RUNS_ID] = {"id", "INTEGER", "PRIMARY KEY", NULL, NULL},
    [ET_COL_RUNS_STARTED_AT] = {"started_at", "TEXT", "NOT NULL", NULL, NULL},
    [ET_COL_RUNS_TOOL_VERSION] = {"tool_version", "TEXT", "NOT NULL", NULL, NULL},
    [ET_COL_RUNS_WEIGHTS] = {"weights", "TEXT", "NOT NULL", NULL, NULL},
    [ET_COL_RUNS_OPTIONS] = {"options", "TEXT", "NOT NULL", NULL, NULL},
};

static const et_schema_column media_columns[ET_COL_MEDIA_COUNT] = {
    [ET_COL_MEDIA_ID] = {"id", "INTEGER", "PRIMARY KEY", NULL, NULL},
    [ET_COL_MEDIA_PATH] = {"path", "TEXT", "NOT NULL UNIQUE", NULL, NULL},
    [ET_COL_MEDIA_SIZE] = {"size", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_MEDIA_MTIME] = {"mtime", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_MEDIA_DURATION] = {"duration", "REAL", NULL, NULL, NULL},
    [ET_COL_MEDIA_FPS] = {"fps", "REAL", NULL, NULL, NULL},
    [ET_COL_MEDIA_WIDTH] = {"width", "INTEGER", NULL, NULL, NULL},
    [ET_COL_MEDIA_HEIGHT] = {"height", "INTEGER", NULL, NULL, NULL},
    [ET_COL_MEDIA_FRAMES_ANALYZED] = {"frames_analyzed", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_MEDIA_STATUS] = {"status", "TEXT", "NOT NULL CHECK (status IN ('done', 'failed'))", NULL, NULL},
    [ET_COL_MEDIA_ERROR] = {"error", "TEXT", NULL, NULL, NULL},
    [ET_COL_MEDIA_RUN_ID] = {"run_id", "INTEGER", "NOT NULL REFERENCES runs(id)", NULL, "runs"},
    /* The default keeps the INSERTs of older builds valid. */
    [ET_COL_MEDIA_FRAMES_DROPPED] = {"frames_dropped", "INTEGER", "NOT NULL DEFAULT 0", "0", NULL},
};

static const et_schema_column tracks_columns[ET_COL_TRACKS_COUNT] = {
    [ET_COL_TRACKS_ID] = {"id", "INTEGER", "PRIMARY KEY", NULL, NULL},
    [ET_COL_TRACKS_MEDIA_ID] = {"media_id", "INTEGER", "NOT NULL REFERENCES media(id)", NULL, "media"},
    [ET_COL_TRACKS_TRACK] = {"track", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_TRACKS_FIRST_T] = {"first_t", "REAL", "NOT NULL", NULL, NULL},
    [ET_COL_TRACKS_LAST_T] = {"last_t", "REAL", "NOT NULL", NULL, NULL},
    [ET_COL_TRACKS_FRAMES] = {"frames", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_TRACKS_EMOTION] = {"emotion", "TEXT", "NOT NULL", NULL, NULL},
    EMOTION_COLUMNS("REAL"),
    [ET_COL_TRACKS_PERSON] = {"person", "INTEGER", NULL, "NULL", NULL},
    [ET_COL_TRACKS_EMBEDDING] = {"embedding", "BLOB", NULL, "NULL", NULL},
};

static const et_schema_column observations_columns[ET_COL_OBS_COUNT] = {
    [ET_COL_OBS_MEDIA_ID] = {"media_id", "INTEGER", "NOT NULL REFERENCES media(id)", NULL, "media"},
    [ET_COL_OBS_FRAME] = {"frame", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_OBS_T] = {"t", "REAL", "NOT NULL", NULL, NULL},
    [ET_COL_OBS_TRACK_ID] = {"track_id", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_OBS_X] = {"x", "REAL", NULL, NULL, NULL},
    [ET_COL_OBS_Y] = {"y", "REAL", NULL, NULL, NULL},
    [ET_COL_OBS_W] = {"w", "REAL", NULL, NULL, NULL},
    [ET_COL_OBS_H] = {"h", "REAL", NULL, NULL, NULL},
    [ET_COL_OBS_SCORE] = {"score", "REAL", NULL, NULL, NULL},
    EMOTION_COLUMNS("REAL"),
    [ET_COL_OBS_EMOTION] = {"emotion", "TEXT", "NOT NULL", NULL, NULL},
    [ET_COL_OBS_PERSON] = {"person", "INTEGER", NULL, "NULL", NULL},
};

/* The whole table came later: none of its columns has an old value. */
static const et_schema_column persons_columns[ET_COL_PERSONS_COUNT] = {
    [ET_COL_PERSONS_MEDIA_ID] = {"media_id", "INTEGER", "NOT NULL REFERENCES media(id) ON DELETE CASCADE", NULL,
                                 "media"},
    [ET_COL_PERSONS_PERSON] = {"person", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_PERSONS_SCOPE] = {"scope", "TEXT", "NOT NULL CHECK (scope IN ('file', 'run'))", NULL, NULL},
    [ET_COL_PERSONS_FIRST_T] = {"first_t", "REAL", "NOT NULL", NULL, NULL},
    [ET_COL_PERSONS_LAST_T] = {"last_t", "REAL", "NOT NULL", NULL, NULL},
    [ET_COL_PERSONS_ON_SCREEN] = {"on_screen", "REAL", "NOT NULL", NULL, NULL},
    [ET_COL_PERSONS_TRACKS] = {"tracks", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_PERSONS_FRAMES] = {"frames", "INTEGER", "NOT NULL", NULL, NULL},
    [ET_COL_PERSONS_EMOTION] = {"emotion", "TEXT", "NOT NULL", NULL, NULL},
    EMOTION_COLUMNS("REAL"),
};

const et_schema_table et_schema_tables[ET_TABLE_COUNT] = {
    [ET_TABLE_RUNS] = {"runs", runs_columns, ET_COL_RUNS_COUNT, NULL, 0},
    [ET_TABLE_MEDIA] = {"media", media_columns, ET_COL_MEDIA_COUNT, NULL, 0},
    [ET_TABLE_TRACKS] = {"tracks", tracks_columns, ET_COL_TRACKS_COUNT, "UNIQUE (media_id, track)", 0},
    [ET_TABLE_OBSERVATIONS] = {"observations", observations_columns, ET_COL_OBS_COUNT, NULL, 0},
    [ET_TABLE_PERSONS] = {"persons", persons_columns, ET_COL_PERSONS_COUNT, "UNIQUE (media_id, person)", 1},
};

const char et_schema_indexes_sql[] = "CREATE INDEX observations_track ON observations (media_id, track_id, t);\n"
                                     "CREATE INDEX observations_time ON observations (media_id, t);\n";

int et_schema_is_key(const et_schema_column *c)
{
    return c->constraint && !strcmp(c->constraint, "PRIMARY KEY") && !strcmp(c->type, "INTEGER");
}

/* Text appended to a buffer; a failed append sticks (failed). */
typedef struct {
    char *buf;
    size_t size, len;
    int failed;
} sql_text;

static void put(sql_text *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->buf + s->len, s->size - s->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= s->size - s->len)
        s->failed = 1;
    else
        s->len += (size_t)n;
}

static sql_text sql_text_at(char *buf, size_t size)
{
    sql_text s = {buf, size, 0, size == 0};
    if (size)
        buf[0] = '\0';
    return s;
}

static void put_create(sql_text *s, const et_schema_table *t)
{
    put(s, "CREATE TABLE %s (\n", t->name);
    for (int i = 0; i < t->ncolumns; i++) {
        const et_schema_column *c = &t->columns[i];
        int last = i == t->ncolumns - 1 && !t->table_constraint;
        put(s, "  %s %s%s%s%s\n", c->name, c->type, c->constraint ? " " : "", c->constraint ? c->constraint : "",
            last ? "" : ",");
    }
    if (t->table_constraint)
        put(s, "  %s\n", t->table_constraint);
    put(s, ");\n");
}

int et_schema_create_sql(char *buf, size_t size, const et_schema_table *t)
{
    sql_text s = sql_text_at(buf, size);
    put_create(&s, t);
    return s.failed ? -1 : 0;
}

int et_schema_create_all_sql(char *buf, size_t size)
{
    sql_text s = sql_text_at(buf, size);
    for (int i = 0; i < ET_TABLE_COUNT; i++)
        put_create(&s, &et_schema_tables[i]);
    put(&s, "%s", et_schema_indexes_sql);
    put(&s, "PRAGMA application_id = " STR(ET_SCHEMA_APPLICATION_ID) ";\n");
    put(&s, "PRAGMA user_version = " STR(ET_SCHEMA_VERSION) ";\n");
    return s.failed ? -1 : 0;
}

static void put_columns(sql_text *s, const et_schema_table *t)
{
    const char *sep = "";
    for (int i = 0; i < t->ncolumns; i++) {
        if (et_schema_is_key(&t->columns[i]))
            continue;
        put(s, "%s%s", sep, t->columns[i].name);
        sep = ", ";
    }
}

int et_schema_column_list(char *buf, size_t size, const et_schema_table *t)
{
    sql_text s = sql_text_at(buf, size);
    put_columns(&s, t);
    return s.failed ? -1 : 0;
}

int et_schema_insert_sql(char *buf, size_t size, const et_schema_table *t)
{
    sql_text s = sql_text_at(buf, size);
    put(&s, "INSERT INTO %s (", t->name);
    put_columns(&s, t);
    put(&s, ") VALUES (");
    const char *sep = "";
    for (int i = 0; i < t->ncolumns; i++) {
        if (et_schema_is_key(&t->columns[i]))
            continue;
        put(&s, "%s?%d", sep, et_schema_param(i));
        sep = ", ";
    }
    put(&s, ")");
    return s.failed ? -1 : 0;
}

int et_schema_select_sql(char *buf, size_t size, sqlite3 *db, const et_schema_table *t, int rowid, const char *tail)
{
    sql_text s = sql_text_at(buf, size);
    put(&s, "SELECT %s", rowid ? "rowid, " : "");
    for (int i = 0; i < t->ncolumns; i++) {
        const et_schema_column *c = &t->columns[i];
        int old = c->old_value && !et_schema_has_column(db, t->name, c->name);
        put(&s, "%s%s", i ? ", " : "", old ? c->old_value : c->name);
    }
    put(&s, " FROM %s%s%s", t->name, tail ? " " : "", tail ? tail : "");
    return s.failed ? -1 : 0;
}

int et_schema_has_column(sqlite3 *db, const char *table, const char *column)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}
