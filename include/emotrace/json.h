/* A small JSON reader (into a tree) and writer (into a growing string),
 * enough for safetensors headers, network architectures and JSON Lines. */
#ifndef EMOTRACE_JSON_H
#define EMOTRACE_JSON_H

#include <stddef.h>

typedef enum {
    ET_JSON_NULL,
    ET_JSON_FALSE,
    ET_JSON_TRUE,
    ET_JSON_NUMBER,
    ET_JSON_STRING,
    ET_JSON_ARRAY,
    ET_JSON_OBJECT
} et_json_type;

typedef struct et_json {
    et_json_type type;
    char *key;             /* member name inside an object, else NULL */
    char *string;          /* ET_JSON_STRING value (NUL-terminated, may hold no NUL) */
    double number;         /* ET_JSON_NUMBER value */
    struct et_json *child; /* first element/member of an array/object */
    struct et_json *next;  /* next sibling */
    int count;             /* number of children */
} et_json;

/* Parses len bytes of text. On error returns ET_ERR_FORMAT with a message
 * "what (at byte N)"; the caller prefixes the file name. Depth is limited. */
int et_json_parse(const char *text, size_t len, et_json **out);
void et_json_free(et_json *node);

const et_json *et_json_get(const et_json *object, const char *key);
const et_json *et_json_at(const et_json *array, int index);
/* Typed member access with defaults for missing members. */
double et_json_get_number(const et_json *object, const char *key, double fallback);
const char *et_json_get_string(const et_json *object, const char *key, const char *fallback);
int et_json_get_bool(const et_json *object, const char *key, int fallback);

/* Growing string buffer used to write JSON (and other text). */
typedef struct {
    char *data;
    size_t length, capacity;
    int failed; /* set when an allocation failed; writes become no-ops */
} et_strbuf;

void et_strbuf_append(et_strbuf *b, const char *text, size_t len);
void et_strbuf_printf(et_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends text as a quoted, escaped JSON string. */
void et_strbuf_json_string(et_strbuf *b, const char *text);
/* Appends a float the shortest way that reads back to the same value. */
void et_strbuf_json_number(et_strbuf *b, double value);
void et_strbuf_free(et_strbuf *b);

#endif
