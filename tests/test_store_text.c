/* The CSV and JSON Lines stores: written with et_sink_*, parsed back. */
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emotrace/error.h"
#include "emotrace/json.h"
#include "emotrace/store.h"
#include "test.h"

enum { ANGRY, DISGUST, FEAR, HAPPY, SAD, SURPRISE, NEUTRAL }; /* FER2013 order */

/* Awkward but legal file names: separators, quotes, line breaks, UTF-8. */
static const char *const tricky_paths[] = {
    "plain.mp4",
    "with,comma.mp4",
    "say \"hi\".mp4",
    "line\nbreak.mp4",
    "carriage\rreturn.mp4",
    "both, \"all\"\r\n of them.mp4",
    "caf\xC3\xA9 \xE8\xA6\x96\xE9\xA0\xBB \xF0\x9F\x98\x80.mp4", /* café 視頻 😀 */
    "back\\slash\ttab.mp4",
};
#define NPATHS ((int)(sizeof tricky_paths / sizeof tricky_paths[0]))

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    et_strbuf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        et_strbuf_append(&b, chunk, n);
    fclose(f);
    *len = b.length;
    if (!b.data)
        return calloc(1, 1);
    return b.data;
}

static et_observation observation(int frame, int track, double x)
{
    et_observation o = {0};
    o.frame = frame;
    o.t = frame / 30.0;
    o.track = track;
    o.person = track; /* track 0: no person (empty field), track 1: person 1 */
    o.x = x;
    o.y = 12.125;
    o.w = 100;
    o.h = 120.5;
    o.score = 0.98765;
    double p[ET_EMOTIONS] = {0.01, 0.02, 0.03, 0.6, 0.04, 0.05, 0.25};
    memcpy(o.prob, p, sizeof p);
    o.emotion = HAPPY;
    return o;
}

/* Writes two observations for every tricky path. */
static int write_all(et_sink *s)
{
    for (int i = 0; i < NPATHS; i++) {
        et_media_info m = {0};
        m.path = tricky_paths[i];
        int rc = et_sink_begin_media(s, &m);
        for (int k = 0; rc == ET_OK && k < 2; k++) {
            et_observation o = observation(10 * i + k, k, -3.25 + i);
            rc = et_sink_write_observation(s, &o);
        }
        if (rc == ET_OK)
            rc = et_sink_end_media(s, &m, NULL, 0);
        if (rc != ET_OK)
            return rc;
    }
    return ET_OK;
}

/* --- a small RFC 4180 reader --------------------------------------------- */

#define CSV_MAX_FIELDS 32

typedef struct {
    char *field[CSV_MAX_FIELDS];
    int count;
} csv_record;

/* Splits text into records. Returns the number of records, or -1 when the
 * text breaks the RFC (bare quote, junk after a closing quote, ...). */
static int csv_parse(const char *text, size_t len, csv_record *records, int max)
{
    size_t pos = 0;
    int n = 0;
    while (pos < len) {
        if (n == max)
            return -1;
        csv_record *r = &records[n++];
        r->count = 0;
        for (;;) {
            et_strbuf f = {0};
            et_strbuf_append(&f, "", 0);
            if (pos < len && text[pos] == '"') {
                pos++;
                for (;;) {
                    if (pos >= len) {
                        et_strbuf_free(&f);
                        return -1;
                    }
                    if (text[pos] == '"') {
                        if (pos + 1 < len && text[pos + 1] == '"') {
                            et_strbuf_append(&f, "\"", 1);
                            pos += 2;
                            continue;
                        }
                        pos++;
                        break;
                    }
                    et_strbuf_append(&f, text + pos++, 1);
                }
                if (pos < len && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
                    et_strbuf_free(&f);
                    return -1;
                }
            } else {
                while (pos < len && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
                    if (text[pos] == '"') {
                        et_strbuf_free(&f);
                        return -1;
                    }
                    et_strbuf_append(&f, text + pos++, 1);
                }
            }
            if (r->count == CSV_MAX_FIELDS) {
                et_strbuf_free(&f);
                return -1;
            }
            r->field[r->count++] = f.data;
            if (pos < len && text[pos] == ',') {
                pos++;
                continue;
            }
            if (pos < len && text[pos] == '\r') {
                if (pos + 1 >= len || text[pos + 1] != '\n')
                    return -1;
                pos++;
            }
            if (pos < len)
                pos++; /* '\n' */
            break;
        }
    }
    return n;
}

static void csv_free(csv_record *records, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < records[i].count; k++)
            free(records[i].field[k]);
}

static const char *const columns[] = {"path", "frame", "t",     "track", "person", "x",     "y",
                                      "w",    "h",     "score", "angry", "disgust", "fear",
                                      "happy", "sad",  "surprise", "neutral", "emotion"};

TEST(store_csv_round_trip)
{
    char path[512];
    snprintf(path, sizeof path, "%s/out.csv", test_tmpdir());
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(et_sink_format_of(s) == ET_SINK_CSV);
    CHECK(write_all(s) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);

    size_t len = 0;
    char *text = read_all(path, &len);
    REQUIRE(text);
    const char *header = "path,frame,t,track,person,x,y,w,h,score,angry,disgust,fear,happy,sad,surprise,"
                         "neutral,emotion\n";
    CHECK(!strncmp(text, header, strlen(header)));

    csv_record records[64];
    int n = csv_parse(text, len, records, 64);
    CHECK_EQ_INT(n, 1 + 2 * NPATHS);
    for (int r = 0; r < n; r++)
        CHECK_EQ_INT(records[r].count, 18);
    if (n == 1 + 2 * NPATHS) {
        for (int c = 0; c < 18; c++)
            CHECK(!strcmp(records[0].field[c], columns[c]));
        for (int i = 0; i < NPATHS; i++) {
            for (int k = 0; k < 2; k++) {
                char **f = records[1 + 2 * i + k].field;
                et_observation o = observation(10 * i + k, k, -3.25 + i);
                CHECK_MSG(!strcmp(f[0], tricky_paths[i]), "path %d read back as '%s'", i, f[0]);
                CHECK_EQ_INT(atoll(f[1]), o.frame);
                CHECK_NEAR(strtod(f[2], NULL), o.t, 0.00051);
                CHECK_EQ_INT(atoi(f[3]), o.track);
                CHECK(!strcmp(f[4], k ? "1" : "")); /* no person: empty */
                CHECK_NEAR(strtod(f[5], NULL), o.x, 0.0051);
                CHECK_NEAR(strtod(f[6], NULL), o.y, 0.0051);
                CHECK_NEAR(strtod(f[7], NULL), o.w, 0.0051);
                CHECK_NEAR(strtod(f[8], NULL), o.h, 0.0051);
                CHECK_NEAR(strtod(f[9], NULL), o.score, 0.000051);
                for (int e = 0; e < ET_EMOTIONS; e++)
                    CHECK_NEAR(strtod(f[10 + e], NULL), o.prob[e], 0.000051);
                CHECK(!strcmp(f[17], "happy"));
            }
        }
        /* Exact text of a few numbers. */
        CHECK(!strcmp(records[1].field[5], "-3.25"));
        CHECK(!strcmp(records[2].field[2], "0.033"));
        CHECK(!strcmp(records[1].field[9], "0.9877"));
        CHECK(!strcmp(records[1].field[13], "0.6000"));
    }
    csv_free(records, n > 0 ? n : 0);
    free(text);
}

/* Numbers never take the locale's decimal comma, and odd values stay
 * parseable: no "-0.000", empty fields for NaN. */
TEST(store_csv_numbers_ignore_locale)
{
    static const char *const comma_locales[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                                "nl_NL.UTF-8", "ru_RU.UTF-8"};
    int switched = 0;
    for (size_t i = 0; !switched && i < sizeof comma_locales / sizeof comma_locales[0]; i++)
        switched = setlocale(LC_NUMERIC, comma_locales[i]) != NULL &&
                   !strcmp(localeconv()->decimal_point, ",");

    char path[512];
    snprintf(path, sizeof path, "%s/numbers.csv", test_tmpdir());
    et_sink *s = NULL;
    int rc = et_sink_open(&s, path, "csv", NULL);
    if (rc == ET_OK) {
        et_media_info m = {0};
        m.path = "n.mp4";
        et_observation o = observation(3, 1, -0.0001);
        o.t = 1234.56789;
        o.w = 1e20;
        o.score = NAN;
        o.prob[0] = 1.0 / 3.0;
        CHECK(et_sink_begin_media(s, &m) == ET_OK);
        CHECK(et_sink_write_observation(s, &o) == ET_OK);
        CHECK(et_sink_end_media(s, &m, NULL, 0) == ET_OK);
        CHECK(et_sink_close(s) == ET_OK);
    }
    setlocale(LC_NUMERIC, "C");
    REQUIRE(rc == ET_OK);
    size_t len = 0;
    char *text = read_all(path, &len);
    REQUIRE(text);
    const char *row = strchr(text, '\n');
    REQUIRE(row);
    CHECK_MSG(!strcmp(row + 1, "n.mp4,3,1234.568,1,1,0.00,12.13,100000000000000000000,120.50,,"
                               "0.3333,0.0200,0.0300,0.6000,0.0400,0.0500,0.2500,happy\n"),
              "row: %s (comma locale %s)", row + 1, switched ? "used" : "not installed");
    free(text);
}

TEST(store_jsonl_round_trip)
{
    char path[512];
    snprintf(path, sizeof path, "%s/out.jsonl", test_tmpdir());
    et_sink *s = NULL;
    REQUIRE(et_sink_open(&s, path, NULL, NULL) == ET_OK);
    CHECK(et_sink_format_of(s) == ET_SINK_JSONL);
    CHECK(write_all(s) == ET_OK);
    /* Control characters and bytes that are not UTF-8. */
    et_media_info m = {0};
    m.path = "ctl\x01\x1f\x7f bad\xFF\xC3(.mp4";
    et_observation o = observation(99, 4, 1.5);
    o.score = NAN;
    CHECK(et_sink_begin_media(s, &m) == ET_OK);
    CHECK(et_sink_write_observation(s, &o) == ET_OK);
    CHECK(et_sink_end_media(s, &m, NULL, 0) == ET_OK);
    CHECK(et_sink_close(s) == ET_OK);

    size_t len = 0;
    char *text = read_all(path, &len);
    REQUIRE(text);
    int line = 0;
    for (char *p = text; *p; line++) {
        char *end = strchr(p, '\n');
        REQUIRE(end);
        et_json *j = NULL;
        int rc = et_json_parse(p, (size_t)(end - p), &j);
        CHECK_MSG(rc == ET_OK, "line %d: %s", line, et_error_message());
        if (rc == ET_OK) {
            CHECK_EQ_INT(j->count, 18);
            for (int c = 0; c < 18; c++) {
                const et_json *v = et_json_at(j, c);
                CHECK(v && !strcmp(v->key, columns[c]));
            }
            const char *got = et_json_get_string(j, "path", "");
            if (line < 2 * NPATHS) {
                int i = line / 2, k = line % 2;
                et_observation want = observation(10 * i + k, k, -3.25 + i);
                CHECK_MSG(!strcmp(got, tricky_paths[i]), "path %d read back as '%s'", i, got);
                CHECK_EQ_INT(et_json_get_number(j, "frame", -1), want.frame);
                CHECK_NEAR(et_json_get_number(j, "t", -1), want.t, 0.00051);
                CHECK_EQ_INT(et_json_get_number(j, "track", -1), want.track);
                /* No person: null. */
                const et_json *person = et_json_get(j, "person");
                CHECK(person && (k ? person->type == ET_JSON_NUMBER && person->number == 1
                                   : person->type == ET_JSON_NULL));
                CHECK_NEAR(et_json_get_number(j, "x", -1), want.x, 0.0051);
                CHECK_NEAR(et_json_get_number(j, "h", -1), want.h, 0.0051);
                CHECK_NEAR(et_json_get_number(j, "score", -1), want.score, 0.000051);
                for (int e = 0; e < ET_EMOTIONS; e++)
                    CHECK_NEAR(et_json_get_number(j, et_emotion_names[e], -1), want.prob[e], 0.000051);
                CHECK(!strcmp(et_json_get_string(j, "emotion", ""), "happy"));
            } else {
                /* Invalid bytes become U+FFFD, the rest comes back as is. */
                CHECK_MSG(!strcmp(got, "ctl\x01\x1f\x7f bad\xEF\xBF\xBD\xEF\xBF\xBD(.mp4"),
                          "path read back as '%s'", got);
                const et_json *score = et_json_get(j, "score");
                CHECK(score && score->type == ET_JSON_NULL);
            }
        }
        et_json_free(j);
        p = end + 1;
    }
    CHECK_EQ_INT(line, 2 * NPATHS + 1);
    free(text);
}

/* A full disk is an error, whether found at the end of a media file or,
 * when flushing every line, at the line. */
TEST(store_text_write_errors_are_reported)
{
    static const char *const formats[] = {"csv", "jsonl"};
    for (int f = 0; f < 2; f++) {
        for (int per_line = 0; per_line < 2; per_line++) {
            et_sink *s = NULL;
            REQUIRE(et_sink_open(&s, "/dev/full", formats[f], NULL) == ET_OK);
            et_sink_set_flush_lines(s, per_line);
            et_media_info m = {0};
            m.path = "a.mp4";
            et_observation o = observation(0, 1, 2.0);
            int rc = et_sink_begin_media(s, &m);
            if (rc == ET_OK)
                rc = et_sink_write_observation(s, &o);
            if (per_line)
                CHECK(rc == ET_ERR_IO);
            else if (rc == ET_OK)
                rc = et_sink_end_media(s, &m, NULL, 0);
            CHECK(rc == ET_ERR_IO);
            CHECK_MSG(strstr(et_error_message(), "/dev/full") &&
                          strstr(et_error_message(), "No space left on device"),
                      "message: %s", et_error_message());
            /* The error sticks. */
            CHECK(et_sink_begin_media(s, &m) == ET_ERR_IO);
            CHECK(strstr(et_error_message(), "No space left on device") != NULL);
            et_sink_close(s);
        }
    }
}

TEST(store_text_broken_pipe_is_an_error)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    close(fds[0]);
    struct sigaction ignore = {0}, old;
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", fds[1]);
    et_sink *s = NULL;
    int rc = et_sink_open(&s, path, "jsonl", NULL);
    if (rc == ET_OK) {
        et_media_info m = {0};
        m.path = "a.mp4";
        et_observation o = observation(0, 1, 2.0);
        CHECK(et_sink_begin_media(s, &m) == ET_OK);
        CHECK(et_sink_write_observation(s, &o) == ET_OK);
        CHECK(et_sink_end_media(s, &m, NULL, 0) == ET_ERR_IO);
        CHECK_MSG(strstr(et_error_message(), "Broken pipe") != NULL, "message: %s",
                  et_error_message());
        et_sink_close(s);
    }
    sigaction(SIGPIPE, &old, NULL);
    close(fds[1]);
    CHECK(rc == ET_OK);
}

/* "-" is CSV on standard output (checked in a child whose stdout is a file). */
TEST(store_text_stdout_is_csv)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stdout.txt", test_tmpdir());
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(2);
        et_sink *s = NULL;
        if (et_sink_open(&s, "-", NULL, NULL) != ET_OK)
            _exit(3);
        et_sink_set_flush_lines(s, 1);
        et_media_info m = {0};
        m.path = "v.mp4";
        et_observation o = observation(1, 0, 5.0);
        int rc = et_sink_begin_media(s, &m);
        if (rc == ET_OK)
            rc = et_sink_write_observation(s, &o);
        if (rc == ET_OK)
            rc = et_sink_end_media(s, &m, NULL, 0);
        if (et_sink_close(s) != ET_OK)
            rc = -1;
        _exit(rc == ET_OK ? 0 : 4);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    size_t len = 0;
    char *text = read_all(path, &len);
    REQUIRE(text);
    csv_record records[4];
    int n = csv_parse(text, len, records, 4);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK(!strcmp(records[0].field[0], "path"));
        CHECK(!strcmp(records[1].field[0], "v.mp4"));
        CHECK(!strcmp(records[1].field[5], "5.00"));
    }
    csv_free(records, n > 0 ? n : 0);
    free(text);
}

TEST(store_sink_format_choice)
{
    static const struct {
        const char *path, *format;
        int rc;
        et_sink_format want;
    } cases[] = {
        {"out.sqlite", NULL, ET_OK, ET_SINK_SQLITE},
        {"out.SQLite3", NULL, ET_OK, ET_SINK_SQLITE},
        {"dir.x/out.db", NULL, ET_OK, ET_SINK_SQLITE},
        {"out.csv", NULL, ET_OK, ET_SINK_CSV},
        {"OUT.CSV", NULL, ET_OK, ET_SINK_CSV},
        {"out.jsonl", NULL, ET_OK, ET_SINK_JSONL},
        {"-", NULL, ET_OK, ET_SINK_CSV},
        {"-", "jsonl", ET_OK, ET_SINK_JSONL},
        {"results.txt", "csv", ET_OK, ET_SINK_CSV},
        {"out.csv", "sqlite", ET_OK, ET_SINK_SQLITE},
        {"results.txt", NULL, ET_ERR_USAGE, 0},
        {"dir.csv/results", NULL, ET_ERR_USAGE, 0},
        {"out", NULL, ET_ERR_USAGE, 0},
        {"out.csv", "xml", ET_ERR_USAGE, 0},
        {"-", "sqlite", ET_ERR_USAGE, 0},
        {"", NULL, ET_ERR_USAGE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        et_sink_format got = (et_sink_format)-1;
        int rc = et_sink_format_choose(cases[i].path, cases[i].format, &got);
        CHECK_MSG(rc == cases[i].rc, "case %zu (%s): rc %d", i, cases[i].path, rc);
        if (rc == ET_OK)
            CHECK_MSG(got == cases[i].want, "case %zu (%s): format %d", i, cases[i].path, (int)got);
    }
    et_sink_format f;
    CHECK(et_sink_format_choose("results.txt", NULL, &f) == ET_ERR_USAGE);
    CHECK(strstr(et_error_message(), "results.txt") != NULL);
    CHECK(!strcmp(et_sink_format_name(ET_SINK_JSONL), "jsonl"));

    et_sink *s = NULL;
    CHECK(et_sink_open(&s, "results.txt", NULL, NULL) == ET_ERR_USAGE);
    CHECK(s == NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/no/dir/out.csv", test_tmpdir());
    CHECK(et_sink_open(&s, path, NULL, NULL) == ET_ERR_IO);
    CHECK(strstr(et_error_message(), path) != NULL);
}
