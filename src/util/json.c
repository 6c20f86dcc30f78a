#include "emotrace/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"

#define JSON_MAX_DEPTH 64

typedef struct {
    const char *text;
    size_t len, pos;
    int depth;
} json_parser;

static int parse_error(json_parser *p, const char *what)
{
    return et_error_set(ET_ERR_FORMAT, "invalid JSON: %s (at byte %zu)", what, p->pos);
}

static void skip_space(json_parser *p)
{
    while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
                               p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
        p->pos++;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The value of the 4 hex digits at text, or -1. */
static long hex4(const char *text)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(text[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* The code point of the \u escape whose digits start at p->pos: a high
 * surrogate takes the low surrogate escape right after it along; one with
 * no low surrogate after it, or a lone low surrogate, is U+FFFD (no UTF-8
 * holds a surrogate, and the next escape is a character of its own). */
static int parse_unicode_escape(json_parser *p, unsigned *cp)
{
    if (p->len - p->pos < 4)
        return parse_error(p, "short \\u escape");
    long v = hex4(p->text + p->pos);
    if (v < 0)
        return parse_error(p, "bad \\u escape");
    p->pos += 4;
    if (v >= 0xD800 && v < 0xDC00) {
        long low = p->len - p->pos >= 6 && p->text[p->pos] == '\\' && p->text[p->pos + 1] == 'u'
                       ? hex4(p->text + p->pos + 2)
                       : -1;
        if (low >= 0xDC00 && low < 0xE000) {
            p->pos += 6;
            *cp = 0x10000 + (unsigned)((v - 0xD800) << 10) + (unsigned)(low - 0xDC00);
            return ET_OK;
        }
    }
    *cp = v >= 0xD800 && v < 0xE000 ? 0xFFFD : (unsigned)v;
    return ET_OK;
}

static void put_utf8(char *out, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 63));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 63));
        out[(*n)++] = (char)(0x80 | (cp & 63));
    } else {
        out[(*n)++] = (char)(0xF0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 63));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 63));
        out[(*n)++] = (char)(0x80 | (cp & 63));
    }
}

/* Parses a string starting at the opening quote into a new allocation. */
static int parse_string(json_parser *p, char **out)
{
    p->pos++; /* opening quote */
    size_t start = p->pos;
    /* Escapes only shrink the text, so the raw length bounds the result. */
    size_t end = start;
    while (end < p->len && p->text[end] != '"') {
        if (p->text[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->len)
        return parse_error(p, "unterminated string");
    char *s = malloc(end - start + 1);
    if (!s)
        return et_error_set(ET_ERR_NOMEM, "out of memory parsing JSON");
    size_t n = 0;
    while (p->text[p->pos] != '"') {
        unsigned char c = (unsigned char)p->text[p->pos++];
        if (c < 0x20) {
            free(s);
            return parse_error(p, "control character in string");
        }
        if (c != '\\') {
            s[n++] = (char)c;
            continue;
        }
        char e = p->text[p->pos++];
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            if (parse_unicode_escape(p, &cp) != ET_OK) {
                free(s);
                return ET_ERR_FORMAT;
            }
            /* A \u escape needs 6 input bytes and yields at most 4 output bytes. */
            put_utf8(s, &n, cp);
            break;
        }
        default:
            free(s);
            return parse_error(p, "bad escape");
        }
    }
    p->pos++; /* closing quote */
    s[n] = '\0';
    *out = s;
    return ET_OK;
}

static int parse_value(json_parser *p, et_json **out);

static et_json *node_new(et_json_type type)
{
    et_json *n = calloc(1, sizeof *n);
    if (n)
        n->type = type;
    return n;
}

static int parse_container(json_parser *p, et_json *node, char close)
{
    if (++p->depth > JSON_MAX_DEPTH)
        return parse_error(p, "nested too deeply");
    p->pos++;
    skip_space(p);
    et_json **tail = &node->child;
    if (p->pos < p->len && p->text[p->pos] == close) {
        p->pos++;
        p->depth--;
        return ET_OK;
    }
    for (;;) {
        char *key = NULL;
        skip_space(p);
        if (close == '}') {
            if (p->pos >= p->len || p->text[p->pos] != '"')
                return parse_error(p, "expected member name");
            int rc = parse_string(p, &key);
            if (rc != ET_OK)
                return rc;
            skip_space(p);
            if (p->pos >= p->len || p->text[p->pos] != ':') {
                free(key);
                return parse_error(p, "expected ':'");
            }
            p->pos++;
        }
        et_json *child = NULL;
        int rc = parse_value(p, &child);
        if (rc != ET_OK) {
            free(key);
            return rc;
        }
        child->key = key;
        *tail = child;
        tail = &child->next;
        node->count++;
        skip_space(p);
        if (p->pos >= p->len)
            return parse_error(p, "unexpected end");
        if (p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->text[p->pos] == close) {
            p->pos++;
            p->depth--;
            return ET_OK;
        }
        return parse_error(p, "expected ',' or end of container");
    }
}

static int parse_value(json_parser *p, et_json **out)
{
    skip_space(p);
    if (p->pos >= p->len)
        return parse_error(p, "unexpected end");
    char c = p->text[p->pos];
    et_json *node = NULL;
    int rc = ET_OK;
    if (c == '{' || c == '[') {
        node = node_new(c == '{' ? ET_JSON_OBJECT : ET_JSON_ARRAY);
        if (!node)
            return et_error_set(ET_ERR_NOMEM, "out of memory parsing JSON");
        rc = parse_container(p, node, c == '{' ? '}' : ']');
    } else if (c == '"') {
        node = node_new(ET_JSON_STRING);
        if (!node)
            return et_error_set(ET_ERR_NOMEM, "out of memory parsing JSON");
        rc = parse_string(p, &node->string);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char buffer[64];
        size_t n = 0;
        while (p->pos < p->len && n < sizeof buffer - 1 && p->text[p->pos] &&
               strchr("+-0123456789.eE", p->text[p->pos]))
            buffer[n++] = p->text[p->pos++];
        buffer[n] = '\0';
        char *end;
        double v = strtod(buffer, &end);
        if (*end != '\0' || n == 0)
            return parse_error(p, "bad number");
        node = node_new(ET_JSON_NUMBER);
        if (!node)
            return et_error_set(ET_ERR_NOMEM, "out of memory parsing JSON");
        node->number = v;
    } else {
        static const struct { const char *word; et_json_type type; } words[] = {
            {"true", ET_JSON_TRUE}, {"false", ET_JSON_FALSE}, {"null", ET_JSON_NULL}};
        for (int i = 0; i < 3; i++) {
            size_t wl = strlen(words[i].word);
            if (p->len - p->pos >= wl && !memcmp(p->text + p->pos, words[i].word, wl)) {
                p->pos += wl;
                node = node_new(words[i].type);
                if (!node)
                    return et_error_set(ET_ERR_NOMEM, "out of memory parsing JSON");
                break;
            }
        }
        if (!node)
            return parse_error(p, "unexpected character");
    }
    if (rc != ET_OK) {
        et_json_free(node);
        return rc;
    }
    *out = node;
    return ET_OK;
}

int et_json_parse(const char *text, size_t len, et_json **out)
{
    json_parser p = {text, len, 0, 0};
    et_json *root = NULL;
    *out = NULL;
    int rc = parse_value(&p, &root);
    if (rc != ET_OK)
        return rc;
    skip_space(&p);
    if (p.pos != p.len) {
        et_json_free(root);
        return parse_error(&p, "trailing characters");
    }
    *out = root;
    return ET_OK;
}

void et_json_free(et_json *node)
{
    while (node) {
        et_json *next = node->next;
        et_json_free(node->child);
        free(node->key);
        free(node->string);
        free(node);
        node = next;
    }
}

const et_json *et_json_get(const et_json *object, const char *key)
{
    if (!object || object->type != ET_JSON_OBJECT)
        return NULL;
    for (const et_json *c = object->child; c; c = c->next)
        if (c->key && !strcmp(c->key, key))
            return c;
    return NULL;
}

const et_json *et_json_at(const et_json *array, int index)
{
    if (!array || (array->type != ET_JSON_ARRAY && array->type != ET_JSON_OBJECT) || index < 0)
        return NULL;
    const et_json *c = array->child;
    while (c && index-- > 0)
        c = c->next;
    return c;
}

double et_json_get_number(const et_json *object, const char *key, double fallback)
{
    const et_json *v = et_json_get(object, key);
    return v && v->type == ET_JSON_NUMBER ? v->number : fallback;
}

const char *et_json_get_string(const et_json *object, const char *key, const char *fallback)
{
    const et_json *v = et_json_get(object, key);
    return v && v->type == ET_JSON_STRING ? v->string : fallback;
}

int et_json_get_bool(const et_json *object, const char *key, int fallback)
{
    const et_json *v = et_json_get(object, key);
    if (v && v->type == ET_JSON_TRUE)
        return 1;
    if (v && v->type == ET_JSON_FALSE)
        return 0;
    return fallback;
}

static void strbuf_reserve(et_strbuf *b, size_t extra)
{
    if (b->failed || b->length + extra + 1 <= b->capacity)
        return;
    size_t cap = b->capacity ? b->capacity : 256;
    while (cap < b->length + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return;
    }
    b->data = d;
    b->capacity = cap;
}

void et_strbuf_append(et_strbuf *b, const char *text, size_t len)
{
    strbuf_reserve(b, len);
    if (b->failed)
        return;
    memcpy(b->data + b->length, text, len);
    b->length += len;
    b->data[b->length] = '\0';
}

void et_strbuf_printf(et_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    strbuf_reserve(b, (size_t)n);
    if (b->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->length, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->length += (size_t)n;
}

void et_strbuf_json_string(et_strbuf *b, const char *text)
{
    et_strbuf_append(b, "\"", 1);
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        switch (*s) {
        case '"': et_strbuf_append(b, "\\\"", 2); break;
        case '\\': et_strbuf_append(b, "\\\\", 2); break;
        case '\n': et_strbuf_append(b, "\\n", 2); break;
        case '\r': et_strbuf_append(b, "\\r", 2); break;
        case '\t': et_strbuf_append(b, "\\t", 2); break;
        default:
            if (*s < 0x20)
                et_strbuf_printf(b, "\\u%04x", *s);
            else
                et_strbuf_append(b, (const char *)s, 1);
        }
    }
    et_strbuf_append(b, "\"", 1);
}

void et_strbuf_json_number(et_strbuf *b, double value)
{
    if (!isfinite(value)) {
        et_strbuf_append(b, "null", 4);
        return;
    }
    char text[32];
    for (int precision = 6; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, value);
        if (strtod(text, NULL) == value)
            break;
    }
    et_strbuf_append(b, text, strlen(text));
}

void et_strbuf_free(et_strbuf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof *b);
}
