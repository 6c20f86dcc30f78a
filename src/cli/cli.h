/* Subcommands of the emotrace CLI. Each returns the process exit status:
 * 0 all good, 1 some inputs failed, 2 usage error. */
#ifndef EMOTRACE_CLI_H
#define EMOTRACE_CLI_H

#include <stdio.h>

enum { EXIT_OK = 0, EXIT_SOME_FAILED = 1, EXIT_USAGE = 2 };

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

int cmd_analyze(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
/* Looking at results: summary table, SVG timelines, HTML report. */
int cmd_summary(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* train --temporal and eval --temporal (the LSTM over face tracks). */
int cmd_train_temporal(int argc, char **argv);
int cmd_eval_temporal(int argc, char **argv);
int cmd_eval_persons(int argc, char **argv);

/* Prints "emotrace: <command>: <message>" and a hint to run --help; returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a positive integer option value; returns 0 or prints and returns 2. */
int cli_parse_int(const char *command, const char *option, const char *text, int min, int max, int *out);
/* Writes length bytes of text to path ("-": standard output); returns
 * EXIT_OK, or prints why and returns EXIT_SOME_FAILED. */
int cli_write_text(const char *command, const char *path, const char *text, size_t length);
int cli_parse_double(const char *command, const char *option, const char *text, double min, double max, double *out);

#endif
