/* The one definition of the SQLite schema (include/emotrace/schema.h)
 * against what it must agree with: the man page's list of tables and
 * columns (OUTPUT, SQLite), the database the sink creates, and the emotion
 * list. Runs from the repository root. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/emotion.h"
#include "emotrace/error.h"
#include "emotrace/results.h"
#include "emotrace/schema.h"
#include "emotrace/store.h"
#include "emotrace/store_merge.h"
#include "cli_run.h"
#include "db_dump.h"
#include "test.h"

#define MAN_PAGE "man/emotrace.1"
#define MAX_TABLES 16
#define MAX_COLUMNS 40

typedef struct {
    char name[32];
    char type[16];
    int primary_key, unique;
} man_column;

typedef struct {
    char name[32];
    man_column columns[MAX_COLUMNS];
    int ncolumns;
} man_table;

/* The names on a ".B name" or ".BR a ", " b ..." line (the quoted parts
 * are punctuation). Returns how many, 0 for any other line. */
static int schema_macro_names(const char *line, char names[][32], int max)
{
    if (strncmp(line, ".B ", 3) && strncmp(line, ".BR ", 4))
        return 0;
    const char *p = line + (line[2] == ' ' ? 3 : 4);
    int n = 0;
    while (*p && n < max) {
        while (*p == ' ')
            p++;
        if (*p == '"') {
            const char *end = strchr(p + 1, '"');
            if (!end)
                break;
            p = end + 1;
            continue;
        }
        size_t len = strcspn(p, " ");
        if (len == 0)
            break;
        snprintf(names[n++], 32, "%.*s", (int)len, p);
        p += len;
    }
    return n;
}

/* The lines of the SQLite section: a table starts at ".B table" followed
 * by "\(em ..."; each ".TP" then names its columns on the next line and
 * begins the line after with the type ("INTEGER PRIMARY KEY: ..."); ".PP"
 * ends the table. Returns the number of tables, -1 when malformed. */
static int schema_man_tables(char *section, man_table *tables, int max)
{
    int n = 0, in_table = 0;
    char *lines[4096];
    int nlines = 0;
    for (char *line = strtok(section, "\n"); line && nlines < 4096; line = strtok(NULL, "\n"))
        lines[nlines++] = line;
    for (int i = 0; i < nlines; i++) {
        char names[MAX_COLUMNS][32];
        if (!strcmp(lines[i], ".PP")) {
            in_table = 0;
        } else if (i + 1 < nlines && !strncmp(lines[i + 1], "\\(em", 4) &&
                   schema_macro_names(lines[i], names, 1) == 1 && !strncmp(lines[i], ".B ", 3)) {
            if (n == max)
                return -1;
            memset(&tables[n], 0, sizeof tables[n]);
            snprintf(tables[n++].name, 32, "%s", names[0]);
            in_table = 1;
        } else if (in_table && !strcmp(lines[i], ".TP") && i + 2 < nlines) {
            int k = schema_macro_names(lines[i + 1], names, MAX_COLUMNS);
            man_table *t = &tables[n - 1];
            if (k == 0 || t->ncolumns + k > MAX_COLUMNS)
                return -1;
            const char *doc = lines[i + 2];
            size_t type_len = strspn(doc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
            /* The declaration: up to the first ':' (or '.', "INTEGER PRIMARY KEY."). */
            char head[64];
            snprintf(head, sizeof head, "%.*s", (int)strcspn(doc, ":."), doc);
            for (int c = 0; c < k; c++) {
                man_column *col = &t->columns[t->ncolumns++];
                snprintf(col->name, sizeof col->name, "%s", names[c]);
                snprintf(col->type, sizeof col->type, "%.*s", (int)type_len, doc);
                col->primary_key = strstr(head, "PRIMARY KEY") != NULL;
                col->unique = strstr(head, "UNIQUE") != NULL;
            }
            i += 2;
        }
    }
    return n;
}

/* The SQLite section of the man page (from ".SS SQLite" to the next
 * section), caller frees; NULL when missing. */
static char *schema_man_section(void)
{
    char *page = file_read_text(MAN_PAGE);
    if (!page)
        return NULL;
    char *start = strstr(page, "\n.SS SQLite\n");
    char *section = NULL;
    if (start) {
        start++;
        char *end = strstr(start + 1, "\n.S");
        size_t len = end ? (size_t)(end - start) : strlen(start);
        if ((section = malloc(len + 1))) {
            memcpy(section, start, len);
            section[len] = '\0';
        }
    }
    free(page);
    return section;
}

static int schema_has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text ? strstr(text, word) : NULL; p; p = strstr(p + 1, word))
        if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Every table of the definition is documented once, with its columns in
 * order and their types, and the man page documents no other table. */
TEST(schema_man_page_lists_the_tables_and_columns)
{
    char *section = schema_man_section();
    REQUIRE(section != NULL);
    man_table tables[MAX_TABLES];
    int n = schema_man_tables(section, tables, MAX_TABLES);
    CHECK_EQ_INT(n, ET_TABLE_COUNT);
    for (int i = 0; i < ET_TABLE_COUNT; i++) {
        const et_schema_table *t = &et_schema_tables[i];
        const man_table *doc = NULL;
        for (int k = 0; k < n; k++)
            if (!strcmp(tables[k].name, t->name)) {
                CHECK_MSG(!doc, "table %s is documented twice", t->name);
                doc = &tables[k];
            }
        CHECK_MSG(doc != NULL, "table %s is not in the man page's SQLite section", t->name);
        if (!doc)
            continue;
        CHECK_MSG(doc->ncolumns == t->ncolumns, "table %s: the man page lists %d columns, the schema has %d",
                  t->name, doc->ncolumns, t->ncolumns);
        for (int c = 0; c < t->ncolumns && c < doc->ncolumns; c++) {
            const et_schema_column *col = &t->columns[c];
            const man_column *d = &doc->columns[c];
            CHECK_MSG(!strcmp(d->name, col->name), "table %s column %d: man page %s, schema %s", t->name, c + 1,
                      d->name, col->name);
            CHECK_MSG(!strcmp(d->type, col->type), "%s.%s: man page says %s, schema %s", t->name, col->name,
                      d->type, col->type);
            CHECK_MSG(d->primary_key == et_schema_is_key(col), "%s.%s: PRIMARY KEY differs", t->name, col->name);
            CHECK_MSG(d->unique == schema_has_word(col->constraint, "UNIQUE"), "%s.%s: UNIQUE differs", t->name,
                      col->name);
        }
    }
    for (int k = 0; k < n; k++) {
        int found = 0;
        for (int i = 0; i < ET_TABLE_COUNT; i++)
            found |= !strcmp(tables[k].name, et_schema_tables[i].name);
        CHECK_MSG(found, "the man page documents a table %s that the schema lacks", tables[k].name);
    }
    free(section);
}

/* Each index is documented as ".B name" then "on table (columns)". */
TEST(schema_man_page_lists_the_indexes)
{
    char *section = schema_man_section();
    REQUIRE(section != NULL);
    int count = 0;
    for (const char *p = strstr(et_schema_indexes_sql, "CREATE INDEX "); p; p = strstr(p + 1, "CREATE INDEX ")) {
        char name[64], rest[128], expected[256];
        REQUIRE(sscanf(p, "CREATE INDEX %63s ON %127[^;]", name, rest) == 2);
        snprintf(expected, sizeof expected, ".B %s\non %s", name, rest);
        CHECK_MSG(strstr(section, expected) != NULL, "the man page lacks \"%s\"", expected);
        count++;
    }
    CHECK_EQ_INT(count, 2);
    free(section);
}

/* The emotion columns follow the emotion list, in its order. */
TEST(schema_emotion_columns_follow_the_emotion_list)
{
    static const int first[][2] = {{ET_TABLE_TRACKS, ET_COL_TRACKS_PROB},
                                   {ET_TABLE_OBSERVATIONS, ET_COL_OBS_PROB},
                                   {ET_TABLE_PERSONS, ET_COL_PERSONS_PROB}};
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        for (int k = 0; k < ET_EMOTIONS; k++)
            CHECK(!strcmp(et_schema_tables[first[i][0]].columns[first[i][1] + k].name, et_emotion_names[k]));
}

/* The database the sink creates has exactly the defined columns, in order,
 * with their types, and its statements read back by column number. */
TEST(schema_created_database_matches_the_definition)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/schema.sqlite", test_tmpdir());
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK_EQ_INT(et_sink_close(s), ET_OK);
    sqlite3 *db = NULL;
    REQUIRE(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    for (int i = 0; i < ET_TABLE_COUNT; i++) {
        const et_schema_table *t = &et_schema_tables[i];
        sqlite3_stmt *st = NULL;
        REQUIRE(sqlite3_prepare_v2(db, "SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid", -1, &st,
                                   NULL) == SQLITE_OK);
        sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
        int c = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (c < t->ncolumns) {
                CHECK_MSG(!strcmp((const char *)sqlite3_column_text(st, 0), t->columns[c].name),
                          "%s column %d is %s", t->name, c, (const char *)sqlite3_column_text(st, 0));
                CHECK_MSG(!strcmp((const char *)sqlite3_column_text(st, 1), t->columns[c].type), "%s.%s is %s",
                          t->name, t->columns[c].name, (const char *)sqlite3_column_text(st, 1));
                CHECK_EQ_INT(sqlite3_column_int(st, 2) != 0, et_schema_is_key(&t->columns[c]));
            }
            c++;
        }
        sqlite3_finalize(st);
        CHECK_MSG(c == t->ncolumns, "table %s has %d columns, the definition %d", t->name, c, t->ncolumns);
        char sql[1024];
        CHECK_EQ_INT(et_schema_select_sql(sql, sizeof sql, db, t, 0, NULL), 0);
        CHECK_EQ_INT(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        CHECK_EQ_INT(sqlite3_column_count(st), t->ncolumns);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}

/* A database of the first release (none of the columns and tables added
 * since) is read and merged as it is, the missing columns taking their old
 * values, and the merge's output has them all. */
TEST(schema_first_release_database_is_read_and_merged)
{
    const char *old = test_path("old.sqlite");
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, old, NULL, NULL) == ET_OK);
    et_media_info m;
    memset(&m, 0, sizeof m);
    m.path = "a.mp4";
    m.status = ET_MEDIA_DONE;
    m.fps = 10;
    et_observation o;
    memset(&o, 0, sizeof o);
    o.track = 1;
    o.person = 1;
    o.prob[3] = 1;
    o.emotion = 3;
    CHECK_EQ_INT(et_sink_begin_media(s, &m), ET_OK);
    for (int i = 0; i < 3; i++) {
        o.frame = i;
        o.t = i * 0.1;
        CHECK_EQ_INT(et_sink_write_observation(s, &o), ET_OK);
    }
    CHECK_EQ_INT(et_sink_end_media(s, &m, NULL, 0), ET_OK);
    CHECK_EQ_INT(et_sink_close(s), ET_OK);
    REQUIRE(shell_runf("sqlite3 '%s' 'DROP TABLE persons; ALTER TABLE observations DROP COLUMN person; "
                       "ALTER TABLE tracks DROP COLUMN person; ALTER TABLE tracks DROP COLUMN embedding; "
                       "ALTER TABLE media DROP COLUMN frames_dropped'",
                       old) == 0);

    et_results r = {0};
    REQUIRE(et_results_load(&r, old) == ET_OK);
    CHECK_EQ_INT(r.count, 1);
    if (r.count == 1) {
        CHECK_EQ_INT(r.media[0].count, 3);
        CHECK_NEAR(r.media[0].fps, 10, 1e-9);
        CHECK_EQ_INT(r.media[0].count ? r.media[0].obs[0].person : -1, 0);
        CHECK_EQ_INT(r.media[0].count ? r.media[0].obs[2].emotion : -1, 3);
    }
    et_results_free(&r);

    const char *out = test_path("merged.sqlite");
    const char *inputs[] = {old};
    et_merge_stats stats;
    REQUIRE(et_store_merge(out, inputs, 1, &stats) == ET_OK);
    CHECK_EQ_INT(stats.runs, 1);
    CHECK_EQ_INT(stats.media, 1);
    CHECK_EQ_INT(stats.observations, 3);
    CHECK_EQ_INT(db_count(out, "SELECT frames_dropped FROM media WHERE path = 'a.mp4'"), 0);
    CHECK_EQ_INT(db_count(out, "SELECT COUNT(*) FROM observations WHERE person IS NULL AND happy = 1"), 3);
    CHECK_EQ_INT(db_count(out, "SELECT COUNT(*) FROM persons"), 0);
    CHECK_EQ_INT(db_count(out, "SELECT COUNT(*) FROM media m JOIN runs r ON r.id = m.run_id"), 1);
}
