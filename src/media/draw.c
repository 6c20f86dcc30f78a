/* Pixel drawing for annotated videos. */
#include "emotrace/draw.h"

#include <string.h>

#include "font.h"

void et_draw_fill(et_frame *f, int x, int y, int w, int h, const uint8_t rgb[3])
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > f->width ? f->width : x + w, y1 = y + h > f->height ? f->height : y + h;
    for (int row = y0; row < y1; row++) {
        uint8_t *p = f->rgb + (size_t)row * f->stride + (size_t)x0 * 3;
        for (int col = x0; col < x1; col++, p += 3)
            memcpy(p, rgb, 3);
    }
}

void et_draw_box(et_frame *f, int x, int y, int w, int h, int thickness, const uint8_t rgb[3])
{
    if (thickness * 2 >= w || thickness * 2 >= h) {
        et_draw_fill(f, x, y, w, h, rgb);
        return;
    }
    et_draw_fill(f, x, y, w, thickness, rgb);
    et_draw_fill(f, x, y + h - thickness, w, thickness, rgb);
    et_draw_fill(f, x, y + thickness, thickness, h - 2 * thickness, rgb);
    et_draw_fill(f, x + w - thickness, y + thickness, thickness, h - 2 * thickness, rgb);
}

int et_draw_text_width(const char *text, int scale)
{
    int n = (int)strlen(text);
    return n ? (n * (ET_FONT_WIDTH + 1) - 1) * scale : 0;
}

void et_draw_text(et_frame *f, int x, int y, int scale, const char *text, const uint8_t rgb[3])
{
    for (; *text; text++, x += (ET_FONT_WIDTH + 1) * scale) {
        const uint8_t *rows = et_font_glyph(*text);
        for (int r = 0; r < ET_FONT_HEIGHT; r++)
            for (int c = 0; c < ET_FONT_WIDTH; c++)
                if (rows[r] & (0x10 >> c))
                    et_draw_fill(f, x + c * scale, y + r * scale, scale, scale, rgb);
    }
}
