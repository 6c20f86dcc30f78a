/* Still images through stb_image: the header is checked for sane
 * dimensions before decoding, JPEGs for truncation and EXIF orientation. */
#include "emotrace/image.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <stb_image.h>

#include "emotrace/error.h"
#include "jpeg_markers.h"
#include "pnm.h"

static int read_file(const char *path, uint8_t **data, size_t *size)
{
    struct stat sb;
    int ret = ET_OK;
    uint8_t *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ret = et_error_set(ET_ERR_IO, "%s: not a regular file", path);
        goto end;
    }
    /* stb_image takes an int length. */
    if (sb.st_size > INT_MAX) {
        ret = et_error_set(ET_ERR_FORMAT, "%s: %lld bytes is too large for an image file", path,
                           (long long)sb.st_size);
        goto end;
    }
    if (sb.st_size == 0) {
        ret = et_error_set(ET_ERR_FORMAT, "%s: empty file", path);
        goto end;
    }
    if (!(buf = malloc((size_t)sb.st_size))) {
        ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory reading %lld bytes", path,
                           (long long)sb.st_size);
        goto end;
    }
    if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        ret = et_error_set(ET_ERR_IO, "%s: read failed: %s", path,
                           ferror(f) ? strerror(errno) : "file shrank while reading");
        goto end;
    }
    *data = buf;
    *size = (size_t)sb.st_size;
    buf = NULL;
end:
    free(buf);
    fclose(f);
    return ret;
}

enum image_kind { KIND_NONE, KIND_JPEG, KIND_PNG, KIND_GIF, KIND_BMP, KIND_PNM, KIND_OTHER };

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The format stb_image will read, from the first bytes (magic numbers). */
static enum image_kind image_kind(const uint8_t *p, size_t n)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    static const uint8_t softimage_pic[4] = {0x53, 0x80, 0xF6, 0x34};
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return KIND_JPEG;
    if (n >= 8 && !memcmp(p, png, 8))
        return KIND_PNG;
    if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
        return KIND_GIF;
    /* "BM" alone is too weak: also require a known DIB header size. */
    if (n >= 18 && p[0] == 'B' && p[1] == 'M') {
        uint32_t dib = le32(p + 14);
        if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124)
            return KIND_BMP;
    }
    if (n >= 4 && (!memcmp(p, "8BPS", 4) || !memcmp(p, softimage_pic, 4)))
        return KIND_OTHER;
    if (n >= 6 && (!memcmp(p, "#?RGBE", 6) || (n >= 10 && !memcmp(p, "#?RADIANCE", 10))))
        return KIND_OTHER;
    /* Binary PGM/PPM (the kinds stb reads): "P5" or "P6" and whitespace. */
    if (n >= 3 && p[0] == 'P' && (p[1] == '5' || p[1] == '6') &&
        (p[2] == ' ' || p[2] == '\n' || p[2] == '\r' || p[2] == '\t'))
        return KIND_PNM;
    return KIND_NONE;
}

/* Size from the header of the common formats. We read it ourselves because
 * stb_image refuses big images with only "unknown image type". */
static int header_size(enum image_kind kind, const uint8_t *p, size_t n, const et_jpeg_markers *jm,
                       const et_pnm_header *pnm, long long *w, long long *h)
{
    if (kind == KIND_PNM && pnm->channels) {
        *w = pnm->width;
        *h = pnm->height;
        return 1;
    }
    if (kind == KIND_JPEG && jm->width) {
        *w = jm->width;
        *h = jm->height;
        return 1;
    }
    if (kind == KIND_PNG && n >= 24 && !memcmp(p + 12, "IHDR", 4)) {
        *w = be32(p + 16);
        *h = be32(p + 20);
        return 1;
    }
    if (kind == KIND_GIF && n >= 10) {
        *w = p[6] | p[7] << 8;
        *h = p[8] | p[9] << 8;
        return 1;
    }
    if (kind == KIND_BMP && n >= 26) {
        if (le32(p + 14) == 12) { /* OS/2 header: 16-bit sizes */
            *w = p[18] | p[19] << 8;
            *h = p[20] | p[21] << 8;
        } else { /* signed; a negative height means top-down rows */
            *w = (int32_t)le32(p + 18);
            *h = llabs((long long)(int32_t)le32(p + 22));
        }
        return 1;
    }
    return 0;
}

/* A PNG chunk whose stated length runs past the end of the file: stb_image
 * allocates the stated length before reading it (2 GB for 227 bytes found
 * by fuzzing), so such a file is refused first. Returns the chunk's offset
 * or 0 if every chunk up to IEND or the end fits. */
static size_t png_overlong_chunk(const uint8_t *p, size_t n, uint32_t *length)
{
    size_t at = 8; /* after the signature */
    while (at + 8 <= n) {
        *length = be32(p + at);
        if (*length > n - at - 8)
            return at;
        if (!memcmp(p + at + 4, "IEND", 4))
            return 0;
        at += 8 + (size_t)*length + 4; /* length, type, data, CRC */
    }
    return 0;
}

static int check_size(const char *path, long long w, long long h)
{
    if (w > 0 && h > 0 && w <= ET_IMAGE_MAX_SIDE && h <= ET_IMAGE_MAX_SIDE && w * h <= ET_IMAGE_MAX_PIXELS)
        return ET_OK;
    return et_error_set(ET_ERR_FORMAT,
                        "%s: header says %lldx%lld pixels, beyond the limit of %d per side and %d "
                        "megapixels",
                        path, w, h, ET_IMAGE_MAX_SIDE, ET_IMAGE_MAX_PIXELS / 1000000);
}

/* The best compressors reach about 1000:1 on a flat image (deflate's limit
 * is 1032:1); a header that claims far more pixels than its file could
 * hold is a decompression bomb: stb_image would allocate and clear
 * gigabytes for a few bytes. */
#define MIN_BYTES_PER_PIXEL (1.0 / 4096)

static int check_plausible(const char *path, long long w, long long h, size_t size)
{
    if ((double)w * (double)h * MIN_BYTES_PER_PIXEL <= (double)size)
        return ET_OK;
    return et_error_set(ET_ERR_FORMAT, "%s: header says %lldx%lld pixels, which %zu bytes cannot hold", path, w, h,
                        size);
}

/* stb_image neither checks a PGM/PPM's maxval nor notices missing samples
 * (it gives black pixels for them). */
static int check_pnm(const char *path, const et_pnm_header *pnm, size_t size)
{
    if (pnm->maxval < 1 || pnm->maxval > 65535)
        return et_error_set(ET_ERR_FORMAT, "%s: corrupt PGM/PPM (maximum value %lld, must be 1 to 65535)", path,
                            pnm->maxval);
    long long needed = pnm->width * pnm->height * pnm->channels * (pnm->maxval > 255 ? 2 : 1);
    if ((long long)(size - pnm->data_offset) < needed)
        return et_error_set(ET_ERR_FORMAT, "%s: truncated PGM/PPM (%zu of %lld bytes of samples)", path,
                            size - pnm->data_offset, needed);
    return ET_OK;
}

/* Every other format: stb_image, after the checks it does not make. */
static int decode_with_stb(const char *path, enum image_kind kind, const uint8_t *data, size_t size,
                           const et_jpeg_markers *jm, uint8_t **pixels, int *w, int *h)
{
    uint32_t chunk_length = 0;
    size_t chunk = kind == KIND_PNG ? png_overlong_chunk(data, size, &chunk_length) : 0;
    if (chunk)
        return et_error_set(ET_ERR_FORMAT, "%s: truncated or corrupt PNG (the chunk at byte %zu claims %u bytes; "
                                           "the file ends %zu bytes later)", path, chunk, chunk_length, size - chunk - 8);
    int dw, dh, channels, ret;
    if (!stbi_info_from_memory(data, (int)size, w, h, &channels))
        return et_error_set(ET_ERR_FORMAT, "%s: not a readable image (%s)", path, stbi_failure_reason());
    if ((ret = check_size(path, *w, *h)) < 0 || (ret = check_plausible(path, *w, *h, size)) < 0)
        return ret;
    if (jm->truncated)
        return et_error_set(ET_ERR_FORMAT, "%s: truncated JPEG (no end-of-image marker)", path);
    if (!(*pixels = stbi_load_from_memory(data, (int)size, &dw, &dh, &channels, 3)))
        return et_error_set(ET_ERR_FORMAT, "%s: cannot decode image: %s", path, stbi_failure_reason());
    if (dw != *w || dh != *h)
        return et_error_set(ET_ERR_FORMAT, "%s: decoded %dx%d but header says %dx%d", path, dw, dh, *w, *h);
    return ET_OK;
}

int et_image_load(const char *path, et_frame *out)
{
    /* EXIF orientation -> clockwise turn, then a left-right mirror. Mirroring
     * after turning by -r equals the EXIF order (mirror, then turn by r). */
    static const int turn[9] = {0, 0, 0, 180, 180, 90, 90, 270, 270};
    static const int mirror[9] = {0, 0, 1, 0, 1, 1, 0, 1, 0};
    uint8_t *data = NULL, *pixels = NULL, *rgb = NULL;
    et_frame decoded;
    size_t size = 0;
    int w, h;

    int ret = read_file(path, &data, &size);
    if (ret < 0)
        return ret;
    enum image_kind kind = image_kind(data, size);
    et_jpeg_markers jm = {.orientation = 1};
    if (kind == KIND_JPEG)
        et_jpeg_markers_parse(data, size, &jm);
    if (jm.bad_huffman) {
        ret = et_error_set(ET_ERR_FORMAT, "%s: corrupt JPEG (a Huffman table with more than 256 codes)", path);
        goto end;
    }
    et_pnm_header pnm = {0};
    if (kind == KIND_PNM && !et_pnm_header_parse(data, size, &pnm)) {
        ret = et_error_set(ET_ERR_FORMAT, "%s: corrupt PGM/PPM header", path);
        goto end;
    }
    long long hw, hh;
    if (header_size(kind, data, size, &jm, &pnm, &hw, &hh) && (ret = check_size(path, hw, hh)) < 0)
        goto end;
    if (kind == KIND_PNM) {
        if ((ret = check_pnm(path, &pnm, size)) < 0)
            goto end;
        w = (int)pnm.width;
        h = (int)pnm.height;
        if (!(rgb = malloc((size_t)w * h * 3))) {
            ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
            goto end;
        }
        et_pnm_decode(&pnm, data, rgb);
    } else if ((ret = decode_with_stb(path, kind, data, size, &jm, &pixels, &w, &h)) < 0) {
        goto end;
    }
    /* Borrow the pixels as a frame without taking ownership. */
    decoded = (et_frame){.width = w, .height = h, .stride = w * 3, .rgb = rgb ? rgb : pixels};
    if ((ret = et_frame_rotate(out, &decoded, turn[jm.orientation])) < 0) {
        et_error_wrap(ret, "%s: ", path);
        goto end;
    }
    if (mirror[jm.orientation])
        et_frame_flip_horizontal(out);
    out->t = 0;
    out->index = 0;
end:
    stbi_image_free(pixels);
    free(rgb);
    free(data);
    return ret;
}

static int has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcasecmp(path + n - e, ext);
}

/* Skips a GIF's data sub-blocks (each a length byte and that many bytes, up
 * to a zero length). Returns 0 at the end of the file. */
static int gif_skip_sub_blocks(FILE *f)
{
    for (;;) {
        int n = fgetc(f);
        if (n == EOF)
            return 0;
        if (n == 0)
            return 1;
        if (fseek(f, n, SEEK_CUR) != 0)
            return 0;
    }
}

/* 1 when the GIF at f holds a second image: an animation, which FFmpeg
 * reads frame by frame with its delays (stb_image gives the first frame
 * only). 0 for one image, or a GIF too broken to tell (the image loader
 * then says what is wrong). Walks the blocks up to the second image
 * descriptor; each step reads at least a byte, so it ends. */
static int gif_is_animated(FILE *f)
{
    uint8_t header[13];
    if (fseek(f, 0, SEEK_SET) != 0 || fread(header, 1, sizeof header, f) != sizeof header)
        return 0;
    if ((header[10] & 0x80) && fseek(f, 3L << ((header[10] & 7) + 1), SEEK_CUR) != 0)
        return 0; /* global colour table */
    for (int images = 0;;) {
        int block = fgetc(f);
        if (block == 0x2C) { /* image descriptor */
            uint8_t d[9];
            if (++images == 2)
                return 1;
            if (fread(d, 1, sizeof d, f) != sizeof d ||
                ((d[8] & 0x80) && fseek(f, 3L << ((d[8] & 7) + 1), SEEK_CUR) != 0) || fgetc(f) == EOF ||
                !gif_skip_sub_blocks(f))
                return 0;
        } else if (block == 0x21) { /* extension: label, then sub-blocks */
            if (fgetc(f) == EOF || !gif_skip_sub_blocks(f))
                return 0;
        } else { /* trailer, end of file or garbage */
            return 0;
        }
    }
}

int et_image_probe(const char *path)
{
    uint8_t p[32] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(p, 1, sizeof p, f);
    int failed = ferror(f);
    int err = errno;
    enum image_kind kind = failed ? KIND_NONE : image_kind(p, n);
    int animated = kind == KIND_GIF && gif_is_animated(f);
    fclose(f);
    if (failed)
        return et_error_set(ET_ERR_IO, "%s: read failed: %s", path, strerror(err));

    if (kind != KIND_NONE)
        return !animated;
    /* TGA has no magic number. */
    return has_extension(path, ".tga") ? 1 : 0;
}
