/* A small SVG writer into a growing string: just the elements the plots
 * need, with text escaped and numbers written locale-independently. */
#ifndef EMOTRACE_SVG_H
#define EMOTRACE_SVG_H

#include "emotrace/json.h" /* et_strbuf */

/* <svg> with the SVG namespace, a viewBox of width x height and, when
 * prolog is set, the XML declaration before it (for a standalone file). */
void et_svg_begin(et_strbuf *b, double width, double height, int prolog);
void et_svg_end(et_strbuf *b);
/* Appends text with &, <, >, " and ' escaped (for content and attributes). */
void et_svg_escape(et_strbuf *b, const char *text);
/* attrs is raw attribute text such as "fill=\"#eee\"" (may be NULL). */
void et_svg_rect(et_strbuf *b, double x, double y, double w, double h, const char *attrs);
void et_svg_line(et_strbuf *b, double x1, double y1, double x2, double y2, const char *attrs);
/* <text> at (x, y) with escaped content. */
void et_svg_text(et_strbuf *b, double x, double y, const char *attrs, const char *text);
/* A <path>: begin, then move/line commands, then end. */
void et_svg_path_begin(et_strbuf *b, const char *attrs);
void et_svg_path_move(et_strbuf *b, double x, double y);
void et_svg_path_line(et_strbuf *b, double x, double y);
void et_svg_path_end(et_strbuf *b);
/* A number with up to two decimals, '.' as the decimal point whatever the
 * locale, no trailing zeros. */
void et_svg_number(et_strbuf *b, double v);

#endif
