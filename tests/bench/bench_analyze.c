/* Analysis speed on a 640x360 30 fps single-face H.264 clip, every frame
 * analysed, counted in the frames the analysis reports it analysed:
 *   analyze_steady_frames_per_s: in this process, models loaded before the
 *     clock starts (decode to store, the steady state of a long video), with
 *     a per-stage breakdown (milliseconds per frame);
 *   analyze_process_frames_per_s: the emotrace binary as a user runs it, the
 *     whole process timed: start-up and model loading included;
 * next to decode-only speed of the same file; --fps 5 against every frame
 * (analyze_sampled); peak memory against video length (analyze_memory); and
 * the cost of linking tracks into persons (analyze_persons); and this build
 * against a baseline binary, runs alternated (analyze_ab). */
#include <cblas.h>
#include <math.h>
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
#include "emotrace/face_embedder.h"
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

/* The shipped models and the analyzer options analyze uses by default. */
typedef struct {
    et_emotion_classifier classifier;
    et_face_detector *detector;
    et_temporal *temporal;
    et_analyzer_options options;
} bench_models;

static void models_load(bench_models *m, const char *bench)
{
    char cnn[1024], lstm[1024];
    memset(m, 0, sizeof *m);
    et_face_detector_options d;
    et_face_detector_defaults(&d);
    if (et_weights_find("emotion-cnn.safetensors", cnn, sizeof cnn) != ET_OK ||
        et_emotion_classifier_load(&m->classifier, cnn) != ET_OK || et_face_detector_load(&m->detector, NULL, &d) != ET_OK) {
        fprintf(stderr, "%s: %s\n", bench, et_error_message());
        exit(1);
    }
    if (et_weights_find("emotion-lstm.safetensors", lstm, sizeof lstm) == ET_OK &&
        et_temporal_load(&m->temporal, lstm) != ET_OK)
        m->temporal = NULL;
    et_analyzer_options *o = &m->options;
    o->detector = m->detector;
    o->classifier = &m->classifier;
    o->temporal = m->temporal;
    et_face_align_defaults(&o->align);
    o->max_gap = 1.0;
    o->image_fps = 1.0;
}

static void models_free(bench_models *m)
{
    et_temporal_free(m->temporal);
    et_face_detector_free(m->detector);
    et_emotion_classifier_free(&m->classifier);
}

/* How decode_timed treats the frames. */
enum { DECODE_CONVERT_ALL, DECODE_CONVERT_NONE, DECODE_SAMPLED_5FPS };

/* Seconds to decode the clip: every frame converted to RGB, none (only
 * decoded), or sampled as --fps 5 does (the dropped frames not converted,
 * their non-reference ones not decoded); *frames receives the frame count. */
static double decode_timed(int mode, long *frames)
{
    et_video *v = NULL;
    et_frame frame = {0};
    et_sampler s;
    et_sampler_init(&s, 0, 5);
    et_video_options options = {0};
    options.sampler = mode == DECODE_SAMPLED_5FPS ? &s : NULL;
    *frames = 0;
    double t0 = bench_now();
    if (et_video_open(&v, CLIP, &options) != ET_OK) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    if (mode == DECODE_CONVERT_NONE)
        et_video_skip_pixels_before(v, HUGE_VAL);
    while (et_video_read(v, &frame) > 0)
        ++*frames;
    double seconds = bench_now() - t0;
    et_video_close(v);
    et_frame_free(&frame);
    return seconds;
}

/* Seconds for et_analyze_media on the clip with o, to a SQLite file;
 * exits when nothing was analysed. */
static double analyze_clip_timed(const char *clip, const et_analyzer_options *o, et_analyzer_stats *s);

static double analyze_timed(const et_analyzer_options *o, et_analyzer_stats *s)
{
    return analyze_clip_timed(CLIP, o, s);
}

static double analyze_clip_timed(const char *clip, const et_analyzer_options *o, et_analyzer_stats *s)
{
    et_sink *sink = NULL;
    const char *out = "/tmp/emotrace-bench-out.sqlite";
    unlink(out);
    if (et_sink_open(&sink, out, NULL, NULL) != ET_OK) {
        fprintf(stderr, "bench: %s\n", et_error_message());
        exit(1);
    }
    et_media_item item = {ET_MEDIA_VIDEO, (char *)clip, NULL, 0, NULL};
    et_media_info info;
    memset(&info, 0, sizeof info);
    info.path = clip;
    double t0 = bench_now();
    int rc = et_analyze_media(o, &item, &info, sink, s);
    double seconds = bench_now() - t0;
    if (rc != ET_OK)
        fprintf(stderr, "bench: %s\n", et_error_message());
    et_sink_close(sink);
    unlink(out);
    if (rc != ET_OK || s->frames_analyzed <= 0) {
        fprintf(stderr, "bench: no frame analysed\n");
        exit(1);
    }
    return seconds;
}

BENCH(analyze_clip)
{
    if (make_clip() != 0) {
        fprintf(stderr, "analyze_clip: cannot make %s (ffmpeg missing?)\n", CLIP);
        exit(1);
    }
    openblas_set_num_threads(2);
    long frames = 0;
    double decode_seconds = decode_timed(DECODE_CONVERT_ALL, &frames);
    bench_report("analyze_decode_only_frames_per_s", frames / decode_seconds);

    bench_models m;
    models_load(&m, "analyze_clip");
    et_analyzer_stats s;
    double seconds = analyze_timed(&m.options, &s);
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
    bench_report("analyze_frames_detected_share", (double)s.frames_detected / s.frames_analyzed);
    models_free(&m);

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

static void report_spread(const char *name, double *v, int n, int higher_is_better);

/* CPU seconds of this process so far, all threads. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of n values (a sorted copy's middle). */
static double median(const double *v, int n)
{
    double sorted[64];
    n = n < 64 ? n : 64;
    memcpy(sorted, v, (size_t)n * sizeof *v);
    qsort(sorted, (size_t)n, sizeof *sorted, by_value);
    return sorted[n / 2];
}

/* --fps 5 against every frame on the 30 fps clip (B-frames: x264 medium),
 * models loaded once, in rounds of one run each, alternated (the machine
 * being shared): speed in source frames (decoded) per second of wall time
 * (medians), each round's ratio of wall and of CPU time (best, median,
 * worst), and where the sampled run's time goes; next to decoding alone
 * (best of 5) with and without the RGB conversion, and as --fps 5 decodes
 * (the frames it drops not converted, their non-reference ones not
 * decoded). */
BENCH(analyze_sampled)
{
    if (make_clip() != 0) {
        fprintf(stderr, "analyze_sampled: cannot make %s (ffmpeg missing?)\n", CLIP);
        exit(1);
    }
    openblas_set_num_threads(2);
    long frames = 0;
    double convert = HUGE_VAL, decode = HUGE_VAL, sampled_decode = HUGE_VAL;
    for (int run = 0; run < 5; run++) {
        convert = fmin(convert, decode_timed(DECODE_CONVERT_ALL, &frames));
        decode = fmin(decode, decode_timed(DECODE_CONVERT_NONE, &frames));
        sampled_decode = fmin(sampled_decode, decode_timed(DECODE_SAMPLED_5FPS, &frames));
    }
    bench_report("analyze_sampled_decode_and_convert_frames_per_s", frames / convert);
    bench_report("analyze_sampled_decode_without_convert_frames_per_s", frames / decode);
    bench_report("analyze_sampled_decode_fps5_frames_per_s", frames / sampled_decode);

    bench_models m;
    models_load(&m, "analyze_sampled");
    et_analyzer_options every = m.options, sampled = m.options;
    sampled.max_fps = 5;
    /* The same with the detector on every analysed frame in both runs:
     * every frame detects a quarter of its frames by default (--detect-
     * every 4), --fps 5 all of its own (0.2 s apart, the longest gap the
     * cadence interpolates over), so this ratio is the sampling's alone. */
    et_analyzer_options every_detected = every, sampled_detected = sampled;
    every_detected.detect_every = sampled_detected.detect_every = 1;
    enum { ROUNDS = 7 };
    double wall[2][ROUNDS], cpu[2][ROUNDS], wall_detected[2][ROUNDS];
    et_analyzer_stats s_every = {0}, s_sampled = {0}, s;
    for (int r = 0; r < ROUNDS; r++) {
        double c0 = cpu_seconds();
        wall[0][r] = analyze_timed(&every, &s_every);
        double c1 = cpu_seconds();
        wall[1][r] = analyze_timed(&sampled, &s_sampled);
        double c2 = cpu_seconds();
        cpu[0][r] = c1 - c0, cpu[1][r] = c2 - c1;
        wall_detected[0][r] = analyze_timed(&every_detected, &s);
        wall_detected[1][r] = analyze_timed(&sampled_detected, &s);
    }
    models_free(&m);
    double speedup[ROUNDS], cpu_speedup[ROUNDS], detected_speedup[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        speedup[r] = wall[0][r] / wall[1][r];
        cpu_speedup[r] = cpu[0][r] / cpu[1][r];
        detected_speedup[r] = wall_detected[0][r] / wall_detected[1][r];
    }
    bench_report("analyze_sampled_rounds", ROUNDS);
    bench_report("analyze_sampled_every_frame_frames_per_s_median", s_every.frames_decoded / median(wall[0], ROUNDS));
    bench_report("analyze_sampled_fps5_frames_per_s_median", s_sampled.frames_decoded / median(wall[1], ROUNDS));
    bench_report("analyze_sampled_fps5_frames_analysed", (double)s_sampled.frames_analyzed);
    report_spread("analyze_sampled_fps5_speedup", speedup, ROUNDS, 1);
    report_spread("analyze_sampled_fps5_cpu_speedup", cpu_speedup, ROUNDS, 1);
    report_spread("analyze_sampled_fps5_speedup_detect_every_1", detected_speedup, ROUNDS, 1);
    /* Where the sampled run's time goes, per analysed frame (the last
     * round's stages): what keeps the speed-up below the ratio of frames
     * analysed. */
    double per_frame = 1000.0 / s_sampled.frames_analyzed;
    bench_report("analyze_sampled_fps5_decode_ms_per_analysed_frame", s_sampled.decode * per_frame);
    bench_report("analyze_sampled_fps5_detect_ms_per_analysed_frame", s_sampled.detect * per_frame);
    bench_report("analyze_sampled_fps5_cnn_ms_per_analysed_frame", s_sampled.cnn * per_frame);
    bench_report("analyze_sampled_fps5_frames_detected_share",
                 (double)s_sampled.frames_detected / s_sampled.frames_analyzed);
}

/* One `BINARY analyze -o DB clip` (summary on) in a child process: wall
 * seconds from fork to exit, CPU seconds (user + system, from wait4: less
 * disturbed than wall time by other processes on a shared machine), and
 * the steady frames/s its summary line reports (frames over the time of
 * its stages, models loaded). Exits on failure. */
typedef struct {
    double wall, cpu, steady;
    long frames;
} process_run;

static process_run run_binary(const char *binary, const char *clip)
{
    const char *out = "/tmp/emotrace-bench-ab.sqlite", *log = "/tmp/emotrace-bench-ab.log";
    unlink(out);
    process_run r = {0};
    double t0 = bench_now();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(log, "w", stderr))
            _exit(127);
        execl(binary, "emotrace", "analyze", "-o", out, clip, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: %s analyze %s failed\n", binary, clip);
        exit(1);
    }
    r.wall = bench_now() - t0;
    r.cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    FILE *f = fopen(log, "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, " frames, ");
        const char *q = strrchr(line, '(');
        if (p && q && sscanf(q, "(%lf frames/s)", &r.steady) == 1)
            r.frames = strtol(strstr(line, ": ") + 2, NULL, 10);
    }
    if (f)
        fclose(f);
    unlink(out);
    unlink(log);
    if (r.frames <= 0 || r.steady <= 0) {
        fprintf(stderr, "bench: %s analyze %s printed no summary\n", binary, clip);
        exit(1);
    }
    return r;
}

/* Best, median and worst of n values (sorted in place). */
static void report_spread(const char *name, double *v, int n, int higher_is_better)
{
    char key[160];
    qsort(v, (size_t)n, sizeof *v, by_value);
    snprintf(key, sizeof key, "%s_best", name);
    bench_report(key, higher_is_better ? v[n - 1] : v[0]);
    snprintf(key, sizeof key, "%s_median", name);
    bench_report(key, v[n / 2]);
    snprintf(key, sizeof key, "%s_worst", name);
    bench_report(key, higher_is_better ? v[0] : v[n - 1]);
}

/* This build's ./emotrace against a baseline binary (another commit's
 * build, EMOTRACE_BENCH_BASELINE=path; EMOTRACE_WEIGHTS must find the
 * weights from wherever it lies), on the 640x360 30 fps clip, default
 * options: runs alternated (baseline, this, baseline, ...; EMOTRACE_BENCH_
 * ROUNDS pairs, default 7) so that both meet the same load on a shared
 * machine. Per binary: steady frames/s (its summary line), per-process
 * frames/s (start-up and model loading included) and CPU milliseconds per
 * frame, each as best, median and worst; then the ratios of the bests and
 * of the medians. */
BENCH(analyze_ab)
{
    const char *baseline = getenv("EMOTRACE_BENCH_BASELINE");
    if (!baseline || !*baseline) {
        fprintf(stderr, "analyze_ab: set EMOTRACE_BENCH_BASELINE to a baseline emotrace binary to compare with\n");
        return;
    }
    if (make_clip() != 0) {
        fprintf(stderr, "analyze_ab: cannot make %s (ffmpeg missing?)\n", CLIP);
        exit(1);
    }
    enum { MAX_ROUNDS = 50 };
    const char *rounds_text = getenv("EMOTRACE_BENCH_ROUNDS");
    int rounds = rounds_text ? atoi(rounds_text) : 7;
    rounds = rounds < 1 ? 1 : rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
    const char *binaries[2] = {baseline, "./emotrace"}, *names[2] = {"analyze_ab_baseline", "analyze_ab_this"};
    double steady[2][MAX_ROUNDS], process[2][MAX_ROUNDS], cpu[2][MAX_ROUNDS];
    run_binary(binaries[0], CLIP); /* warm the page cache and the clip */
    run_binary(binaries[1], CLIP);
    for (int r = 0; r < rounds; r++)
        for (int b = 0; b < 2; b++) {
            process_run p = run_binary(binaries[b], CLIP);
            steady[b][r] = p.steady;
            process[b][r] = p.frames / p.wall;
            cpu[b][r] = 1000.0 * p.cpu / p.frames;
        }
    bench_report("analyze_ab_rounds", rounds);
    double best[2][3], median[2][3];
    for (int b = 0; b < 2; b++) {
        char name[128];
        snprintf(name, sizeof name, "%s_steady_frames_per_s", names[b]);
        report_spread(name, steady[b], rounds, 1);
        snprintf(name, sizeof name, "%s_process_frames_per_s", names[b]);
        report_spread(name, process[b], rounds, 1);
        snprintf(name, sizeof name, "%s_process_cpu_ms_per_frame", names[b]);
        report_spread(name, cpu[b], rounds, 0);
        best[b][0] = steady[b][rounds - 1], best[b][1] = process[b][rounds - 1], best[b][2] = cpu[b][0];
        median[b][0] = steady[b][rounds / 2], median[b][1] = process[b][rounds / 2], median[b][2] = cpu[b][rounds / 2];
    }
    bench_report("analyze_ab_steady_speedup_best", best[1][0] / best[0][0]);
    bench_report("analyze_ab_steady_speedup_median", median[1][0] / median[0][0]);
    bench_report("analyze_ab_process_speedup_best", best[1][1] / best[0][1]);
    bench_report("analyze_ab_process_speedup_median", median[1][1] / median[0][1]);
    bench_report("analyze_ab_cpu_speedup_best", best[0][2] / best[1][2]);
    bench_report("analyze_ab_cpu_speedup_median", median[0][2] / median[1][2]);
}

/* Persons (analyze's default) against none on real single-face footage:
 * the 10 s clip and the 1 minute one (the example looped), models loaded
 * once, runs alternated, best of 3 each. Reported per clip: wall time with
 * and without, their ratio minus 1 as a percentage (noisy on a shared
 * machine), and the time the analyzer itself counted in the person linker
 * (chips, descriptors, linking) as a share of the run without persons. */
static void persons_cost(const char *name, const char *clip, bench_models *m, et_face_embedder *e)
{
    et_analyzer_options without = m->options, with = m->options;
    with.embedder = e;
    with.person_threshold = ET_FACE_EMBED_THRESHOLD;
    et_analyzer_stats s_without, s_with;
    double t_without = HUGE_VAL, t_with = HUGE_VAL, linker = HUGE_VAL;
    for (int run = 0; run < 3; run++) {
        t_without = fmin(t_without, analyze_clip_timed(clip, &without, &s_without));
        t_with = fmin(t_with, analyze_clip_timed(clip, &with, &s_with));
        linker = fmin(linker, s_with.persons);
    }
    char key[128];
    snprintf(key, sizeof key, "analyze_persons_%s_seconds_without", name);
    bench_report(key, t_without);
    snprintf(key, sizeof key, "analyze_persons_%s_seconds_with", name);
    bench_report(key, t_with);
    snprintf(key, sizeof key, "analyze_persons_%s_wall_overhead_pct", name);
    bench_report(key, 100.0 * (t_with / t_without - 1.0));
    snprintf(key, sizeof key, "analyze_persons_%s_linker_seconds", name);
    bench_report(key, linker);
    snprintf(key, sizeof key, "analyze_persons_%s_linker_pct", name);
    bench_report(key, 100.0 * linker / t_without);
    snprintf(key, sizeof key, "analyze_persons_%s_tracks", name);
    bench_report(key, (double)s_with.tracks);
}

BENCH(analyze_persons)
{
    const char *minute = "/tmp/emotrace-bench-1min.mp4";
    if (make_clip() != 0 || make_long_clip(minute, 60) != 0) {
        fprintf(stderr, "analyze_persons: cannot make the clips (ffmpeg missing?)\n");
        exit(1);
    }
    openblas_set_num_threads(2);
    bench_models m;
    models_load(&m, "analyze_persons");
    et_face_embedder *e = NULL;
    if (et_face_embedder_load(&e, NULL) != ET_OK) {
        fprintf(stderr, "analyze_persons: %s\n", et_error_message());
        exit(1);
    }
    persons_cost("10s", CLIP, &m, e);
    persons_cost("1min", minute, &m, e);
    et_face_embedder_free(e);
    models_free(&m);
}
