/* Running the emotrace binary from tests (ET_BIN names the build's binary). */
#ifndef EMOTRACE_CLI_RUN_H
#define EMOTRACE_CLI_RUN_H

/* Exit statuses that make sanitize-test gives AddressSanitizer (and its
 * LeakSanitizer) and UndefinedBehaviorSanitizer, so that a finding never
 * looks like emotrace's own status 1. */
#define SANITIZER_EXIT_ASAN 86
#define SANITIZER_EXIT_UBSAN 87

/* Runs "$ET_BIN args" through the shell with stdout and stderr captured in
 * the caller-freed strings *out and *err (either may be NULL to discard).
 * Returns the exit status, or -1 if it could not run. A sanitizer report
 * on the child's stderr, or a sanitizer's exit status, fails the test
 * whatever status the caller expects. */
int cli_run(const char *args, char **out, char **err);
/* Records a test failure when a child's exit status (as shell_run returns
 * it) is a sanitizer's; returns status. The shell helpers below and every
 * test that starts children itself pass their statuses through it. */
int child_status_checked(int status, const char *command);
/* Runs a shell command (for tools such as ffmpeg and sqlite3); returns its
 * exit status. Output goes to the test's log only on failure. */
int shell_run(const char *command);
/* Runs the shell command built from fmt (printf-style); returns its exit
 * status and prints the command to stderr when it fails. */
int shell_runf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A path for a scratch file in the running test's directory (the string
 * lives until eight more calls). */
const char *test_path(const char *name);
/* Runs a shell command and returns its standard output (caller frees;
 * NULL if it could not run); *status receives the exit status or -1. */
char *shell_capture(const char *command, int *status);
/* Reads a whole file into a NUL-terminated string (NULL if unreadable). */
char *file_read_text(const char *path);
/* The built binary (ET_BIN, default ./emotrace). */
const char *cli_binary(void);
/* 1 when the binary was built with sanitizers (ET_SANITIZE set): tests then
 * analyse fewer frames to keep their run time reasonable. */
int cli_sanitized(void);

#endif
