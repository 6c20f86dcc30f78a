/* Internal: binary PGM and PPM (P5, P6), read here rather than by
 * stb_image 2.27, which takes 16-bit samples as little-endian, converts
 * their channels as if they were 8-bit (reading past its buffer: found by
 * fuzz_image), ignores the maximum value and turns missing samples into
 * black pixels. */
#ifndef EMOTRACE_MEDIA_PNM_H
#define EMOTRACE_MEDIA_PNM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    long long width, height, maxval; /* as written; maxval above 255: 16-bit samples */
    int channels;                    /* 1 (P5) or 3 (P6) */
    size_t data_offset;              /* where the samples start */
} et_pnm_header;

/* 1 when data starts with a P5/P6 header (three numbers, with whitespace
 * and # comments between them; the samples start one byte after the
 * last), 0 otherwise. Numbers are capped at 10^12, so the callers'
 * arithmetic cannot overflow. */
int et_pnm_header_parse(const uint8_t *data, size_t size, et_pnm_header *out);

/* Samples of a header whose maxval is 1..65535 and whose data holds them
 * all, scaled to 0..255, as width*height RGB triplets. */
void et_pnm_decode(const et_pnm_header *h, const uint8_t *data, uint8_t *rgb);

#endif
