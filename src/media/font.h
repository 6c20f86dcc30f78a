/* Private to src/media: the bitmap font behind et_draw_text. */
#ifndef EMOTRACE_MEDIA_FONT_H
#define EMOTRACE_MEDIA_FONT_H

#include <stdint.h>

/* The seven rows of c's 5x7 glyph (bit 4 leftmost); a hollow box for a
 * character the font lacks. */
const uint8_t *et_font_glyph(char c);

#endif
