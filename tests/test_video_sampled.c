/* Sampled decoding (et_video_options.sampler): the frames the sampler drops are not
 * converted, and the non-reference ones among them not even decoded, yet
 * every frame still comes back in its place with the time and index that
 * decoding everything gives, and each kept frame has the very pixels of
 * decoding everything. Clips made at test time with the ffmpeg CLI. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/frame.h"
#include "emotrace/sampler.h"
#include "emotrace/video.h"
#include "cli_run.h"
#include "test.h"

#define FFMPEG "ffmpeg -nostdin -hide_banner -v error -y"
#define MAX_FRAMES 400

typedef struct {
    double t[MAX_FRAMES];
    int64_t index[MAX_FRAMES];
    uint64_t pixels[MAX_FRAMES]; /* FNV-1a of the RGB rows; 0: not kept */
    int count;
    int64_t not_decoded;
} decoded_clip;

static uint64_t frame_hash(const et_frame *f)
{
    uint64_t h = 1469598103934665603ull;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *row = f->rgb + (size_t)y * f->stride;
        for (int x = 0; x < 3 * f->width; x++)
            h = (h ^ row[x]) * 1099511628211ull;
    }
    return h | 1; /* never 0 */
}

/* Decodes path, every frame (fps 0) or sampled at fps from start; the
 * kept frames' pixels hashed, by the same rule the decoder was given.
 * Returns 0, or -1 when the file does not open or read. */
static int decode_clip(const char *path, double start, double fps, decoded_clip *out)
{
    memset(out, 0, sizeof *out);
    et_video *v = NULL;
    et_sampler decoder_rule, kept_rule;
    et_sampler_init(&decoder_rule, start, fps);
    et_video_options options = {0};
    options.sampler = fps > 0 ? &decoder_rule : NULL;
    if (et_video_open(&v, path, &options) != ET_OK)
        return -1;
    et_sampler_init(&kept_rule, start, fps > 0 ? fps : 1e9);
    et_frame f = {0};
    int ret;
    while ((ret = et_video_read(v, &f)) > 0 && out->count < MAX_FRAMES) {
        int i = out->count++;
        out->t[i] = f.t;
        out->index[i] = f.index;
        out->pixels[i] = et_sampler_keep(&kept_rule, f.t) ? frame_hash(&f) : 0;
    }
    out->not_decoded = et_video_frames_not_decoded(v);
    et_frame_free(&f);
    et_video_close(v);
    return ret < 0 ? -1 : 0;
}

/* Sampled at fps from start against decoding every frame: the same frames
 * (t, index) in the same order, the kept ones with the same pixels.
 * Returns the frames left undecoded. */
static int64_t check_sampled(const char *path, double start, double fps, int frames)
{
    static decoded_clip every, sampled;
    if (decode_clip(path, 0, 0, &every) != 0 || decode_clip(path, start, fps, &sampled) != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s", path, et_error_message());
        return -1;
    }
    CHECK_EQ_INT(every.count, frames);
    CHECK_EQ_INT(sampled.count, every.count);
    CHECK_EQ_INT(every.not_decoded, 0);
    et_sampler rule;
    et_sampler_init(&rule, start, fps);
    int kept = 0, mismatches = 0;
    for (int i = 0; i < every.count && i < sampled.count; i++) {
        mismatches += every.t[i] != sampled.t[i] || every.index[i] != sampled.index[i];
        if (et_sampler_keep(&rule, every.t[i])) {
            kept++;
            CHECK_MSG(sampled.pixels[i] && sampled.pixels[i] == every.pixels[i],
                      "%s at %g fps: kept frame %d (t %g) differs from decoding every frame", path, fps, i,
                      every.t[i]);
        }
    }
    CHECK_MSG(mismatches == 0, "%s at %g fps: %d frames with another time or index", path, fps, mismatches);
    CHECK_MSG(kept > 0, "%s: no frame kept", path);
    /* Only dropped frames may go undecoded. */
    CHECK(sampled.not_decoded <= sampled.count - kept);
    return sampled.not_decoded;
}

/* H.264 with B-frames (x264's pyramid: some B-frames are references, the
 * others not), HEVC and MPEG-2: 5 of 30 frames a second, from the start
 * and from an offset at a rate that does not divide 30. */
TEST(video_sampled_same_frames_as_every_frame_decoded)
{
    const char *h264 = test_path("b.mp4"), *hevc = test_path("b.mkv"), *mpeg2 = test_path("b.ts");
    const char *source = "-f lavfi -i testsrc2=size=160x120:rate=30 -t 4 -pix_fmt yuv420p";
    REQUIRE(shell_runf(FFMPEG " %s -c:v libx264 -preset veryfast -bf 3 '%s'", source, h264) == 0);
    REQUIRE(shell_runf(FFMPEG " %s -c:v libx265 -x265-params log-level=error:bframes=4 '%s'", source, hevc) == 0);
    REQUIRE(shell_runf(FFMPEG " %s -c:v mpeg2video -bf 2 '%s'", source, mpeg2) == 0);
    const char *clips[] = {h264, hevc, mpeg2};
    for (int c = 0; c < 3; c++) {
        int64_t skipped = check_sampled(clips[c], 0, 5, 120);
        /* At least a third of the frames are non-reference B-frames, and
         * 25 in 30 are dropped. */
        CHECK_MSG(skipped >= 120 / 3 * 25 / 30 - 4, "%s: %lld frames left undecoded", clips[c], (long long)skipped);
        check_sampled(clips[c], 0.5, 7, 120);
        check_sampled(clips[c], 0, 30, 120); /* keeps every frame: nothing to skip */
    }
}

/* Variable frame rate (frames dropped from a 30 fps source at uneven
 * places), a codec that cannot skip (VP9) and MPEG-2 in a program stream,
 * where some packets carry no presentation time (skipping stops at the
 * first): the same frames, the kept ones' pixels the same. */
TEST(video_sampled_vfr_and_codec_without_skipping)
{
    const char *vfr = test_path("vfr.mkv"), *vp9 = test_path("b.webm"), *ps = test_path("b.mpg");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc2=size=160x120:rate=30 -t 4 -vf "
                              "\"select='not(eq(mod(n,7),3))*not(eq(mod(n,11),5))'\" -fps_mode vfr "
                              "-c:v libx264 -preset veryfast -bf 3 -pix_fmt yuv420p '%s'",
                       vfr) == 0);
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc2=size=160x120:rate=30 -t 2 -c:v libvpx-vp9 -deadline realtime "
                              "-pix_fmt yuv420p '%s'",
                       vp9) == 0);
    /* 120 frames less those with n % 7 == 3 (17) or n % 11 == 5 (11),
     * two counted twice (n = 38 and 115). */
    CHECK_MSG(check_sampled(vfr, 0, 5, 120 - 17 - 11 + 2) > 0, "%s: every frame decoded", vfr);
    CHECK_EQ_INT(check_sampled(vp9, 0, 5, 60), 0);
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc2=size=160x120:rate=30 -t 4 -c:v mpeg2video -bf 2 "
                              "-pix_fmt yuv420p '%s'",
                       ps) == 0);
    REQUIRE(shell_runf("ffprobe -v error -show_entries packet=pts -of csv '%s' | grep -q N/A", ps) == 0);
    check_sampled(ps, 0, 5, 120);
}

/* A damaged H.264 file (stretches of its frames overwritten): whatever the
 * decoder makes of it, sampling gives the frames decoding every frame
 * gives, the kept ones with the same pixels. */
TEST(video_sampled_damaged_file)
{
    const char *path = test_path("damaged.mp4");
    REQUIRE(shell_runf(FFMPEG " -f lavfi -i testsrc2=size=160x120:rate=30 -t 4 -c:v libx264 -preset veryfast -bf 3 "
                              "-pix_fmt yuv420p '%s'",
                       path) == 0);
    for (int offset = 20000; offset <= 80000; offset += 20000)
        REQUIRE(shell_runf("head -c 300 /dev/zero | dd of='%s' bs=1 seek=%d conv=notrunc 2>/dev/null", path,
                           offset) == 0);
    static decoded_clip every;
    int ret = decode_clip(path, 0, 0, &every);
    if (ret == 0) {
        CHECK_MSG(every.count > 60, "%d frames of 120 left", every.count);
        check_sampled(path, 0, 5, every.count);
    }
    CHECK_EQ_INT(ret, 0);
}
