/* Emotion timeline panels: probability (0..1) over time for the seven
 * emotions of one face track. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "emotrace/report.h"
#include "emotrace/svg.h"

#define WIDTH 900.0
#define PANEL_HEIGHT 250.0
#define PLOT_LEFT 52.0
#define PLOT_RIGHT 742.0  /* the legend column starts to its right */
#define PLOT_TOP 34.0
#define PLOT_BOTTOM 214.0

/* A tick spacing from 1-2-5 steps and clock-friendly minutes that gives at
 * most about eight ticks over span seconds. */
static double tick_step(double span)
{
    static const double steps[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (span / steps[i] <= 8)
            return steps[i];
    return ceil(span / 8 / 3600) * 3600;
}

static void panel_axes(et_strbuf *b, double top, double t0, double t1)
{
    double y0 = top + PLOT_TOP, y1 = top + PLOT_BOTTOM;
    char label[32];
    et_svg_rect(b, PLOT_LEFT, y0, PLOT_RIGHT - PLOT_LEFT, y1 - y0, "fill=\"#ffffff\" stroke=\"#444444\" stroke-width=\"1\"");
    for (int i = 0; i <= 4; i++) {
        double y = y1 - (y1 - y0) * i / 4;
        if (i > 0 && i < 4)
            et_svg_line(b, PLOT_LEFT, y, PLOT_RIGHT, y, "stroke=\"#dddddd\" stroke-width=\"1\"");
        snprintf(label, sizeof label, "%.2f", i / 4.0);
        et_svg_text(b, PLOT_LEFT - 6, y + 4, "font-size=\"11\" text-anchor=\"end\" fill=\"#222222\"", label);
    }
    double step = tick_step(t1 - t0);
    for (double t = ceil(t0 / step - 1e-9) * step; t <= t1 + 1e-9; t += step) {
        double x = PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (t - t0) / (t1 - t0);
        et_svg_line(b, x, y1, x, y1 + 5, "stroke=\"#444444\" stroke-width=\"1\"");
        et_format_clock(label, sizeof label, t, step < 1 ? 1 : 0);
        et_svg_text(b, x, y1 + 18, "font-size=\"11\" text-anchor=\"middle\" fill=\"#222222\"", label);
    }
    et_svg_text(b, (PLOT_LEFT + PLOT_RIGHT) / 2, y1 + 33, "font-size=\"11\" text-anchor=\"middle\" fill=\"#222222\"",
                "time (mm:ss)");
}

static void series_attrs(char *out, size_t size, int k)
{
    snprintf(out, size,
             "class=\"series\" data-emotion=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
             "stroke-linejoin=\"round\"%s%s%s",
             et_emotion_names[k], et_emotion_hex[k], *et_emotion_dash[k] ? " stroke-dasharray=\"" : "",
             et_emotion_dash[k], *et_emotion_dash[k] ? "\"" : "");
}

static void panel(et_strbuf *b, const et_plot_panel *p, double top)
{
    const et_result_media *m = p->media;
    const et_track_stats *s = p->track;
    const et_observation *obs = m->obs + s->first;
    double step = et_result_media_step(m);
    double t0 = s->first_t, t1 = s->last_t;
    if (t1 - t0 < 1e-6)
        t1 = t0 + (step > 0 ? step : 1);
    char text[1200], attrs[256];

    et_strbuf_printf(b, "<g class=\"panel\" data-track=\"%d\" data-person=\"%d\">\n", s->track, s->person);
    if (s->person > 0)
        snprintf(text, sizeof text, "%s: person %d, track %d", m->path, s->person, s->track);
    else
        snprintf(text, sizeof text, "%s: track %d", m->path, s->track);
    et_svg_text(b, PLOT_LEFT, top + 20, "font-size=\"14\" font-weight=\"bold\" fill=\"#000000\"", text);
    char a[32], z[32];
    et_format_clock(a, sizeof a, s->first_t, 2);
    et_format_clock(z, sizeof z, s->last_t, 2);
    snprintf(text, sizeof text, "%s to %s, %zu observations, mostly %s", a, z, s->count,
             et_emotion_names[s->dominant]);
    et_svg_text(b, PLOT_RIGHT, top + 20, "font-size=\"11\" text-anchor=\"end\" fill=\"#222222\"", text);

    double y0 = top + PLOT_TOP, y1 = top + PLOT_BOTTOM;
    panel_axes(b, top, t0, t1);
    /* The y axis label, rotated about its own position. */
    et_strbuf_printf(b, "<text x=\"14\" y=\"");
    et_svg_number(b, (y0 + y1) / 2);
    et_strbuf_printf(b, "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#222222\" transform=\"rotate(-90 14 ");
    et_svg_number(b, (y0 + y1) / 2);
    et_strbuf_printf(b, ")\">probability</text>\n");

    for (int k = 0; k < ET_EMOTIONS; k++) {
        series_attrs(attrs, sizeof attrs, k);
        et_svg_path_begin(b, attrs);
        for (size_t i = 0; i < s->count; i++) {
            double x = PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (obs[i].t - t0) / (t1 - t0);
            double y = y1 - (y1 - y0) * fmin(fmax(obs[i].prob[k], 0), 1);
            /* A gap longer than two steps means the face was lost: no line
             * across it. A lone observation gets a short dash. */
            int starts = i == 0 || obs[i].t - obs[i - 1].t > 2 * step + 1e-9;
            int alone = starts && (i + 1 == s->count || obs[i + 1].t - obs[i].t > 2 * step + 1e-9);
            if (starts)
                et_svg_path_move(b, alone ? x - 1.5 : x, y);
            if (!starts || alone)
                et_svg_path_line(b, alone ? x + 1.5 : x, y);
        }
        et_svg_path_end(b);
    }

    for (int k = 0; k < ET_EMOTIONS; k++) {
        double x = PLOT_RIGHT + 18, y = y0 + 8 + 24 * k;
        series_attrs(attrs, sizeof attrs, k);
        /* The legend sample is a series look-alike without the class. */
        char *sample = strstr(attrs, "fill=");
        et_svg_line(b, x, y, x + 42, y, sample);
        snprintf(text, sizeof text, "%s %.0f%%", et_emotion_names[k], 100 * s->share[k]);
        et_svg_text(b, x + 50, y + 4, "font-size=\"12\" fill=\"#222222\"", text);
    }
    et_strbuf_printf(b, "</g>\n");
}

void et_timeline_svg(et_strbuf *b, const et_plot_panel *panels, int count, int prolog)
{
    et_svg_begin(b, WIDTH, PANEL_HEIGHT * (count > 0 ? count : 1), prolog);
    et_svg_rect(b, 0, 0, WIDTH, PANEL_HEIGHT * (count > 0 ? count : 1), "fill=\"#ffffff\"");
    if (count == 0)
        et_svg_text(b, WIDTH / 2, PANEL_HEIGHT / 2, "font-size=\"14\" text-anchor=\"middle\"", "no face tracks");
    for (int i = 0; i < count; i++)
        panel(b, &panels[i], PANEL_HEIGHT * i);
    et_svg_end(b);
}
