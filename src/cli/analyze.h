/* emotrace analyze, in steps: parse options (analyze_options.c) -> load
 * models -> list inputs -> run -> report (cmd_analyze.c). */
#ifndef EMOTRACE_CLI_ANALYZE_H
#define EMOTRACE_CLI_ANALYZE_H

#include "emotrace/analyzer.h"
#include "emotrace/face_detector.h"
#include "emotrace/media_input.h"
#include "emotrace/store.h"

#define ANALYZE_MAX_INPUT_OPTIONS 64

/* What the command line asked for. ao is complete but for the models and
 * the callbacks, which the later steps attach. */
typedef struct {
    const char *output, *format, *events_path, *annotate_path;
    const char *cnn_path, *lstm_path, *detector_path; /* NULL: the shipped ones */
    int resume, quiet, no_temporal, tta, no_persons, persons_across, stdin_media;
    int threads, jobs, shard, shards;                 /* shards 0: no --shard */
    et_sink_format sink_format;
    et_media_input_options input_options;
    et_face_detector_options detector_options;
    et_analyzer_options ao;
    /* --input-option values, NULL-terminated; ao.input_options points here,
     * so the struct stays where it was parsed. */
    const char *input_option_list[ANALYZE_MAX_INPUT_OPTIONS + 1];
    int input_option_count;
    char **inputs;
    int input_count;
} analyze_args;

/* Parses and checks argv into a. Returns -1 to go on, else the exit status
 * to end with: EXIT_OK after --help, EXIT_USAGE after a usage error (both
 * printed). */
int analyze_args_parse(analyze_args *a, int argc, char **argv);

#endif
