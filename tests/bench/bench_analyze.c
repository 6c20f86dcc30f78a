/* End-to-end analysis speed on a 640x360 30 fps single-face H.264 clip,
 * every frame analysed, next to decode-only speed of the same file, with a
 * per-stage breakdown (milliseconds per frame); and peak memory against
 * video length (analyze_memory). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "emotrace/analyzer.h"
#include "emotrace/error.h"
#include "emotrace/video.h"
#include "emotrace/weights_path.h"

#define CLIP "/tmp/emotrace-bench-640x360-30fps.mp4"

/* The shipped example is 25 fps; the benchmark clip re-times it to 30 fps
 * (10 s, 300 frames). */
static int make_clip(void)
{
    if (access(CLIP, R_OK) == 0)
        return 0;
    return system("ffmpeg -nostdin -v error -y -i examples/expressions.mp4 -vf fps=30 -t 10 -c:v libx264 "
                  "-preset medium -crf 23 " CLIP);
}

BENCH(analyze_clip)
{
    if (make_clip() != 0) {
        fprintf(stderr, "analyze_clip: cannot make %s (ffmpeg missing?)\n", CLIP);
        return;
    }
    openblas_set_num_threads(2);
    /* Decode only. */
    et_video *v = NULL;
    et_frame frame = {0};
    long frames = 0;
    double t0 = bench_now();
    if (et_video_open(&v, CLIP, NULL) == ET_OK)
        while (et_video_read(v, &frame) > 0)
            frames++;
    double decode_seconds = bench_now() - t0;
    et_video_close(&v);
    et_frame_free(&frame);
    bench_report("analyze_decode_only_frames_per_s", frames / decode_seconds);

    char cnn[1024], lstm[1024];
    et_analyzer_options o;
    memset(&o, 0, sizeof o);
    et_face_detector_options d;
    et_face_detector_defaults(&d);
    et_emotion_classifier classifier;
    et_face_detector *detector = NULL;
    et_temporal *temporal = NULL;
    if (et_weights_find("emotion-cnn.safetensors", cnn, sizeof cnn) != ET_OK ||
        et_emotion_classifier_load(&classifier, cnn) != ET_OK || et_face_detector_open(&detector, NULL, &d) != ET_OK) {
        fprintf(stderr, "analyze_clip: %s\n", et_error_message());
        return;
    }
    if (et_weights_find("emotion-lstm.safetensors", lstm, sizeof lstm) == ET_OK && et_temporal_load(&temporal, lstm) != ET_OK)
        temporal = NULL;
    o.detector = detector;
    o.classifier = &classifier;
    o.temporal = temporal;
    et_face_align_defaults(&o.align);
    o.max_gap = 1.0;
    o.image_fps = 1.0;
    et_sink *sink = NULL;
    const char *out = "/tmp/emotrace-bench-out.sqlite";
    unlink(out);
    if (et_sink_open(&sink, out, NULL, NULL) != ET_OK) {
        fprintf(stderr, "analyze_clip: %s\n", et_error_message());
        return;
    }
    et_media_item item = {ET_MEDIA_VIDEO, CLIP, NULL, 0, NULL};
    et_media_info info;
    memset(&info, 0, sizeof info);
    info.path = CLIP;
    et_analyzer_stats s;
    t0 = bench_now();
    int rc = et_analyze_media(&o, &item, &info, sink, &s);
    double seconds = bench_now() - t0;
    if (rc != ET_OK)
        fprintf(stderr, "analyze_clip: %s\n", et_error_message());
    et_sink_close(sink);
    double per_frame = 1000.0 / (s.frames_analyzed ? s.frames_analyzed : 1);
    bench_report("analyze_end_to_end_frames_per_s", s.frames_analyzed / seconds);
    bench_report("analyze_stage_decode_ms_per_frame", s.decode * per_frame);
    bench_report("analyze_stage_detect_ms_per_frame", s.detect * per_frame);
    bench_report("analyze_stage_align_ms_per_frame", s.align * per_frame);
    bench_report("analyze_stage_cnn_ms_per_frame", s.cnn * per_frame);
    bench_report("analyze_stage_lstm_ms_per_frame", s.temporal * per_frame);
    bench_report("analyze_stage_store_ms_per_frame", s.store * per_frame);
    bench_report("analyze_faces_per_frame", (double)s.observations / (s.frames_analyzed ? s.frames_analyzed : 1));
    unlink(out);
    et_temporal_free(temporal);
    et_face_detector_free(detector);
    et_emotion_classifier_free(&classifier);
}

/* Peak memory against video length: the same single-face 640x360 30 fps
 * content, 1 minute and 10 minutes long, each analysed (every frame, SQLite
 * output) by the emotrace binary in a child process; peak resident memory
 * from wait4. Memory must stay flat: the ratio should be close to 1. */
static int make_long_clip(const char *path, int seconds)
{
    if (access(path, R_OK) == 0)
        return 0;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostdin -v error -y -stream_loop -1 -i examples/expressions.mp4 -t %d -vf fps=30 "
             "-c:v libx264 -preset ultrafast -crf 28 %s",
             seconds, path);
    return system(cmd);
}

static double peak_rss_mb(const char *clip, double *seconds)
{
    const char *out = "/tmp/emotrace-bench-memory.sqlite";
    unlink(out);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) {
        execl("./emotrace", "emotrace", "analyze", "-q", "-o", out, clip, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "analyze_memory: emotrace analyze %s failed\n", clip);
        return -1;
    }
    *seconds = bench_now() - t0;
    unlink(out);
    return ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

BENCH(analyze_memory)
{
    const char *short_clip = "/tmp/emotrace-bench-1min.mp4", *long_clip = "/tmp/emotrace-bench-10min.mp4";
    if (make_long_clip(short_clip, 60) != 0 || make_long_clip(long_clip, 600) != 0) {
        fprintf(stderr, "analyze_memory: cannot make the clips (ffmpeg missing?)\n");
        return;
    }
    double s1 = 0, s10 = 0;
    double m1 = peak_rss_mb(short_clip, &s1), m10 = peak_rss_mb(long_clip, &s10);
    if (m1 <= 0 || m10 <= 0)
        return;
    bench_report("analyze_memory_peak_mb_1min", m1);
    bench_report("analyze_memory_peak_mb_10min", m10);
    bench_report("analyze_memory_10min_over_1min", m10 / m1);
    bench_report("analyze_memory_10min_frames_per_s", 600 * 30 / s10);
}
