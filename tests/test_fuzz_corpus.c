/* The fuzzing corpus in `make test`: every seed (tests/fuzz/corpus/NAME)
 * and every input that once crashed a harness (tests/fuzz/regress/NAME)
 * runs through the same harness code as the fuzzers, so that ASan/UBSan
 * (make sanitize-test) see each again. The loaders must also reject the
 * regression inputs cleanly and accept the valid seeds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_IN_TESTS
#include "fuzz/fuzz_fer2013.c"
#include "fuzz/fuzz_file.c"
#include "fuzz/fuzz_image.c"
#include "fuzz/fuzz_safetensors.c"
#include "fuzz/fuzz_video.c"
#include "emotrace/error.h"
#include "test.h"

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            unsigned char *grown = realloc(data, cap = cap ? cap * 2 : 4096);
            if (!grown) {
                free(data);
                fclose(f);
                return NULL;
            }
            data = grown;
        }
        got = fread(data + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *size = n;
    return data;
}

/* Runs harness over every file of dir; returns how many ran (-1: no dir). */
static int replay(const char *dir, int (*harness)(const uint8_t *, size_t))
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t size = 0;
        unsigned char *data = read_all(path, &size);
        CHECK_MSG(data != NULL, "%s: unreadable", path);
        if (data)
            harness(data, size);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

static void replay_both(const char *name, int (*harness)(const uint8_t *, size_t))
{
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
    CHECK_MSG(replay(dir, harness) >= 1, "%s: no seeds", dir);
    snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", name);
    replay(dir, harness); /* only where a crash was found */
}

TEST(fuzz_corpus_image)
{
    replay_both("image", fuzz_image);
    /* The seeds are real images. */
    et_frame frame = {0};
    CHECK(et_image_load("tests/fuzz/corpus/image/small.png", &frame) == 0 && frame.width == 16);
    et_frame_free(&frame);
    /* Found by fuzz_image: a DHT table of more than 256 codes made
     * stb_image write past its size[257] array (UBSan in stb_image.h
     * stbi__build_huffman). Refused before stb_image sees it. */
    static const char *const huffman[] = {"tests/fuzz/regress/image/jpeg-dht-257-codes.jpg",
                                          /* the same table behind junk bytes that stb_image skips */
                                          "tests/fuzz/regress/image/jpeg-dht-after-junk.jpg",
                                          /* a table count that runs past its segment, as stb_image reads on */
                                          "tests/fuzz/regress/image/jpeg-dht-tables-past-segment.jpg",
                                          /* counts cut off by the end of the file (read as zeros) */
                                          "tests/fuzz/regress/image/jpeg-dht-counts-at-eof.jpg"};
    for (int i = 0; i < 4; i++) {
        CHECK_MSG(et_image_load(huffman[i], &frame) == ET_ERR_FORMAT &&
                      strstr(et_error_message(), "Huffman table with more than 256 codes"),
                  "%s: %s", huffman[i], et_error_message());
        et_frame_free(&frame);
    }
    /* Found by fuzz_image (a timeout): 16 bytes of GIF header claiming
     * 32264x2048 pixels made stb_image allocate and clear about 1 GB
     * (libavcodec's GIF decoder, which now reads GIFs, would too). */
    CHECK(et_image_load("tests/fuzz/regress/image/gif-66mp-in-16-bytes.gif", &frame) == ET_ERR_FORMAT &&
          strstr(et_error_message(), "which 16 bytes cannot hold"));
    et_frame_free(&frame);
    /* Found by fuzz_image (UBSan: signed overflow in stb_image): a JPEG
     * scan using a quantisation table the file never defines, which
     * stb_image 2.27 read from uninitialised heap. Its pixels must not
     * depend on what the heap held before (src/media/stb_image_impl.c). */
    const char *dc = "tests/fuzz/regress/image/jpeg-dc-overflow.jpg";
    uint8_t *pixels[2] = {NULL, NULL};
    size_t bytes[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        /* Leave zeros, then garbage, in freed blocks of every size near
         * stb_image's decoder state (18.5 KB), all held at once so that
         * the decoder's allocation lands in one of them. */
        enum { BLOCKS = 256 };
        void *blocks[BLOCKS];
        for (int i = 0; i < BLOCKS; i++)
            if ((blocks[i] = malloc(12288 + (size_t)i * 64)))
                memset(blocks[i], k ? 0xbe : 0, 12288 + (size_t)i * 64);
        for (int i = 0; i < BLOCKS; i++)
            free(blocks[i]);
        REQUIRE(et_image_load(dc, &frame) == ET_OK);
        bytes[k] = (size_t)frame.height * frame.stride;
        pixels[k] = malloc(bytes[k]);
        REQUIRE(pixels[k]);
        memcpy(pixels[k], frame.rgb, bytes[k]);
        et_frame_free(&frame);
    }
    CHECK(bytes[0] == bytes[1] && !memcmp(pixels[0], pixels[1], bytes[0]));
    free(pixels[0]);
    free(pixels[1]);
    /* Found by fuzz_image (out of memory): a 227-byte PNG whose IDAT chunk
     * claims 2 GB, which stb_image allocated before reading. libavcodec,
     * which now decodes PNG, checks each chunk against the data left. */
    CHECK_MSG(et_image_load("tests/fuzz/regress/image/png-chunk-claims-2gb.png", &frame) == ET_ERR_FORMAT &&
                  strstr(et_error_message(), "corrupt or truncated PNG"),
              "%s", et_error_message());
    et_frame_free(&frame);
}

TEST(fuzz_corpus_video)
{
    replay_both("video", fuzz_video);
    /* The seeds are real videos: each decodes to its frames (counted by
     * ffprobe -count_frames), so the fuzzer starts from streams that get
     * past the demuxer and the decoder. */
    static const struct {
        const char *name;
        int frames;
    } seeds[] = {{"ffv1.nut", 3}, {"h264.mp4", 5}, {"mjpeg.avi", 3}, {"mpeg4.mkv", 5}, {"rotated.mp4", 5}};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/corpus/video/%s", seeds[i].name);
        et_video *v = NULL;
        et_frame frame = {0};
        int frames = 0;
        if (et_video_open(&v, path, NULL) == ET_OK)
            while (et_video_read(v, &frame) > 0 && frame.width > 0 && frame.height > 0)
                frames++;
        CHECK_MSG(frames == seeds[i].frames, "%s: %d frames decoded, expected %d (%s)", path, frames,
                  seeds[i].frames, et_error_message());
        et_video_close(v);
        et_frame_free(&frame);
    }
}

TEST(fuzz_corpus_safetensors)
{
    replay_both("safetensors", fuzz_safetensors);
    et_safetensors st;
    REQUIRE(et_safetensors_load(&st, "tests/fuzz/corpus/safetensors/small.safetensors") == 0);
    float h[3];
    CHECK(et_safetensors_load_f32(&st, "h", h, 3) == 0);
    CHECK_NEAR(h[1], 0.25, 0);
    CHECK_NEAR(h[2], -4, 0);
    et_safetensors_free(&st);
}

TEST(fuzz_corpus_fer2013)
{
    replay_both("fer2013", fuzz_fer2013);
    et_face_dataset ds;
    REQUIRE(et_fer2013_load(&ds, "tests/fuzz/corpus/fer2013/three.csv", NULL, 0) == 0);
    CHECK_EQ_INT(ds.count, 3);
    CHECK_EQ_INT(ds.labels[0], 3);
    CHECK_EQ_INT(ds.labels[2], 6);
    et_face_dataset_free(&ds);
}
