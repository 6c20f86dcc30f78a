/* CSV rows (RFC 4180 quoting). Lines end in LF, not the RFC's CRLF, so
 * that line-oriented Unix tools see clean last fields; readers accept both. */
#include <string.h>

#include "sink_internal.h"

static void csv_header(et_strbuf *b)
{
    static const char header[] = "path,frame,t,track,person,x,y,w,h,score,angry,disgust,fear,happy,sad,"
                                 "surprise,neutral,emotion\n";
    et_strbuf_append(b, header, sizeof header - 1);
}

/* Quotes a field only when it holds a comma, quote, CR or LF. */
static void csv_path_field(et_strbuf *b, const char *path)
{
    if (!strpbrk(path, ",\"\r\n")) {
        et_strbuf_append(b, path, strlen(path));
        return;
    }
    et_strbuf_append(b, "\"", 1);
    for (const char *p = path; *p; p++) {
        if (*p == '"')
            et_strbuf_append(b, "\"\"", 2);
        else
            et_strbuf_append(b, p, 1);
    }
    et_strbuf_append(b, "\"", 1);
}

static void csv_row(et_strbuf *b, const char *path_field, const et_observation *o)
{
    et_strbuf_printf(b, "%s,%lld,", path_field, (long long)o->frame);
    et_text_fixed(b, o->t, 3, "");
    et_strbuf_printf(b, ",%d,", o->track);
    /* Empty when persons are not linked (--no-persons). */
    if (o->person > 0)
        et_strbuf_printf(b, "%d", o->person);
    const double box[4] = {o->x, o->y, o->w, o->h};
    for (int i = 0; i < 4; i++) {
        et_strbuf_append(b, ",", 1);
        et_text_fixed(b, box[i], 2, "");
    }
    et_strbuf_append(b, ",", 1);
    et_text_fixed(b, o->score, 4, "");
    for (int i = 0; i < ET_EMOTIONS; i++) {
        et_strbuf_append(b, ",", 1);
        et_text_fixed(b, o->prob[i], 4, "");
    }
    et_strbuf_printf(b, ",%s\n", et_emotion_names[o->emotion]);
}

const et_text_format et_csv_format = {csv_header, csv_path_field, csv_row};
