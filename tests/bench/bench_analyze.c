/* Analysis speed on a 640x360 30 fps single-face H.264 clip, every frame
 * analysed, counted in the frames the analysis reports it analysed:
 *   analyze_steady_frames_per_s: in this process, models loaded before the
 *     clock starts (decode to store, the steady state of a long video), with
 *     a per-stage breakdown (milliseconds per frame);
 *   analyze_process_frames_per_s: the emotrace binary as a user runs it, the
 *     whole process timed: start-up and model loading included;
 * next to decode-only speed of the same file; and peak memory against video
 * length (analyze_memory). */
#include <cblas.h>
#include <sqlite3.h>
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

/* Runs "./emotrace analyze -q -o DB clip" as a child process, timed from
 * fork to exit; returns the frames it analysed (read back from its
 * database) and sets *seconds and, if not NULL, *peak_mb (peak resident
 * memory, from wait4). Exits on failure: a benchmark without its
 * measurement must not print one. */
static long run_analyze(const char *clip, double *seconds, double *peak_mb)
{
    const char *out = "/tmp/emotrace-bench-process.sqlite";
    unlink(out);
    double t0 = bench_now();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execl("./emotrace", "emotrace", "analyze", "-q", "-o", out, clip, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: emotrace analyze %s failed\n", clip);
        exit(1);
    }
    *seconds = bench_now() - t0;
    if (peak_mb)
        *peak_mb = ru.ru_maxrss / 1024.0; /* KiB on Linux */
    long frames = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(out, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT sum(frames_analyzed) FROM media WHERE status = 'done'", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        frames = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    unlink(out);
    if (frames <= 0) {
        fprintf(stderr, "bench: emotrace analyze %s analysed no frame\n", clip);
        exit(1);
    }
    return frames;
}

BENCH(analyze_clip)
{
    if (make_clip() != 0) {
        fprintf(stderr, "analyze_clip: cannot make %s (ffmpeg missing?)\n", CLIP);
        exit(1);
    }
    openblas_set_num_threads(2);
    /* Decode only. */
    et_video *v = NULL;
    et_frame frame = {0};
    long frames = 0;
    double t0 = bench_now();
    if (et_video_open(&v, CLIP, NULL) != ET_OK) {
        fprintf(stderr, "analyze_clip: %s\n", et_error_message());
        exit(1);
    }
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
        exit(1);
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
        exit(1);
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
    if (rc != ET_OK || s.frames_analyzed <= 0) {
        fprintf(stderr, "analyze_clip: no frame analysed\n");
        exit(1);
    }
    double per_frame = 1000.0 / s.frames_analyzed;
    bench_report("analyze_steady_frames_analysed", (double)s.frames_analyzed);
    bench_report("analyze_steady_frames_per_s", s.frames_analyzed / seconds);
    bench_report("analyze_stage_decode_ms_per_frame", s.decode * per_frame);
    bench_report("analyze_stage_detect_ms_per_frame", s.detect * per_frame);
    bench_report("analyze_stage_align_ms_per_frame", s.align * per_frame);
    bench_report("analyze_stage_cnn_ms_per_frame", s.cnn * per_frame);
    bench_report("analyze_stage_lstm_ms_per_frame", s.temporal * per_frame);
    bench_report("analyze_stage_store_ms_per_frame", s.store * per_frame);
    bench_report("analyze_faces_per_frame", (double)s.observations / s.frames_analyzed);
    unlink(out);
    et_temporal_free(temporal);
    et_face_detector_free(detector);
    et_emotion_classifier_free(&classifier);

    double process_seconds = 0;
    long process_frames = run_analyze(CLIP, &process_seconds, NULL);
    bench_report("analyze_process_seconds", process_seconds);
    bench_report("analyze_process_frames_per_s", process_frames / process_seconds);
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

BENCH(analyze_memory)
{
    const char *short_clip = "/tmp/emotrace-bench-1min.mp4", *long_clip = "/tmp/emotrace-bench-10min.mp4";
    if (make_long_clip(short_clip, 60) != 0 || make_long_clip(long_clip, 600) != 0) {
        fprintf(stderr, "analyze_memory: cannot make the clips (ffmpeg missing?)\n");
        exit(1);
    }
    double s1 = 0, s10 = 0, m1 = 0, m10 = 0;
    run_analyze(short_clip, &s1, &m1);
    long frames10 = run_analyze(long_clip, &s10, &m10);
    bench_report("analyze_memory_peak_mb_1min", m1);
    bench_report("analyze_memory_peak_mb_10min", m10);
    bench_report("analyze_memory_10min_over_1min", m10 / m1);
    bench_report("analyze_memory_10min_process_frames_per_s", frames10 / s10);
}
