/* The SQLite results schema, written down once: the tables, their columns
 * in order, types and constraints. The sink creates and fills the tables
 * from it, merge copies them column by column, the results reader selects
 * from it, and tests/test_schema.c checks the man page's list of tables and
 * columns (OUTPUT, SQLite) against it.
 *
 * Each table's columns are numbered by an enum (ET_COL_<TABLE>_<COLUMN>) in
 * CREATE TABLE order. The statements built here give column c the
 * parameter ?(c + 1) (et_schema_param) and, in a select list, the result
 * column c; so code binds and reads by name, not by counting. */
#ifndef EMOTRACE_SCHEMA_H
#define EMOTRACE_SCHEMA_H

#include <sqlite3.h>
#include <stddef.h>

#include "emotrace/emotion.h"

#define ET_SCHEMA_VERSION 1
#define ET_SCHEMA_APPLICATION_ID 0x454D4F54 /* "EMOT" */

typedef struct {
    const char *name;
    const char *type;        /* INTEGER, REAL, TEXT or BLOB */
    const char *constraint;  /* after the type in CREATE TABLE, or NULL */
    /* For a column added after the first release: the value a database
     * from before it holds instead (an SQL literal such as "0" or "NULL").
     * NULL for the first release's columns. */
    const char *old_value;
    const char *references;  /* the table whose id this column holds, or NULL */
} et_schema_column;

typedef struct {
    const char *name;
    const et_schema_column *columns;
    int ncolumns;
    const char *table_constraint; /* e.g. "UNIQUE (media_id, track)", or NULL */
    int added_later;              /* absent from databases of the first release */
} et_schema_table;

enum { ET_COL_RUNS_ID, ET_COL_RUNS_STARTED_AT, ET_COL_RUNS_TOOL_VERSION, ET_COL_RUNS_WEIGHTS, ET_COL_RUNS_OPTIONS,
       ET_COL_RUNS_COUNT };

enum { ET_COL_MEDIA_ID, ET_COL_MEDIA_PATH, ET_COL_MEDIA_SIZE, ET_COL_MEDIA_MTIME, ET_COL_MEDIA_DURATION,
       ET_COL_MEDIA_FPS, ET_COL_MEDIA_WIDTH, ET_COL_MEDIA_HEIGHT, ET_COL_MEDIA_FRAMES_ANALYZED, ET_COL_MEDIA_STATUS,
       ET_COL_MEDIA_ERROR, ET_COL_MEDIA_RUN_ID, ET_COL_MEDIA_FRAMES_DROPPED, ET_COL_MEDIA_COUNT };

/* ..._PROB is the first of the ET_EMOTIONS probability columns, in the
 * order of et_emotion_names. */
enum { ET_COL_TRACKS_ID, ET_COL_TRACKS_MEDIA_ID, ET_COL_TRACKS_TRACK, ET_COL_TRACKS_FIRST_T, ET_COL_TRACKS_LAST_T,
       ET_COL_TRACKS_FRAMES, ET_COL_TRACKS_EMOTION, ET_COL_TRACKS_PROB,
       ET_COL_TRACKS_PERSON = ET_COL_TRACKS_PROB + ET_EMOTIONS, ET_COL_TRACKS_EMBEDDING, ET_COL_TRACKS_COUNT };

enum { ET_COL_OBS_MEDIA_ID, ET_COL_OBS_FRAME, ET_COL_OBS_T, ET_COL_OBS_TRACK_ID, ET_COL_OBS_X, ET_COL_OBS_Y,
       ET_COL_OBS_W, ET_COL_OBS_H, ET_COL_OBS_SCORE, ET_COL_OBS_PROB,
       ET_COL_OBS_EMOTION = ET_COL_OBS_PROB + ET_EMOTIONS, ET_COL_OBS_PERSON, ET_COL_OBS_COUNT };

enum { ET_COL_PERSONS_MEDIA_ID, ET_COL_PERSONS_PERSON, ET_COL_PERSONS_SCOPE, ET_COL_PERSONS_FIRST_T,
       ET_COL_PERSONS_LAST_T, ET_COL_PERSONS_ON_SCREEN, ET_COL_PERSONS_TRACKS, ET_COL_PERSONS_FRAMES,
       ET_COL_PERSONS_EMOTION, ET_COL_PERSONS_PROB, ET_COL_PERSONS_COUNT = ET_COL_PERSONS_PROB + ET_EMOTIONS };

/* The tables in CREATE order (a table only references those before it). */
enum { ET_TABLE_RUNS, ET_TABLE_MEDIA, ET_TABLE_TRACKS, ET_TABLE_OBSERVATIONS, ET_TABLE_PERSONS, ET_TABLE_COUNT };
extern const et_schema_table et_schema_tables[ET_TABLE_COUNT];

/* The CREATE INDEX statements, each ending in ";\n". */
extern const char et_schema_indexes_sql[];

/* The parameter number of column c in the statements built here. */
static inline int et_schema_param(int column)
{
    return column + 1;
}

/* Whether column c is an INTEGER PRIMARY KEY (SQLite numbers it). */
int et_schema_is_key(const et_schema_column *c);

/* Builders of SQL text into buf (size bytes). Each returns 0, or -1 when
 * buf is too small (then buf holds a truncated string). */
/* "CREATE TABLE name (...);\n" */
int et_schema_create_sql(char *buf, size_t size, const et_schema_table *t);
/* Every table, then the indexes and the PRAGMAs that mark the database
 * as an emotrace store of this version. */
int et_schema_create_all_sql(char *buf, size_t size);
/* "col1, col2, ..." of every column but the key. */
int et_schema_column_list(char *buf, size_t size, const et_schema_table *t);
/* "INSERT INTO name (col, ...) VALUES (?N, ...)": every column but the
 * key, column c at parameter et_schema_param(c). */
int et_schema_insert_sql(char *buf, size_t size, const et_schema_table *t);
/* "SELECT [rowid, ]col0, col1, ... FROM name[ tail]" over every column,
 * read from db: a column added after db was made selects its old_value
 * instead. With rowid set the row id comes first and column c is result
 * column c + 1; without, column c is result column c. tail may be NULL. */
int et_schema_select_sql(char *buf, size_t size, sqlite3 *db, const et_schema_table *t, int rowid, const char *tail);

/* 1 when db's table has the column (0 also when the table is missing). */
int et_schema_has_column(sqlite3 *db, const char *table, const char *column);

#endif
