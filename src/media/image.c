/* Still images, decoded by the libraries we link: JPEG by stb_image, every
 * other format by libavcodec's image decoders. JPEG stays with stb_image
 * because its pixels are what every result so far was measured on
 * (libavcodec's IDCT and chroma upsampling differ by a few levels). What
 * neither library does is here: telling images from videos by content,
 * refusing oversized or implausible headers with the size in the message,
 * and, for JPEG, EXIF orientation and the checks stb_image lacks
 * (jpeg_markers.c). */
#include "emotrace/image.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
#include <stb_image.h>

#include "av_error.h"
#include "av_frame.h"
#include "emotrace/error.h"
#include "jpeg_markers.h"

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
    /* stb_image and AVPacket take an int length. */
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

/* A format we read, and who decodes it: AV_CODEC_ID_NONE for stb_image. */
typedef struct {
    const char *name;
    enum AVCodecID codec;
} image_format;

static const image_format JPEG = {"JPEG", AV_CODEC_ID_NONE}, PNG = {"PNG", AV_CODEC_ID_PNG},
                          GIF = {"GIF", AV_CODEC_ID_GIF}, BMP = {"BMP", AV_CODEC_ID_BMP},
                          TIFF = {"TIFF", AV_CODEC_ID_TIFF}, WEBP = {"WebP", AV_CODEC_ID_WEBP},
                          PSD = {"PSD", AV_CODEC_ID_PSD}, TGA = {"TGA", AV_CODEC_ID_TARGA},
                          PNM[7] = {{"PBM", AV_CODEC_ID_PBM}, {"PGM", AV_CODEC_ID_PGM}, {"PPM", AV_CODEC_ID_PPM},
                                    {"PBM", AV_CODEC_ID_PBM}, {"PGM", AV_CODEC_ID_PGM}, {"PPM", AV_CODEC_ID_PPM},
                                    {"PAM", AV_CODEC_ID_PAM}};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && !strcasecmp(path + n - e, ext);
}

/* The format from the first bytes (magic numbers; the .tga extension, as
 * TGA has none), or NULL. Our own sniffing rather than FFmpeg's probe: a
 * file's kind decides image or video before anything is opened, and these
 * few checks are cheaper than probing every demuxer. */
static const image_format *image_format_of(const char *path, const uint8_t *p, size_t n)
{
    static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return &JPEG;
    if (n >= 8 && !memcmp(p, png, 8))
        return &PNG;
    if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
        return &GIF;
    /* "BM" alone is too weak: also require a known DIB header size. */
    if (n >= 18 && p[0] == 'B' && p[1] == 'M') {
        uint32_t dib = le32(p + 14);
        if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 || dib == 124)
            return &BMP;
    }
    if (n >= 4 && (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4)))
        return &TIFF;
    if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
        return &WEBP;
    if (n >= 4 && !memcmp(p, "8BPS", 4))
        return &PSD;
    /* Netpbm, P1 to P7, then whitespace. */
    if (n >= 3 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7' &&
        (p[2] == ' ' || p[2] == '\n' || p[2] == '\r' || p[2] == '\t'))
        return &PNM[p[1] - '1'];
    return has_extension(path, ".tga") ? &TGA : NULL;
}

/* Size from the header of the formats whose size sits at a fixed place,
 * read before decoding so that a refusal says what the header claims
 * (the decoders' own refusals say only "invalid"). JPEG's size comes from
 * stbi_info. */
static int header_size(const image_format *fmt, const uint8_t *p, size_t n, long long *w, long long *h)
{
    if (fmt == &PNG && n >= 24 && !memcmp(p + 12, "IHDR", 4)) {
        *w = be32(p + 16);
        *h = be32(p + 20);
        return 1;
    }
    if (fmt == &GIF && n >= 10) {
        *w = p[6] | p[7] << 8;
        *h = p[8] | p[9] << 8;
        return 1;
    }
    if (fmt == &BMP && n >= 26) {
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
 * hold is a decompression bomb: a decoder would allocate and clear
 * gigabytes for a few bytes (16 bytes of GIF claiming 66 megapixels, found
 * by fuzz_image). */
#define MIN_BYTES_PER_PIXEL (1.0 / 4096)

static int check_plausible(const char *path, long long w, long long h, size_t size)
{
    if ((double)w * (double)h * MIN_BYTES_PER_PIXEL <= (double)size)
        return ET_OK;
    return et_error_set(ET_ERR_FORMAT, "%s: header says %lldx%lld pixels, which %zu bytes cannot hold", path, w, h,
                        size);
}

/* JPEG through stb_image, after the checks it does not make, turned
 * upright as the EXIF orientation asks. */
static int decode_jpeg(const char *path, const uint8_t *data, size_t size, et_frame *out)
{
    /* EXIF orientation -> clockwise turn, then a left-right mirror. Mirroring
     * after turning by -r equals the EXIF order (mirror, then turn by r). */
    static const int turn[9] = {0, 0, 0, 180, 180, 90, 90, 270, 270};
    static const int mirror[9] = {0, 0, 1, 0, 1, 1, 0, 1, 0};
    et_jpeg_markers jm;
    et_jpeg_markers_parse(data, size, &jm);
    if (jm.bad_huffman)
        return et_error_set(ET_ERR_FORMAT, "%s: corrupt JPEG (a Huffman table with more than 256 codes)", path);
    int w, h, dw, dh, channels, ret;
    if (!stbi_info_from_memory(data, (int)size, &w, &h, &channels))
        return et_error_set(ET_ERR_FORMAT, "%s: not a readable JPEG (%s)", path, stbi_failure_reason());
    if ((ret = check_size(path, w, h)) < 0 || (ret = check_plausible(path, w, h, size)) < 0)
        return ret;
    if (jm.truncated)
        return et_error_set(ET_ERR_FORMAT, "%s: truncated JPEG (no end-of-image marker)", path);
    uint8_t *pixels = stbi_load_from_memory(data, (int)size, &dw, &dh, &channels, 3);
    if (!pixels)
        return et_error_set(ET_ERR_FORMAT, "%s: cannot decode JPEG: %s", path, stbi_failure_reason());
    if (dw != w || dh != h) {
        stbi_image_free(pixels);
        return et_error_set(ET_ERR_FORMAT, "%s: decoded %dx%d but header says %dx%d", path, dw, dh, w, h);
    }
    /* Borrow the pixels as a frame without taking ownership. */
    et_frame decoded = {.width = w, .height = h, .stride = w * 3, .rgb = pixels};
    if ((ret = et_frame_rotate(out, &decoded, turn[jm.orientation])) < 0)
        et_error_wrap(ret, "%s: ", path);
    else if (mirror[jm.orientation])
        et_frame_flip_horizontal(out);
    stbi_image_free(pixels);
    return ret;
}

/* Any other format through its libavcodec decoder, the whole file as one
 * packet. The decoders check what stb_image did not (PNG chunk lengths
 * against the file, PGM/PPM sample counts; both were fuzz_image finds
 * against stb_image). */
static int decode_ffmpeg(const char *path, const image_format *fmt, const uint8_t *data, size_t size,
                         et_frame *out)
{
    const AVCodec *codec = avcodec_find_decoder(fmt->codec);
    if (!codec)
        return et_error_set(ET_ERR_FORMAT, "%s: no %s decoder in this FFmpeg build", path, fmt->name);
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    struct SwsContext *sws = NULL;
    char what[64];
    snprintf(what, sizeof what, "corrupt or truncated %s", fmt->name);
    int ret;
    if (!dec || !pkt || !frame) {
        ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto end;
    }
    /* The plausibility and size limits for the formats whose header we do
     * not read: the decoder refuses a larger picture before allocating it. */
    double plausible = (double)size / MIN_BYTES_PER_PIXEL;
    dec->max_pixels = plausible < ET_IMAGE_MAX_PIXELS ? (int64_t)plausible : ET_IMAGE_MAX_PIXELS;
    dec->thread_count = 1;
    pkt->data = (uint8_t *)data; /* not reference-counted: the decoder takes a padded copy */
    pkt->size = (int)size;
    if ((ret = avcodec_open2(dec, codec, NULL)) < 0) {
        ret = et_av_error(ret, path, "cannot open decoder");
        goto end;
    }
    if ((ret = avcodec_send_packet(dec, pkt)) < 0 || (ret = avcodec_send_packet(dec, NULL)) < 0 ||
        (ret = avcodec_receive_frame(dec, frame)) < 0) {
        /* Whatever the decoder's reason (zlib's errors come as "external
         * library" ones), the file in memory is at fault, not I/O. */
        if (ret == AVERROR_EOF)
            ret = et_error_set(ET_ERR_FORMAT, "%s: %s (no picture in it)", path, what);
        else
            ret = et_av_error(ret, path, what) == ET_ERR_NOMEM ? ET_ERR_NOMEM : ET_ERR_FORMAT;
        goto end;
    }
    if ((ret = check_size(path, frame->width, frame->height)) == ET_OK)
        ret = et_av_frame_to_rgb(&sws, frame, out, path);
end:
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    return ret;
}

int et_image_load(const char *path, et_frame *out)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int ret = read_file(path, &data, &size);
    if (ret < 0)
        return ret;
    const image_format *fmt = image_format_of(path, data, size);
    long long w, h;
    if (!fmt)
        ret = et_error_set(ET_ERR_FORMAT, "%s: not a readable image (unknown format)", path);
    else if (header_size(fmt, data, size, &w, &h) &&
             ((ret = check_size(path, w, h)) < 0 || (ret = check_plausible(path, w, h, size)) < 0))
        ; /* refused from the header */
    else if (fmt == &JPEG)
        ret = decode_jpeg(path, data, size, out);
    else
        ret = decode_ffmpeg(path, fmt, data, size, out);
    if (ret == ET_OK) {
        out->t = 0;
        out->index = 0;
    }
    free(data);
    return ret;
}

/* 1 when the GIF at path holds a second image: an animation, which FFmpeg
 * reads frame by frame with its delays as a video. FFmpeg's GIF demuxer
 * walks the blocks and gives one packet per image; a GIF too broken to
 * tell gives fewer, and the image loader then says what is wrong. */
static int gif_is_animated(const char *path)
{
    char url[PATH_MAX + 8];
    /* "file:" so that a ':' in the name is not taken for a protocol. */
    if (snprintf(url, sizeof url, "file:%s", path) >= (int)sizeof url)
        return 0;
    AVFormatContext *fmt = NULL;
    AVPacket *pkt = av_packet_alloc();
    int images = 0;
    if (pkt && avformat_open_input(&fmt, url, av_find_input_format("gif"), NULL) == 0)
        while (images < 2 && av_read_frame(fmt, pkt) == 0) {
            images++;
            av_packet_unref(pkt);
        }
    avformat_close_input(&fmt);
    av_packet_free(&pkt);
    return images == 2;
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
    fclose(f);
    if (failed)
        return et_error_set(ET_ERR_IO, "%s: read failed: %s", path, strerror(err));
    const image_format *fmt = image_format_of(path, p, n);
    return fmt && !(fmt == &GIF && gif_is_animated(path));
}
