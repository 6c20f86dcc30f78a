/* Runs every benchmark (or those whose name contains an argument). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "emotrace/clock.h"

#define MAX_BENCHES 128

static struct {
    const char *name;
    bench_fn fn;
} benches[MAX_BENCHES];
static int bench_count, benches_dropped;

void bench_register(const char *name, bench_fn fn)
{
    if (bench_count == MAX_BENCHES) {
        benches_dropped++;
        return;
    }
    benches[bench_count].name = name;
    benches[bench_count].fn = fn;
    bench_count++;
}

double bench_now(void)
{
    return et_now_seconds();
}

void bench_report(const char *name, double value)
{
    printf("%s: %.6g\n", name, value);
    fflush(stdout);
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
    if (benches_dropped) {
        fprintf(stderr, "run-bench: %d benchmarks registered, the table holds %d\n", bench_count + benches_dropped,
                MAX_BENCHES);
        return 2;
    }
    /* A filter that names no benchmark is a typo: running nothing would
     * look like success. */
    for (int a = 1; a < argc; a++) {
        int hits = 0;
        for (int i = 0; i < bench_count; i++)
            hits += strstr(benches[i].name, argv[a]) != NULL;
        if (!hits) {
            fprintf(stderr, "run-bench: no benchmark name contains '%s'\n", argv[a]);
            return 2;
        }
    }
    qsort(benches, bench_count, sizeof benches[0], compare);
    for (int i = 0; i < bench_count; i++) {
        int run = argc < 2;
        for (int a = 1; a < argc; a++)
            run |= strstr(benches[i].name, argv[a]) != NULL;
        if (run)
            benches[i].fn();
    }
    return 0;
}
