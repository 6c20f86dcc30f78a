/* analyze --jobs on eight short clips, wall clock of the whole CLI run,
 * models loaded included. Two comparisons, each named for its baseline:
 *   jobs2_threads2_over_jobs1_threads1_speedup: two jobs on two threads
 *     against one job on one thread, what --jobs gives many small inputs
 *     (per-file costs; the batch issue's target: at least 1.7 on a quiet
 *     2-core machine);
 *   jobs2_over_jobs1_same_2threads_speedup: two jobs against one job on
 *     the same two threads; one job already spreads its frames over the
 *     cores (detector and CNN per thread), so --jobs 2 gains little here
 *     for videos. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

#define DIR "/tmp/emotrace-bench-jobs"
#define CLIPS 8

/* Eight 2 s clips from different stretches of the example (640x360). */
static int make_clips(void)
{
    char cmd[512];
    if (system("mkdir -p " DIR "/in") != 0)
        return -1;
    for (int i = 0; i < CLIPS; i++) {
        snprintf(cmd, sizeof cmd,
                 "test -e " DIR "/in/clip%d.mp4 || ffmpeg -nostdin -v error -y -ss %d -t 2 -i examples/expressions.mp4 "
                 "-an -c:v libx264 -preset fast " DIR "/in/clip%d.mp4",
                 i, 2 * i, i);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static double run_jobs(int jobs, int threads)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "rm -f " DIR "/out.sqlite*; ./emotrace analyze -q --threads %d --jobs %d -o " DIR "/out.sqlite " DIR "/in",
             threads, jobs);
    double t0 = bench_now();
    int rc = system(cmd);
    double seconds = bench_now() - t0;
    return rc == 0 ? seconds : -1;
}

BENCH(jobs_speedup)
{
    if (make_clips() != 0) {
        fprintf(stderr, "jobs_speedup: cannot make the clips in %s (ffmpeg missing?)\n", DIR);
        exit(1);
    }
    double one = run_jobs(1, 2), two = run_jobs(2, 2), single = run_jobs(1, 1);
    if (one <= 0 || two <= 0 || single <= 0) {
        fprintf(stderr, "jobs_speedup: analyze failed\n");
        exit(1);
    }
    bench_report("jobs1_threads2_seconds", one);
    bench_report("jobs2_threads2_seconds", two);
    bench_report("jobs1_threads1_seconds", single);
    bench_report("jobs2_threads2_over_jobs1_threads1_speedup", single / two);
    bench_report("jobs2_over_jobs1_same_2threads_speedup", one / two);
}
