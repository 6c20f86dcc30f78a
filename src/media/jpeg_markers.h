/* Internal: what a JPEG's marker segments say without decoding that
 * stb_image does not look at (EXIF orientation, truncation, impossible
 * Huffman tables). */
#ifndef EMOTRACE_MEDIA_JPEG_MARKERS_H
#define EMOTRACE_MEDIA_JPEG_MARKERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int truncated;    /* the data ends before the end-of-image marker */
    int orientation;  /* EXIF orientation 1..8; 1 when absent or invalid */
    /* A Huffman table (DHT) lists more than 256 codes: impossible in a
     * valid file, and stb_image would write past its tables. */
    int bad_huffman;
} et_jpeg_markers;

/* Walks the segments of the JPEG in data (which starts with FF D8), skipping
 * bytes between segments up to the next FF as stb_image does; leaves
 * anything else it does not understand to the decoder. */
void et_jpeg_markers_parse(const uint8_t *data, size_t size, et_jpeg_markers *out);

#endif
