/* Results back from the files `analyze` writes. SQLite is read with plain
 * SQL against the documented schema (read-only, so a running analysis is
 * not disturbed); CSV and JSON Lines are matched by column name, so
 * columns may come in any order and extra ones are ignored. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/json.h"
#include "emotrace/results.h"
#include "emotrace/schema.h"

void et_results_free(et_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->media[i].path);
        free(r->media[i].obs);
    }
    free(r->media);
    memset(r, 0, sizeof *r);
}

static et_result_media *media_add(et_results *r, const char *path)
{
    if (r->count == r->capacity) {
        size_t cap = r->capacity ? 2 * r->capacity : 8;
        et_result_media *grown = realloc(r->media, cap * sizeof *grown);
        if (!grown)
            return NULL;
        r->media = grown;
        r->capacity = cap;
    }
    et_result_media *m = &r->media[r->count];
    memset(m, 0, sizeof *m);
    if (!(m->path = strdup(path)))
        return NULL;
    r->count++;
    return m;
}

/* The media of path, added at the end when new (text files: a path's rows
 * usually come together, so the last one is checked first). */
static et_result_media *media_find(et_results *r, const char *path)
{
    for (size_t i = r->count; i-- > 0;)
        if (!strcmp(r->media[i].path, path))
            return &r->media[i];
    return media_add(r, path);
}

static int obs_add(et_result_media *m, const et_observation *o)
{
    if (m->count == m->capacity) {
        size_t cap = m->capacity ? 2 * m->capacity : 256;
        et_observation *grown = realloc(m->obs, cap * sizeof *grown);
        if (!grown)
            return ET_ERR_NOMEM;
        m->obs = grown;
        m->capacity = cap;
    }
    m->obs[m->count++] = *o;
    return ET_OK;
}

static int obs_compare(const void *a, const void *b)
{
    const et_observation *x = a, *y = b;
    if (x->track != y->track)
        return x->track < y->track ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->frame > y->frame) - (x->frame < y->frame);
}

/* ---- SQLite ---- */

static int sqlite_fail(sqlite3 *db, const char *path)
{
    return et_error_set(ET_ERR_FORMAT, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
}

static int read_sqlite(et_results *r, const char *path)
{
    char media_sql[1024], obs_sql[1024];
    static const char scope_sql[] = "SELECT scope = 'run' FROM persons WHERE media_id = ? LIMIT 1";
    sqlite3 *db = NULL;
    sqlite3_stmt *media = NULL, *obs = NULL, *scope = NULL;
    int rc = ET_OK, step;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = sqlite_fail(db, path);
        goto end;
    }
    sqlite3_busy_timeout(db, 10000);
    /* Every column by name, in the schema's order (older databases give
     * the old value of a column they lack). */
    if (et_schema_select_sql(media_sql, sizeof media_sql, db, &et_schema_tables[ET_TABLE_MEDIA], 0,
                             "WHERE status = 'done' ORDER BY path") != 0 ||
        et_schema_select_sql(obs_sql, sizeof obs_sql, db, &et_schema_tables[ET_TABLE_OBSERVATIONS], 0,
                             "WHERE media_id = ?1") != 0) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: reading: statement too long", path);
        goto end;
    }
    if (sqlite3_prepare_v2(db, media_sql, -1, &media, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, obs_sql, -1, &obs, NULL) != SQLITE_OK) {
        rc = et_error_set(ET_ERR_FORMAT, "%s: not an emotrace results database (%s)", path, sqlite3_errmsg(db));
        goto end;
    }
    while ((step = sqlite3_step(media)) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(media, ET_COL_MEDIA_PATH);
        et_result_media *m = media_add(r, name ? (const char *)name : "");
        if (!m) {
            rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
            goto end;
        }
        m->duration = sqlite3_column_double(media, ET_COL_MEDIA_DURATION);
        m->fps = sqlite3_column_double(media, ET_COL_MEDIA_FPS);
        m->width = sqlite3_column_int(media, ET_COL_MEDIA_WIDTH);
        m->height = sqlite3_column_int(media, ET_COL_MEDIA_HEIGHT);
        m->run = sqlite3_column_int64(media, ET_COL_MEDIA_RUN_ID);
        m->persons = ET_PERSONS_NONE;
        if (scope || sqlite3_prepare_v2(db, scope_sql, -1, &scope, NULL) == SQLITE_OK) {
            sqlite3_reset(scope);
            sqlite3_bind_int64(scope, 1, sqlite3_column_int64(media, ET_COL_MEDIA_ID));
            if (sqlite3_step(scope) == SQLITE_ROW)
                m->persons = sqlite3_column_int(scope, 0) ? ET_PERSONS_RUN : ET_PERSONS_FILE;
        }
        sqlite3_reset(obs);
        sqlite3_bind_int64(obs, 1, sqlite3_column_int64(media, ET_COL_MEDIA_ID));
        while ((step = sqlite3_step(obs)) == SQLITE_ROW) {
            et_observation o = {0};
            o.frame = sqlite3_column_int64(obs, ET_COL_OBS_FRAME);
            o.t = sqlite3_column_double(obs, ET_COL_OBS_T);
            o.track = sqlite3_column_int(obs, ET_COL_OBS_TRACK_ID);
            o.x = sqlite3_column_double(obs, ET_COL_OBS_X);
            o.y = sqlite3_column_double(obs, ET_COL_OBS_Y);
            o.w = sqlite3_column_double(obs, ET_COL_OBS_W);
            o.h = sqlite3_column_double(obs, ET_COL_OBS_H);
            o.score = sqlite3_column_double(obs, ET_COL_OBS_SCORE);
            for (int k = 0; k < ET_EMOTIONS; k++)
                o.prob[k] = sqlite3_column_double(obs, ET_COL_OBS_PROB + k);
            const unsigned char *label = sqlite3_column_text(obs, ET_COL_OBS_EMOTION);
            o.emotion = label ? et_emotion_from_name((const char *)label) : -1;
            o.person = sqlite3_column_int(obs, ET_COL_OBS_PERSON);
            if (o.emotion < 0) {
                rc = et_error_set(ET_ERR_FORMAT, "%s: %s: observation at %.3f s has emotion '%s'", path, m->path, o.t,
                                  label ? (const char *)label : "NULL");
                goto end;
            }
            if (obs_add(m, &o) != ET_OK) {
                rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
                goto end;
            }
        }
        if (step != SQLITE_DONE) {
            rc = sqlite_fail(db, path);
            goto end;
        }
    }
    if (step != SQLITE_DONE)
        rc = sqlite_fail(db, path);
end:
    sqlite3_finalize(media);
    sqlite3_finalize(obs);
    sqlite3_finalize(scope);
    sqlite3_close(db);
    return rc;
}

/* ---- CSV and JSON Lines ---- */

/* person last: it is not parsed with the numbers (empty or null when
 * persons were not linked; absent in files from before persons). */
enum { COL_PATH, COL_FRAME, COL_T, COL_TRACK, COL_X, COL_Y, COL_W, COL_H, COL_SCORE, COL_PROB, COL_EMOTION = COL_PROB + ET_EMOTIONS,
       COL_PERSON, COLUMNS };

static const char *column_name(int c)
{
    static const char *const names[] = {"path", "frame", "t", "track", "x", "y", "w", "h", "score"};
    if (c < COL_PROB)
        return names[c];
    if (c < COL_EMOTION)
        return et_emotion_names[c - COL_PROB];
    return c == COL_EMOTION ? "emotion" : "person";
}

/* Whether a missing column is acceptable (then taken as 0, or for the
 * emotion label as the most probable emotion). */
static int column_optional(int c)
{
    return c == COL_FRAME || (c >= COL_X && c <= COL_SCORE) || c == COL_EMOTION || c == COL_PERSON;
}

static int parse_number(const char *text, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    return end != text && *end == '\0' && errno != ERANGE ? 0 : -1;
}

/* Fills o from the text of each column (NULL: absent). */
static int observation_from_fields(const char *const fields[COLUMNS], et_observation *o, char *why, size_t why_size)
{
    double v[COL_EMOTION] = {0};
    memset(o, 0, sizeof *o);
    for (int c = COL_FRAME; c < COL_EMOTION; c++) {
        if (!fields[c])
            continue;
        if (parse_number(fields[c], &v[c]) != 0) {
            snprintf(why, why_size, "%s is '%s', not a number", column_name(c), fields[c]);
            return -1;
        }
    }
    o->frame = (int64_t)v[COL_FRAME];
    o->t = v[COL_T];
    o->track = (int)v[COL_TRACK];
    o->x = v[COL_X];
    o->y = v[COL_Y];
    o->w = v[COL_W];
    o->h = v[COL_H];
    o->score = v[COL_SCORE];
    int best = 0;
    for (int k = 0; k < ET_EMOTIONS; k++) {
        o->prob[k] = v[COL_PROB + k];
        if (o->prob[k] > o->prob[best])
            best = k;
    }
    o->emotion = best;
    if (fields[COL_PERSON] && *fields[COL_PERSON]) {
        double person;
        if (parse_number(fields[COL_PERSON], &person) != 0 || person < 0 || person > 1e9) {
            snprintf(why, why_size, "person is '%s', not a person number", fields[COL_PERSON]);
            return -1;
        }
        o->person = (int)person;
    }
    if (fields[COL_EMOTION] && (o->emotion = et_emotion_from_name(fields[COL_EMOTION])) < 0) {
        snprintf(why, why_size, "emotion '%s' is not one of the seven", fields[COL_EMOTION]);
        return -1;
    }
    return 0;
}

/* One CSV record (RFC 4180: quoted fields may hold commas, quotes and line
 * breaks) from f into fields (pointers into *buf). Returns the number of
 * fields, 0 at the end of the file, negative on error. */
#define MAX_FIELDS 64
static int csv_record(FILE *f, char **buf, size_t *cap, char *fields[MAX_FIELDS], long *line)
{
    size_t len = 0;
    int n = 0, quoted = 0, c, any = 0;
    size_t starts[MAX_FIELDS];
    starts[n++] = 0;
    while ((c = getc(f)) != EOF) {
        any = 1;
        if (len + 2 > *cap) {
            size_t grown_cap = *cap ? 2 * *cap : 1024;
            char *grown = realloc(*buf, grown_cap);
            if (!grown)
                return ET_ERR_NOMEM;
            *buf = grown;
            *cap = grown_cap;
        }
        if (quoted) {
            if (c == '"') {
                int next = getc(f);
                if (next == '"') {
                    (*buf)[len++] = '"';
                    continue;
                }
                if (next != EOF)
                    ungetc(next, f);
                quoted = 0;
                continue;
            }
            if (c == '\n')
                (*line)++;
            (*buf)[len++] = (char)c;
            continue;
        }
        if (c == '"') {
            quoted = 1;
        } else if (c == ',') {
            if (n == MAX_FIELDS)
                return ET_ERR_FORMAT;
            (*buf)[len++] = '\0';
            starts[n++] = len;
        } else if (c == '\n') {
            (*line)++;
            break;
        } else if (c != '\r') {
            (*buf)[len++] = (char)c;
        }
    }
    if (!any)
        return 0;
    if (quoted)
        return ET_ERR_FORMAT;
    if (!*buf && !(*buf = malloc(1)))
        return ET_ERR_NOMEM;
    (*buf)[len] = '\0';
    for (int i = 0; i < n; i++)
        fields[i] = *buf + starts[i];
    return n;
}

static int read_csv(et_results *r, const char *path, FILE *f)
{
    char *buf = NULL, *fields[MAX_FIELDS];
    size_t cap = 0;
    long line = 0;
    int map[COLUMNS], n, rc = ET_OK;
    char why[256];

    n = csv_record(f, &buf, &cap, fields, &line);
    if (n <= 0) {
        rc = n == ET_ERR_NOMEM ? et_error_set(ET_ERR_NOMEM, "%s: out of memory", path)
                               : et_error_set(ET_ERR_FORMAT, "%s: no CSV header line", path);
        goto end;
    }
    for (int c = 0; c < COLUMNS; c++) {
        map[c] = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(fields[i], column_name(c)))
                map[c] = i;
        if (map[c] < 0 && !column_optional(c)) {
            rc = et_error_set(ET_ERR_FORMAT, "%s: line 1: no column '%s' (not an emotrace results CSV)", path,
                              column_name(c));
            goto end;
        }
    }
    for (;;) {
        long start_line = line + 1;
        n = csv_record(f, &buf, &cap, fields, &line);
        if (n == 0)
            break;
        if (n < 0) {
            rc = n == ET_ERR_NOMEM ? et_error_set(ET_ERR_NOMEM, "%s: out of memory", path)
                                   : et_error_set(ET_ERR_FORMAT, "%s: line %ld: malformed CSV record", path, start_line);
            goto end;
        }
        if (n == 1 && !*fields[0])
            continue; /* blank line */
        const char *values[COLUMNS];
        for (int c = 0; c < COLUMNS; c++) {
            if (map[c] >= n) {
                rc = et_error_set(ET_ERR_FORMAT, "%s: line %ld: %d fields, the header has more", path, start_line, n);
                goto end;
            }
            values[c] = map[c] >= 0 ? fields[map[c]] : NULL;
        }
        et_observation o;
        if (observation_from_fields(values, &o, why, sizeof why) != 0) {
            rc = et_error_set(ET_ERR_FORMAT, "%s: line %ld: %s", path, start_line, why);
            goto end;
        }
        et_result_media *m = media_find(r, values[COL_PATH]);
        if (!m || obs_add(m, &o) != ET_OK) {
            rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
            goto end;
        }
    }
    if (ferror(f))
        rc = et_error_set(ET_ERR_IO, "%s: read error: %s", path, strerror(errno));
end:
    free(buf);
    return rc;
}

static int read_jsonl(et_results *r, const char *path, FILE *f)
{
    char *text = NULL;
    size_t cap = 0;
    ssize_t len;
    long line = 0;
    int rc = ET_OK;
    char why[256], numbers[COLUMNS][32];
    while ((len = getline(&text, &cap, f)) >= 0) {
        line++;
        et_json *root = NULL;
        size_t i = 0;
        while (i < (size_t)len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
            i++;
        if (i == (size_t)len)
            continue;
        if (et_json_parse(text, (size_t)len, &root) != ET_OK) {
            rc = et_error_wrap(ET_ERR_FORMAT, "%s: line %ld: ", path, line);
            goto end;
        }
        const char *values[COLUMNS];
        for (int c = 0; c < COLUMNS; c++) {
            const et_json *v = root->type == ET_JSON_OBJECT ? et_json_get(root, column_name(c)) : NULL;
            values[c] = NULL;
            if (v && v->type == ET_JSON_STRING) {
                values[c] = v->string;
            } else if (v && v->type == ET_JSON_NUMBER) {
                snprintf(numbers[c], sizeof numbers[c], "%.17g", v->number);
                values[c] = numbers[c];
            } else if (!column_optional(c)) {
                et_json_free(root);
                rc = et_error_set(ET_ERR_FORMAT, "%s: line %ld: no '%s' (not an emotrace results line)", path, line,
                                  column_name(c));
                goto end;
            }
        }
        et_observation o;
        int bad = observation_from_fields(values, &o, why, sizeof why);
        et_result_media *m = bad ? NULL : media_find(r, values[COL_PATH]);
        int added = m && obs_add(m, &o) == ET_OK;
        et_json_free(root);
        if (bad) {
            rc = et_error_set(ET_ERR_FORMAT, "%s: line %ld: %s", path, line, why);
            goto end;
        }
        if (!added) {
            rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
            goto end;
        }
    }
    if (ferror(f))
        rc = et_error_set(ET_ERR_IO, "%s: read error: %s", path, strerror(errno));
end:
    free(text);
    return rc;
}

int et_results_load(et_results *r, const char *path)
{
    et_sink_format format;
    int rc;
    memset(r, 0, sizeof *r);
    if (et_sink_format_choose(path, NULL, &format) != ET_OK)
        return et_error_set(ET_ERR_USAGE, "%s: not a results file (expected .sqlite, .db, .csv or .jsonl)", path);
    if (format == ET_SINK_SQLITE) {
        FILE *probe = fopen(path, "rb");
        if (!probe)
            return et_error_set(ET_ERR_IO, "%s: %s", path, strerror(errno));
        fclose(probe);
        rc = read_sqlite(r, path);
    } else {
        int is_stdin = !strcmp(path, "-");
        FILE *f = is_stdin ? stdin : fopen(path, "rb");
        if (!f)
            return et_error_set(ET_ERR_IO, "%s: %s", path, strerror(errno));
        const char *name = is_stdin ? "standard input" : path;
        rc = format == ET_SINK_CSV ? read_csv(r, name, f) : read_jsonl(r, name, f);
        if (!is_stdin)
            fclose(f);
    }
    if (rc != ET_OK) {
        et_results_free(r);
        return rc;
    }
    for (size_t i = 0; i < r->count; i++)
        if (r->media[i].count > 1)
            qsort(r->media[i].obs, r->media[i].count, sizeof *r->media[i].obs, obs_compare);
    return ET_OK;
}
