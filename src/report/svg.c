/* SVG elements as text. Coordinates are rounded to 1/100 pixel: enough for
 * any screen or printer, and it keeps long timelines small. */
#include "emotrace/svg.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void et_svg_number(et_strbuf *b, double v)
{
    if (!isfinite(v))
        v = 0;
    long long n = llround(v * 100);
    const char *sign = n < 0 ? "-" : "";
    n = llabs(n);
    if (n % 100 == 0)
        et_strbuf_printf(b, "%s%lld", sign, n / 100);
    else if (n % 10 == 0)
        et_strbuf_printf(b, "%s%lld.%lld", sign, n / 100, n % 100 / 10);
    else
        et_strbuf_printf(b, "%s%lld.%02lld", sign, n / 100, n % 100);
}

static void attr_number(et_strbuf *b, const char *name, double v)
{
    et_strbuf_printf(b, " %s=\"", name);
    et_svg_number(b, v);
    et_strbuf_append(b, "\"", 1);
}

static void attrs_raw(et_strbuf *b, const char *attrs)
{
    if (attrs && *attrs) {
        et_strbuf_append(b, " ", 1);
        et_strbuf_append(b, attrs, strlen(attrs));
    }
}

void et_svg_escape(et_strbuf *b, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&': et_strbuf_append(b, "&amp;", 5); break;
        case '<': et_strbuf_append(b, "&lt;", 4); break;
        case '>': et_strbuf_append(b, "&gt;", 4); break;
        case '"': et_strbuf_append(b, "&quot;", 6); break;
        case '\'': et_strbuf_append(b, "&#39;", 5); break;
        default:
            /* XML 1.0 allows no control characters but tab and line breaks. */
            if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                et_strbuf_append(b, "?", 1);
            else
                et_strbuf_append(b, p, 1);
        }
    }
}

void et_svg_begin(et_strbuf *b, double width, double height, int prolog)
{
    if (prolog)
        et_strbuf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    et_strbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\"");
    attr_number(b, "width", width);
    attr_number(b, "height", height);
    et_strbuf_printf(b, " viewBox=\"0 0 ");
    et_svg_number(b, width);
    et_strbuf_append(b, " ", 1);
    et_svg_number(b, height);
    et_strbuf_printf(b, "\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n");
}

void et_svg_end(et_strbuf *b)
{
    et_strbuf_printf(b, "</svg>\n");
}

/* <tag name="value" ... attrs/> with four numbers: a rectangle or a line. */
static void element4(et_strbuf *b, const char *tag, const char *const names[4], const double values[4],
                     const char *attrs)
{
    et_strbuf_printf(b, "<%s", tag);
    for (int i = 0; i < 4; i++)
        attr_number(b, names[i], values[i]);
    attrs_raw(b, attrs);
    et_strbuf_append(b, "/>\n", 3);
}

void et_svg_rect(et_strbuf *b, double x, double y, double w, double h, const char *attrs)
{
    element4(b, "rect", (const char *const[]){"x", "y", "width", "height"}, (const double[]){x, y, w, h}, attrs);
}

void et_svg_line(et_strbuf *b, double x1, double y1, double x2, double y2, const char *attrs)
{
    element4(b, "line", (const char *const[]){"x1", "y1", "x2", "y2"}, (const double[]){x1, y1, x2, y2}, attrs);
}

void et_svg_text(et_strbuf *b, double x, double y, const char *attrs, const char *text)
{
    et_strbuf_append(b, "<text", 5);
    attr_number(b, "x", x);
    attr_number(b, "y", y);
    attrs_raw(b, attrs);
    et_strbuf_append(b, ">", 1);
    et_svg_escape(b, text);
    et_strbuf_append(b, "</text>\n", 8);
}

void et_svg_path_begin(et_strbuf *b, const char *attrs)
{
    et_strbuf_append(b, "<path", 5);
    attrs_raw(b, attrs);
    et_strbuf_append(b, " d=\"", 4);
}

void et_svg_path_move(et_strbuf *b, double x, double y)
{
    et_strbuf_append(b, "M", 1);
    et_svg_number(b, x);
    et_strbuf_append(b, " ", 1);
    et_svg_number(b, y);
}

void et_svg_path_line(et_strbuf *b, double x, double y)
{
    et_strbuf_append(b, "L", 1);
    et_svg_number(b, x);
    et_strbuf_append(b, " ", 1);
    et_svg_number(b, y);
}

void et_svg_path_end(et_strbuf *b)
{
    et_strbuf_append(b, "\"/>\n", 4);
}
