/* JPEG marker walk: finds the EXIF orientation (phones store portrait photos
 * sideways plus this tag, which stb_image ignores), whether the file reaches its end-of-image marker
 * (stb_image pads a cut-off scan with zeros instead of failing), and
 * Huffman tables that stb_image would overflow (a fuzz_image find). The
 * size is left to stbi_info, which reads it from the same segments. */
#include "jpeg_markers.h"

#include <string.h>

enum { M_SOI = 0xD8, M_EOI = 0xD9, M_SOS = 0xDA, M_APP1 = 0xE1, M_TEM = 0x01, M_DHT = 0xC4 };

static unsigned read16(const uint8_t *p, int big_endian)
{
    return big_endian ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t read32(const uint8_t *p, int big_endian)
{
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* 1 if a table of the DHT segment at p (length bytes: class/id byte, 16
 * code counts, the symbols; repeated) has more than 256 codes. Read the
 * way stb_image reads it: table after table while the length lasts, even
 * past the segment's end when the counts say so, and zeros past the end of
 * the file (available: the bytes up to it). */
static int dht_too_many_codes(const uint8_t *p, size_t available, size_t length)
{
    size_t at = 0;
    long left = (long)length;
    while (left > 0 && at < available) {
        size_t codes = 0;
        for (size_t i = 1; i <= 16 && at + i < available; i++)
            codes += p[at + i];
        if (codes > 256)
            return 1;
        left -= 17 + (long)codes;
        at += 17 + codes;
    }
    return 0;
}

/* Orientation (tag 0x0112) from the first IFD of the TIFF block inside an
 * "Exif\0\0" APP1 segment; 0 if there is none. */
static int exif_orientation(const uint8_t *tiff, size_t size)
{
    if (size < 8)
        return 0;
    int be;
    if (!memcmp(tiff, "MM", 2))
        be = 1;
    else if (!memcmp(tiff, "II", 2))
        be = 0;
    else
        return 0;
    if (read16(tiff + 2, be) != 42)
        return 0;
    uint32_t ifd = read32(tiff + 4, be);
    if (ifd > size - 2)
        return 0;
    unsigned count = read16(tiff + ifd, be);
    for (unsigned i = 0; i < count; i++) {
        size_t at = (size_t)ifd + 2 + (size_t)i * 12;
        if (at + 12 > size)
            return 0;
        const uint8_t *e = tiff + at;
        /* Orientation is one SHORT (type 3), stored in the value field. */
        if (read16(e, be) == 0x0112 && read16(e + 2, be) == 3 && read32(e + 4, be) == 1) {
            unsigned o = read16(e + 8, be);
            return o >= 1 && o <= 8 ? (int)o : 0;
        }
    }
    return 0;
}

void et_jpeg_markers_parse(const uint8_t *data, size_t size, et_jpeg_markers *out)
{
    out->truncated = 0;
    out->orientation = 1;
    out->bad_huffman = 0;
    if (size < 2 || data[0] != 0xFF || data[1] != M_SOI)
        return;
    size_t pos = 2;
    int found_orientation = 0;
    for (;;) {
        if (pos >= size)
            break;
        if (data[pos] != 0xFF) {
            /* Not a marker where one must be: stb_image skips to the next
             * FF, so the walk does too (its DHT tables must be seen). */
            while (pos < size && data[pos] != 0xFF)
                pos++;
            continue;
        }
        while (pos < size && data[pos] == 0xFF) /* fill bytes */
            pos++;
        if (pos >= size)
            break;
        int marker = data[pos++];
        if (marker == M_EOI)
            return;
        if (marker == M_TEM || (marker >= 0xD0 && marker <= 0xD7))
            continue; /* markers without a length */
        if (size - pos < 2)
            break;
        size_t len = (size_t)data[pos] << 8 | data[pos + 1];
        if (len < 2)
            return;
        /* Before the truncation check: stb_image reads the tables of a
         * cut-off segment too. */
        if (marker == M_DHT && dht_too_many_codes(data + pos + 2, size - pos - 2, len - 2))
            out->bad_huffman = 1;
        if (size - pos < len)
            break;
        const uint8_t *seg = data + pos + 2;
        size_t seg_size = len - 2;
        if (marker == M_APP1 && !found_orientation && seg_size >= 6 && !memcmp(seg, "Exif\0\0", 6)) {
            int o = exif_orientation(seg + 6, seg_size - 6);
            if (o) {
                out->orientation = o;
                found_orientation = 1;
            }
        }
        pos += len;
        if (marker == M_SOS) {
            /* Entropy-coded data runs to the next marker other than a
             * stuffed zero (FF 00) or a restart marker (FF D0..D7). */
            while (pos + 1 < size) {
                uint8_t next = data[pos + 1];
                if (data[pos] == 0xFF && next != 0 && next != 0xFF && !(next >= 0xD0 && next <= 0xD7))
                    break;
                pos++;
            }
            if (pos + 1 >= size)
                break;
        }
    }
    out->truncated = 1;
}
