/* emotrace entry point: dispatches to one subcommand per file (cmd_*.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/log.h>

#include "cli.h"

static const cli_command commands[] = {
    {"analyze", cmd_analyze, "find faces in videos and images and write their emotions over time"},
    {"detect", cmd_detect, "print the faces found in videos and images (CSV)"},
    {"extract", cmd_extract, "write the aligned face crops the classifier sees, for a training set"},
    {"train", cmd_train, "train the emotion classifier"},
    {"eval", cmd_eval, "measure the emotion classifier on labelled faces"},
    {"summary", cmd_summary, "time on screen and per emotion for each face track of a results file"},
    {"plot", cmd_plot, "draw the emotion timelines of face tracks as SVG"},
    {"report", cmd_report, "write an HTML page with every track's timeline and summary"},
    {"merge", cmd_merge, "merge result databases (e.g. the shards of one batch) into one"},
    {"info", cmd_info, "print versions of emotrace, its libraries and weights"},
};
static const int command_count = (int)(sizeof commands / sizeof commands[0]);

static void print_usage(FILE *out)
{
    fprintf(out, "usage: emotrace COMMAND [OPTIONS] [ARGS...]\n\ncommands:\n");
    for (int i = 0; i < command_count; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'emotrace COMMAND --help' describes a command; 'man emotrace' has the details.\n");
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "emotrace: %s%s", command ? command : "", command ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (command)
        fprintf(stderr, "\nTry 'emotrace %s --help'.\n", command);
    else
        fprintf(stderr, "\nTry 'emotrace --help'.\n");
    return EXIT_USAGE;
}

int cli_parse_int(const char *command, const char *option, const char *text, int min, int max, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < min || v > max)
        return cli_usage_error(command, "%s expects a whole number from %d to %d, got '%s'", option, min, max, text);
    *out = (int)v;
    return 0;
}

int cli_parse_double(const char *command, const char *option, const char *text, double min, double max, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || !(v >= min && v <= max))
        return cli_usage_error(command, "%s expects a number from %g to %g, got '%s'", option, min, max, text);
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    /* Our own messages name the file and the problem; FFmpeg's would repeat
     * them without the context. */
    av_log_set_level(AV_LOG_QUIET);
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("emotrace %s\n", ET_VERSION);
        return EXIT_OK;
    }
    for (int i = 0; i < command_count; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "emotrace: unknown command '%s'\n", argv[1]);
    print_usage(stderr);
    return EXIT_USAGE;
}
