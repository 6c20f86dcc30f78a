/* Test runner: runs every registered test (or those whose name contains one
 * of the arguments) and ends with "N passed, N failed, N skipped". */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "emotrace/error.h"

#define MAX_TESTS 1024

static struct {
    const char *name;
    test_fn fn;
} tests[MAX_TESTS];
static int test_count, tests_dropped;
static int current_failures, current_skipped;
static char tmpdir[256];

void test_register(const char *name, test_fn fn)
{
    if (test_count == MAX_TESTS) {
        tests_dropped++;
        return;
    }
    tests[test_count].name = name;
    tests[test_count].fn = fn;
    test_count++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failures++;
}

void test_skip(const char *fmt, ...)
{
    va_list ap;
    printf("     skipped: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    current_skipped = 1;
}

const char *test_tmpdir(void)
{
    return tmpdir;
}

static int compare_names(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc <= 1)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return 1;
    return 0;
}

/* A filter that names no test is a typo: running nothing would pass. */
static int filters_match(int argc, char **argv)
{
    int ok = 1;
    for (int a = 1; a < argc; a++) {
        int hits = 0;
        for (int i = 0; i < test_count; i++)
            hits += strstr(tests[i].name, argv[a]) != NULL;
        if (!hits) {
            fprintf(stderr, "run-tests: no test name contains '%s'\n", argv[a]);
            ok = 0;
        }
    }
    return ok;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    if (tests_dropped) {
        fprintf(stderr, "run-tests: %d tests registered, the table holds %d: raise MAX_TESTS in %s\n",
                test_count + tests_dropped, MAX_TESTS, __FILE__);
        return 2;
    }
    if (!filters_match(argc, argv))
        return 2;
    /* As the CLI does: FFmpeg's log lines (what it conceals in damaged input,
     * libx264's statistics) would bury the test results; the library's own
     * error messages are what tests check. */
    av_log_set_level(AV_LOG_QUIET);
    /* Order by name so that runs are reproducible whatever the link order. */
    qsort(tests, test_count, sizeof tests[0], compare_names);
    for (int i = 0; i < test_count; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        snprintf(tmpdir, sizeof tmpdir, "/tmp/emotrace-test-%d-%s", (int)getpid(), tests[i].name);
        mkdir(tmpdir, 0700);
        current_failures = 0;
        current_skipped = 0;
        et_error_clear();
        tests[i].fn();
        if (current_failures == 0) {
            if (current_skipped) {
                skipped++;
                printf("skip %s\n", tests[i].name);
            } else {
                passed++;
                printf("ok   %s\n", tests[i].name);
            }
            char cmd[300];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
            if (system(cmd) != 0)
                fprintf(stderr, "warning: could not remove %s\n", tmpdir);
        } else {
            failed++;
            printf("FAIL %s (scratch files kept in %s)\n", tests[i].name, tmpdir);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
