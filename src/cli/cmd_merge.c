/* emotrace merge: shard databases of one batch into one. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "emotrace/error.h"
#include "emotrace/store_merge.h"

static const char usage[] =
    "usage: emotrace merge [OPTIONS] OUT.sqlite IN.sqlite...\n"
    "\n"
    "Copies the runs, media files, tracks and observations of the IN databases\n"
    "(e.g. written by 'emotrace analyze --shard K/N' on several machines) into\n"
    "OUT, created if missing, with new ids, in one transaction. A media path that\n"
    "is already in OUT or in an earlier IN is refused and nothing is merged.\n"
    "\n"
    "  -q, --quiet            no summary on standard error\n"
    "\n"
    "Exit status: 0 merged, 1 nothing merged (an input or the output failed), 2 usage error.\n";

int cmd_merge(int argc, char **argv)
{
    static const struct option options[] = {
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("merge", "unknown option");
        }
    }
    if (argc - optind < 2)
        return cli_usage_error("merge", "give the output and at least one input database");
    et_merge_stats stats;
    if (et_store_merge(argv[optind], (const char *const *)argv + optind + 1, argc - optind - 1, &stats) != ET_OK) {
        fprintf(stderr, "emotrace: merge: %s\n", et_error_message());
        return EXIT_SOME_FAILED;
    }
    if (stats.weights_variants > 1)
        fprintf(stderr,
                "emotrace: merge: warning: %s now holds runs made with %d different sets of weights (see the runs "
                "table): their results are not comparable\n",
                argv[optind], stats.weights_variants);
    if (!quiet)
        fprintf(stderr, "merged %d databases into %s: %ld runs, %ld media files, %ld observations\n", stats.inputs,
                argv[optind], stats.runs, stats.media, stats.observations);
    return EXIT_OK;
}
