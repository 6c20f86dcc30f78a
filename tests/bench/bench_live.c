/* A live source faster than its consumer: a 640x360 test pattern generated
 * at 250 frames per second (lavfi), read by a consumer that takes 20 ms per
 * frame (50 frames per second) for 4 s. Reports the frames each policy
 * hands out and drops, and how much the resident memory grew after the first
 * two seconds: it must stay flat (bounded queue) whatever the rates. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "emotrace/error.h"
#include "emotrace/live_reader.h"

#define SOURCE "testsrc2=size=640x360:rate=250"

static double rss_mb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

static void run(const char *name, et_live_policy policy)
{
    const char *const options[] = {NULL};
    et_video_options vo = {0};
    vo.input_format = "lavfi";
    vo.input_options = options;
    et_live_options lo = {policy, 0, NULL};
    et_live_reader *r = NULL;
    if (et_live_reader_open(&r, SOURCE, &vo, &lo) != ET_OK) {
        fprintf(stderr, "%s: %s\n", name, et_error_message());
        return;
    }
    et_frame frame = {0};
    long frames = 0;
    double start = bench_now(), rss_after_2s = 0, rss_max = 0;
    struct timespec work = {0, 20 * 1000000L};
    while (bench_now() - start < 4.0 && et_live_reader_read(r, &frame) > 0) {
        frames++;
        nanosleep(&work, NULL); /* the analysis */
        double rss = rss_mb();
        if (!rss_after_2s && bench_now() - start >= 2.0)
            rss_after_2s = rss;
        if (rss > rss_max)
            rss_max = rss;
    }
    char label[128];
    snprintf(label, sizeof label, "%s_frames_read", name);
    bench_report(label, (double)frames);
    snprintf(label, sizeof label, "%s_frames_dropped", name);
    bench_report(label, (double)et_live_reader_dropped(r));
    snprintf(label, sizeof label, "%s_rss_growth_after_2s_mb", name);
    bench_report(label, rss_max - rss_after_2s);
    et_live_reader_close(r);
    et_frame_free(&frame);
}

BENCH(live_reader_memory)
{
    run("live_latest", ET_LIVE_LATEST);
    run("live_all", ET_LIVE_ALL);
}
