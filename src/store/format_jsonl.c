/* JSON Lines: one object per observation, same field names as the CSV. */
#include <stdlib.h>
#include <string.h>

#include "sink_internal.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_length(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    unsigned min, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, min = 0x80, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, min = 0x800, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* File names are bytes but JSON text is UTF-8: bytes that are not UTF-8
 * become U+FFFD so that every line stays valid JSON. */
static void jsonl_path_field(et_strbuf *b, const char *path)
{
    et_strbuf clean = {0};
    const unsigned char *s = (const unsigned char *)path;
    while (*s) {
        int n = utf8_length(s);
        if (n == 0) {
            et_strbuf_append(&clean, "\xEF\xBF\xBD", 3);
            s++;
        } else {
            et_strbuf_append(&clean, (const char *)s, (size_t)n);
            s += n;
        }
    }
    et_strbuf_json_string(b, clean.data ? clean.data : "");
    if (clean.failed)
        b->failed = 1;
    et_strbuf_free(&clean);
}

static void field(et_strbuf *b, const char *name, double v, int decimals)
{
    et_strbuf_printf(b, ",\"%s\":", name);
    et_text_fixed(b, v, decimals, "null");
}

static void jsonl_row(et_strbuf *b, const char *path_field, const et_observation *o)
{
    et_strbuf_printf(b, "{\"path\":%s,\"frame\":%lld", path_field, (long long)o->frame);
    field(b, "t", o->t, 3);
    et_strbuf_printf(b, ",\"track\":%d", o->track);
    if (o->person > 0)
        et_strbuf_printf(b, ",\"person\":%d", o->person);
    else
        et_strbuf_append(b, ",\"person\":null", 14);
    field(b, "x", o->x, 2);
    field(b, "y", o->y, 2);
    field(b, "w", o->w, 2);
    field(b, "h", o->h, 2);
    field(b, "score", o->score, 4);
    for (int i = 0; i < ET_EMOTIONS; i++)
        field(b, et_emotion_names[i], o->prob[i], 4);
    et_strbuf_printf(b, ",\"emotion\":\"%s\"}\n", et_emotion_names[o->emotion]);
}

const et_text_format et_jsonl_format = {NULL, jsonl_path_field, jsonl_row};
