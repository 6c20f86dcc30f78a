#include "cli_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

const char *cli_binary(void)
{
    const char *bin = getenv("ET_BIN");
    return bin && *bin ? bin : "./emotrace";
}

int cli_sanitized(void)
{
    const char *s = getenv("ET_SANITIZE");
    return s && *s && strcmp(s, "0") != 0;
}

/* Reads f to its end into a NUL-terminated string. */
static char *stream_read_text(FILE *f)
{
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    size_t n;
    while (text && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *grown = realloc(text, cap * 2);
            if (!grown) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
            cap *= 2;
        }
    }
    if (text)
        text[len] = '\0';
    return text;
}

char *file_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = stream_read_text(f);
    fclose(f);
    return text;
}

int child_status_checked(int status, const char *command)
{
    if (status == SANITIZER_EXIT_ASAN || status == SANITIZER_EXIT_UBSAN)
        test_fail(__FILE__, __LINE__, "%s sanitizer finding (exit status %d) in: %s",
                  status == SANITIZER_EXIT_ASAN ? "AddressSanitizer" : "UndefinedBehaviorSanitizer", status, command);
    return status;
}

/* The start of a sanitizer's report in a child's stderr, or NULL. */
static const char *sanitizer_report(const char *err)
{
    static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ",
                                        "SUMMARY: UndefinedBehaviorSanitizer"};
    for (size_t i = 0; err && i < sizeof marks / sizeof marks[0]; i++) {
        const char *hit = strstr(err, marks[i]);
        if (hit)
            return hit;
    }
    return NULL;
}

char *shell_capture(const char *command, int *status)
{
    *status = -1;
    FILE *p = popen(command, "r");
    if (!p)
        return NULL;
    char *text = stream_read_text(p);
    int rc = pclose(p);
    if (rc != -1 && WIFEXITED(rc))
        *status = child_status_checked(WEXITSTATUS(rc), command);
    if (sanitizer_report(text))
        test_fail(__FILE__, __LINE__, "sanitizer report in the output of %s:\n%s", command, sanitizer_report(text));
    return text;
}

int cli_run(const char *args, char **out, char **err)
{
    char out_path[600], err_path[600];
    static int counter;
    counter++;
    snprintf(out_path, sizeof out_path, "%s/cli-%d.out", test_tmpdir(), counter);
    snprintf(err_path, sizeof err_path, "%s/cli-%d.err", test_tmpdir(), counter);
    size_t size = strlen(args) + strlen(cli_binary()) + 2 * sizeof out_path + 32;
    char *command = malloc(size);
    if (!command)
        return -1;
    snprintf(command, size, "%s %s >'%s' 2>'%s' </dev/null", cli_binary(), args, out_path, err_path);
    int status = system(command);
    free(command);
    if (out)
        *out = file_read_text(out_path);
    char *text = file_read_text(err_path);
    if (sanitizer_report(text))
        test_fail(__FILE__, __LINE__, "sanitizer report from emotrace %s:\n%s", args, sanitizer_report(text));
    if (err)
        *err = text;
    else
        free(text);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return child_status_checked(WEXITSTATUS(status), args);
}

int shell_run(const char *command)
{
    int status = system(command);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return child_status_checked(WEXITSTATUS(status), command);
}

int shell_runf(const char *fmt, ...)
{
    char command[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(command, sizeof command, fmt, ap);
    va_end(ap);
    int status = system(command);
    if (status != 0)
        fprintf(stderr, "  command failed (%d): %s\n", status, command);
    if (status != -1 && WIFEXITED(status))
        child_status_checked(WEXITSTATUS(status), command);
    return status;
}

const char *test_path(const char *name)
{
    static char paths[8][768];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", test_tmpdir(), name);
    return p;
}
