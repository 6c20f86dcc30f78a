#include "pnm.h"

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Skips whitespace and comments, then reads a decimal number at *at. */
static int read_number(const uint8_t *p, size_t n, size_t *at, long long *value)
{
    size_t i = *at;
    for (;;) {
        while (i < n && is_space(p[i]))
            i++;
        if (i < n && p[i] == '#') {
            while (i < n && p[i] != '\n' && p[i] != '\r')
                i++;
            continue;
        }
        break;
    }
    if (i == n || p[i] < '0' || p[i] > '9')
        return 0;
    long long v = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        if ((v = v * 10 + (p[i] - '0')) > 1000000000000LL)
            return 0;
    *value = v;
    *at = i;
    return 1;
}

int et_pnm_header_parse(const uint8_t *p, size_t n, et_pnm_header *out)
{
    if (n < 3 || p[0] != 'P' || (p[1] != '5' && p[1] != '6'))
        return 0;
    size_t at = 2;
    if (!read_number(p, n, &at, &out->width) || !read_number(p, n, &at, &out->height) ||
        !read_number(p, n, &at, &out->maxval))
        return 0;
    out->channels = p[1] == '5' ? 1 : 3;
    out->data_offset = at < n ? at + 1 : n;
    return 1;
}

void et_pnm_decode(const et_pnm_header *h, const uint8_t *data, uint8_t *rgb)
{
    const uint8_t *s = data + h->data_offset;
    const size_t pixels = (size_t)(h->width * h->height);
    const unsigned maxval = (unsigned)h->maxval, wide = maxval > 255;
    for (size_t i = 0; i < pixels; i++)
        for (int c = 0; c < 3; c++) {
            size_t k = i * (size_t)h->channels + (h->channels == 3 ? (size_t)c : 0);
            unsigned v = wide ? (unsigned)s[2 * k] << 8 | s[2 * k + 1] : s[k]; /* big-endian */
            rgb[3 * i + (size_t)c] = (uint8_t)((v * 255u + maxval / 2) / maxval);
        }
}
