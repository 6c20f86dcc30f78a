/* Pictures and pages of results: SVG emotion timelines of face tracks and
 * a self-contained HTML report. Both use one fixed colour and one dash
 * pattern per emotion, so that a printout in grayscale still tells the
 * seven lines apart. */
#ifndef EMOTRACE_REPORT_H
#define EMOTRACE_REPORT_H

#include <stdint.h>

#include "emotrace/json.h"
#include "emotrace/results.h"

/* Colour of each emotion (FER2013 order), as RGB and as "#rrggbb". */
extern const uint8_t et_emotion_rgb[ET_EMOTIONS][3];
extern const char *const et_emotion_hex[ET_EMOTIONS];
/* SVG stroke-dasharray of each emotion; "" is a solid line. */
extern const char *const et_emotion_dash[ET_EMOTIONS];

/* One track of one media file, as plotted. */
typedef struct {
    const et_result_media *media;
    const et_track_stats *track;
} et_plot_panel;

/* Appends one SVG picture with a timeline panel per entry of panels,
 * stacked top to bottom: the seven probabilities over time (a line breaks
 * where the face was lost for more than two sampling steps), time axis in
 * mm:ss, legend on the right, title with the file name and track. prolog:
 * start with the XML declaration (a standalone .svg file). */
void et_timeline_svg(et_strbuf *b, const et_plot_panel *panels, int count, int prolog);

/* Appends an HTML5 page (well-formed XML as well) about every media file
 * of r: a summary table per file and the timeline of every track, styles
 * inline and no scripts. source names the results file in the title. */
int et_report_html(et_strbuf *b, const et_results *r, const char *source);

#endif
