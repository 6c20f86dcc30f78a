/* emotrace info: versions of emotrace and the libraries it runs with, and the
 * weights files it finds (with SHA-256), so a result can be traced to its model. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <sqlite3.h>

#include "cli.h"
#include "emotrace/error.h"
#include "emotrace/sha256.h"
#include "emotrace/weights_path.h"

static const char *const weights_names[] = {
    "emotion-cnn.safetensors", "emotion-lstm.safetensors",
    "face-short.safetensors", "face-full.safetensors", "face-embed.safetensors",
};

static void print_version(const char *name, unsigned v)
{
    printf("%-12s %u.%u.%u\n", name, v >> 16, (v >> 8) & 255, v & 255);
}

int cmd_info(int argc, char **argv)
{
    static const struct option options[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: emotrace info\n\nPrints the emotrace version, the FFmpeg, OpenBLAS and SQLite\n"
                   "versions it runs with, and each weights file it finds with its SHA-256.\n");
            return EXIT_OK;
        }
        return cli_usage_error("info", "unknown option");
    }
    if (optind < argc)
        return cli_usage_error("info", "unexpected argument '%s'", argv[optind]);

    printf("%-12s %s\n", "emotrace", ET_VERSION);
    printf("%-12s %s\n", "ffmpeg", av_version_info());
    print_version("libavformat", avformat_version());
    print_version("libavcodec", avcodec_version());
    printf("%-12s %s\n", "openblas", openblas_get_config());
    printf("%-12s %s\n", "sqlite", sqlite3_libversion());
    int missing = 0;
    for (size_t i = 0; i < sizeof weights_names / sizeof weights_names[0]; i++) {
        char path[1024], hex[65];
        if (et_weights_find(weights_names[i], path, sizeof path) != ET_OK) {
            printf("%-12s %s: not found\n", "weights", weights_names[i]);
            missing++;
        } else if (et_sha256_file(path, hex) != ET_OK) {
            printf("%-12s %s\n", "weights", et_error_message());
            missing++;
        } else {
            printf("%-12s %s sha256:%s\n", "weights", path, hex);
        }
    }
    return missing ? EXIT_SOME_FAILED : EXIT_OK;
}
