/* The JSON reader on its own: escapes, surrogate pairs, the depth limit,
 * numbers, and the errors it gives. */
#include <stdio.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/json.h"
#include "test.h"

/* The string value text parses to, in out; nonzero when it parses. */
static int string_of(const char *text, char *out, size_t size)
{
    et_json *j = NULL;
    int ok = et_json_parse(text, strlen(text), &j) == ET_OK && j->type == ET_JSON_STRING;
    if (ok)
        snprintf(out, size, "%s", j->string);
    et_json_free(j);
    return ok;
}

/* Nonzero when len bytes of text fail to parse with a message holding
 * message_part (and what happened, on stderr, when not). */
static int fails_n(const char *text, size_t len, const char *message_part)
{
    et_json *j = NULL;
    int rc = et_json_parse(text, len, &j);
    int ok = rc == ET_ERR_FORMAT && !j && strstr(et_error_message(), message_part) != NULL;
    if (!ok)
        fprintf(stderr, "  %s: rc %d, message '%s', expected '%s'\n", text, rc, et_error_message(), message_part);
    et_json_free(j);
    return ok;
}

static int fails(const char *text, const char *message_part)
{
    return fails_n(text, strlen(text), message_part);
}

TEST(json_escapes)
{
    char s[64];
    REQUIRE(string_of("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", s, sizeof s));
    CHECK(!strcmp(s, "a\"b\\c/d\b\f\n\r\t"));
    REQUIRE(string_of("\"\\u0041\\u00e9\\u20AC\"", s, sizeof s));
    CHECK(!strcmp(s, "A\xc3\xa9\xe2\x82\xac")); /* A, e acute, euro sign */
    CHECK(fails("\"\\x\"", "bad escape"));
    CHECK(fails("\"\\u12G4\"", "bad \\u escape"));
    CHECK(fails("\"\\u12", "unterminated string"));
    CHECK(fails("\"a\tb\"", "control character"));
}

TEST(json_surrogate_pairs)
{
    char s[64];
    /* U+1F600 as a pair, in either case of hex digit. */
    REQUIRE(string_of("\"\\uD83D\\uDE00\"", s, sizeof s));
    CHECK(!strcmp(s, "\xf0\x9f\x98\x80"));
    REQUIRE(string_of("\"\\ud83d\\ude00!\"", s, sizeof s));
    CHECK(!strcmp(s, "\xf0\x9f\x98\x80!"));
    /* A high surrogate followed by another escape: U+FFFD, and the escape
     * after it is kept (it was swallowed, and the surrogate written as
     * invalid UTF-8). */
    REQUIRE(string_of("\"\\uD83D\\u0041\"", s, sizeof s));
    CHECK(!strcmp(s, "\xef\xbf\xbd" "A"));
    REQUIRE(string_of("\"\\uD83D\\n\"", s, sizeof s));
    CHECK(!strcmp(s, "\xef\xbf\xbd\n"));
    /* Lone surrogates, high at the end, low on its own. */
    REQUIRE(string_of("\"x\\uD800\"", s, sizeof s));
    CHECK(!strcmp(s, "x\xef\xbf\xbd"));
    REQUIRE(string_of("\"\\uDC00y\"", s, sizeof s));
    CHECK(!strcmp(s, "\xef\xbf\xbdy"));
    /* Two high surrogates then a low one: the second pairs. */
    REQUIRE(string_of("\"\\uD800\\uD83D\\uDE00\"", s, sizeof s));
    CHECK(!strcmp(s, "\xef\xbf\xbd\xf0\x9f\x98\x80"));
    CHECK(fails("\"\\uD83D\\uZZZZ\"", "bad \\u escape"));
}

/* 64 levels of containers are read, 65 are not. */
TEST(json_depth_limit)
{
    char text[2 * 65 + 1];
    for (int depth = 64; depth <= 65; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        text[2 * depth] = '\0';
        et_json *j = NULL;
        int rc = et_json_parse(text, strlen(text), &j);
        if (depth == 64) {
            CHECK_EQ_INT(rc, ET_OK);
            int levels = 0;
            for (const et_json *n = j; n; n = n->child)
                levels++;
            CHECK_EQ_INT(levels, 64);
        } else {
            CHECK(rc == ET_ERR_FORMAT && strstr(et_error_message(), "nested too deeply"));
        }
        et_json_free(j);
    }
    CHECK(fails("{\"a\":[{\"b\":", "unexpected end"));
}

TEST(json_numbers)
{
    const char *text = "[0, -1, 3.25, -2.5e3, 1E-2, 12345678901234567]";
    const double want[] = {0, -1, 3.25, -2500, 0.01, 12345678901234567.0};
    et_json *j = NULL;
    REQUIRE(et_json_parse(text, strlen(text), &j) == ET_OK);
    CHECK_EQ_INT(j->count, 6);
    for (int i = 0; i < 6 && i < j->count; i++) {
        CHECK(et_json_at(j, i)->type == ET_JSON_NUMBER);
        CHECK(et_json_at(j, i)->number == want[i]);
    }
    et_json_free(j);
    CHECK(fails("-", "bad number"));
    CHECK(fails("1e", "bad number"));
    CHECK(fails("1.2.3", "bad number"));
    CHECK(fails("--1", "bad number"));
    CHECK(fails("[1 2]", "expected ','"));
    /* A NUL byte after the digits ends the number: it is no part of it
     * (it was read as the end of the number and skipped). */
    CHECK(fails_n("[1\0]", 4, "expected ','"));
    CHECK(fails_n("7\0", 2, "trailing characters"));
}

TEST(json_members_and_words)
{
    const char *text = " {\"t\": true, \"f\": false, \"z\": null, \"s\": \"v\", \"n\": 2} ";
    et_json *j = NULL;
    REQUIRE(et_json_parse(text, strlen(text), &j) == ET_OK);
    CHECK_EQ_INT(j->count, 5);
    CHECK_EQ_INT(et_json_get_bool(j, "t", 0), 1);
    CHECK_EQ_INT(et_json_get_bool(j, "f", 1), 0);
    CHECK(et_json_get(j, "z") && et_json_get(j, "z")->type == ET_JSON_NULL);
    CHECK(!strcmp(et_json_get_string(j, "s", ""), "v"));
    CHECK_EQ_INT((int)et_json_get_number(j, "n", 0), 2);
    CHECK_EQ_INT((int)et_json_get_number(j, "missing", -7), -7);
    et_json_free(j);
    CHECK(fails("{\"a\" 1}", "expected ':'"));
    CHECK(fails("{1: 2}", "expected member name"));
    CHECK(fails("[1] x", "trailing characters"));
    CHECK(fails("nul", "unexpected character"));
}
