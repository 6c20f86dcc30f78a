/* The HTML report: one page, no external resources or scripts, written as
 * well-formed XML (XHTML syntax) so that both HTML and XML tools read it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/report.h"
#include "emotrace/svg.h"

static const char style[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em;color:#222;max-width:1000px}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:0.5em 0 1em 0;font-size:0.85em}"
    "th,td{border:1px solid #ccc;padding:0.2em 0.5em;text-align:right}"
    "th{background:#f3f3f3}td.l,th.l{text-align:left}"
    ".sw{display:inline-block;width:0.8em;height:0.8em;margin-right:0.3em;vertical-align:middle}"
    ".note{color:#555;font-size:0.9em}svg{max-width:100%;height:auto}";

static void text(et_strbuf *b, const char *s)
{
    et_svg_escape(b, s);
}

static void emotion_headers(et_strbuf *b)
{
    for (int k = 0; k < ET_EMOTIONS; k++)
        et_strbuf_printf(b, "<th><span class=\"sw\" style=\"background:%s\"></span>%s</th>", et_emotion_hex[k],
                         et_emotion_names[k]);
}

static void share_row(et_strbuf *b, const char *label, double first_t, double last_t, double on_screen,
                      int dominant, const double *share)
{
    char a[32], z[32];
    et_format_clock(a, sizeof a, first_t, 2);
    et_format_clock(z, sizeof z, last_t, 2);
    /* Plain track numbers align right, as numbers; person and track
     * labels left. */
    int number = label[0] >= '0' && label[0] <= '9';
    et_strbuf_printf(b, "<tr><td%s>%s</td><td>%s</td><td>%s</td><td>%.2f</td><td class=\"l\">%s</td>",
                     number ? "" : " class=\"l\"", label, a, z, on_screen, et_emotion_names[dominant]);
    for (int k = 0; k < ET_EMOTIONS; k++)
        et_strbuf_printf(b, "<td>%.1f%%</td>", 100 * share[k]);
    et_strbuf_printf(b, "</tr>\n");
}

/* Tracks in the order the page shows them: by person (tracks under their
 * person), then those without one, each by track number. */
static void page_order(const et_track_stats *s, int n, const et_person_stats *p, int np, int *order)
{
    int k = 0;
    for (int j = 0; j < np; j++)
        k += et_person_tracks(s, n, p[j].person, order + k, n - k);
    for (int i = 0; i < n; i++)
        if (s[i].person == 0)
            order[k++] = i;
}

static void media_section(et_strbuf *b, const et_result_media *m, const et_track_stats *s, int n,
                          const et_person_stats *p, int np)
{
    char a[32], label[64];
    et_strbuf_printf(b, "<section>\n<h2>");
    text(b, m->path);
    et_strbuf_printf(b, "</h2>\n<p>");
    if (m->duration > 0) {
        et_format_clock(a, sizeof a, m->duration, 1);
        et_strbuf_printf(b, "%s long", a);
        if (m->width > 0)
            et_strbuf_printf(b, ", %dx%d", m->width, m->height);
        if (m->fps > 0)
            et_strbuf_printf(b, ", %.4g frames/s", m->fps);
        et_strbuf_printf(b, "; ");
    }
    if (np > 0)
        et_strbuf_printf(b, "%d person%s, ", np, np == 1 ? "" : "s");
    et_strbuf_printf(b, "%d face track%s, %zu observations.</p>\n", n, n == 1 ? "" : "s", m->count);
    if (n <= 0) {
        et_strbuf_printf(b, "</section>\n");
        return;
    }
    int *order = malloc((size_t)n * sizeof *order);
    et_plot_panel *panels = malloc((size_t)n * sizeof *panels);
    if (!order || !panels) {
        free(order);
        free(panels);
        b->failed = 1;
        return;
    }
    page_order(s, n, p, np, order);
    et_strbuf_printf(b, "<table>\n<caption>Share of time per emotion%s</caption>\n<tr><th class=\"l\">%s</th>"
                        "<th>from</th><th>to</th><th>on screen (s)</th><th class=\"l\">dominant</th>",
                     np > 0 ? ", per person and its tracks" : "", np > 0 ? "person / track" : "track");
    emotion_headers(b);
    et_strbuf_printf(b, "</tr>\n");
    for (int j = 0; j < np; j++) {
        snprintf(label, sizeof label, "<b>person %d</b>", p[j].person);
        share_row(b, label, p[j].first_t, p[j].last_t, p[j].on_screen, p[j].dominant, p[j].share);
        for (int i = 0; i < n; i++)
            if (s[i].person == p[j].person) {
                snprintf(label, sizeof label, "&#160;&#160;track %d", s[i].track);
                share_row(b, label, s[i].first_t, s[i].last_t, s[i].on_screen, s[i].dominant, s[i].share);
            }
    }
    for (int i = 0; i < n; i++)
        if (s[i].person == 0) {
            snprintf(label, sizeof label, "%s%d", np > 0 ? "track " : "", s[i].track);
            share_row(b, label, s[i].first_t, s[i].last_t, s[i].on_screen, s[i].dominant, s[i].share);
        }
    et_strbuf_printf(b, "</table>\n<table>\n<caption>Strongest moment per emotion (probability at time)</caption>\n"
                        "<tr><th>track</th>");
    emotion_headers(b);
    et_strbuf_printf(b, "</tr>\n");
    for (int o = 0; o < n; o++) {
        int i = order[o];
        et_strbuf_printf(b, "<tr><td>%d</td>", s[i].track);
        for (int k = 0; k < ET_EMOTIONS; k++) {
            et_format_clock(a, sizeof a, s[i].peak[k].t, 2);
            et_strbuf_printf(b, "<td>%.2f at %s</td>", s[i].peak[k].p, a);
        }
        et_strbuf_printf(b, "</tr>\n");
    }
    et_strbuf_printf(b, "</table>\n");
    for (int o = 0; o < n; o++)
        panels[o] = (et_plot_panel){m, &s[order[o]]};
    et_timeline_svg(b, panels, n, 0);
    free(panels);
    free(order);
    et_strbuf_printf(b, "</section>\n");
}

int et_report_html(et_strbuf *b, const et_results *r, const char *source)
{
    size_t tracks = 0;
    et_strbuf body = {0};
    for (size_t i = 0; i < r->count; i++) {
        et_track_stats *s;
        et_person_stats *p = NULL;
        int n, np = 0;
        if (et_track_stats_compute(&r->media[i], &s, &n) != ET_OK) {
            et_strbuf_free(&body);
            return ET_ERR_NOMEM;
        }
        if (et_person_stats_compute(s, n, &p, &np) != ET_OK) {
            free(s);
            et_strbuf_free(&body);
            return ET_ERR_NOMEM;
        }
        media_section(&body, &r->media[i], s, n, p, np);
        tracks += (size_t)n;
        free(s);
        free(p);
    }
    et_strbuf_printf(b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
                        "<meta charset=\"utf-8\"/>\n<title>emotrace report: ");
    text(b, source);
    et_strbuf_printf(b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Emotions over time: ", style);
    text(b, source);
    et_strbuf_printf(b, "</h1>\n<p>%zu media file%s, %zu face track%s. Each face track is a face followed "
                        "over time; the seconds count each observation until the track's next one. A person "
                        "is the tracks analyze linked as one face (someone who looked away and came back).</p>\n"
                        "<p class=\"note\">The numbers are the output of a model trained on FER2013: which of "
                        "seven expression classes a face looks most like. They are not a measurement of what "
                        "the person felt.</p>\n",
                     r->count, r->count == 1 ? "" : "s", tracks, tracks == 1 ? "" : "s");
    if (body.data)
        et_strbuf_append(b, body.data, body.length);
    et_strbuf_printf(b, "</body>\n</html>\n");
    int failed = body.failed || b->failed;
    et_strbuf_free(&body);
    return failed ? et_error_set(ET_ERR_NOMEM, "%s: out of memory for the report", source) : ET_OK;
}
