/* Drawing on RGB frames: filled and outlined rectangles and text in a small
 * built-in 5x7 bitmap font. Everything is clipped to the frame. */
#ifndef EMOTRACE_DRAW_H
#define EMOTRACE_DRAW_H

#include <stdint.h>

#include "emotrace/frame.h"

#define ET_FONT_WIDTH 5
#define ET_FONT_HEIGHT 7

void et_draw_fill(et_frame *f, int x, int y, int w, int h, const uint8_t rgb[3]);
/* The outline of a w x h rectangle, thickness pixels wide, drawn inside it. */
void et_draw_box(et_frame *f, int x, int y, int w, int h, int thickness, const uint8_t rgb[3]);
/* Text with its top left at (x, y), each font pixel scale x scale. The font
 * has digits, the letters of the emotion names, space and # % . : -; other
 * characters show as a hollow box. */
void et_draw_text(et_frame *f, int x, int y, int scale, const char *text, const uint8_t rgb[3]);
/* Width in pixels of text at scale (one font pixel of space between glyphs). */
int et_draw_text_width(const char *text, int scale);

#endif
