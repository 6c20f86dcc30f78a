/* emotrace report: one self-contained HTML page about a results file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "emotrace/error.h"
#include "emotrace/report.h"

static const char usage[] =
    "usage: emotrace report FILE -o OUT.html\n"
    "\n"
    "Writes one HTML page about a results file of 'emotrace analyze' (FILE.sqlite|.db,\n"
    "FILE.csv or FILE.jsonl): for every media file its face tracks, a summary table\n"
    "and the timeline of each track as inline SVG. The page loads nothing else.\n"
    "\n"
    "  -o, --output FILE  the HTML file, or - for standard output (default -)\n"
    "\n"
    "Exit status: 0 done, 1 the file could not be read or written, 2 usage error.\n";

int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *output = "-";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("report", "unknown option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("report", argc - optind ? "one results FILE, please" : "no results FILE given");
    et_results r = {0};
    et_strbuf html = {0};
    int status = EXIT_SOME_FAILED;
    if (et_results_load(&r, argv[optind]) != ET_OK || et_report_html(&html, &r, argv[optind]) != ET_OK)
        fprintf(stderr, "emotrace: report: %s\n", et_error_message());
    else
        status = cli_write_text("report", output, html.data, html.length);
    et_strbuf_free(&html);
    et_results_free(&r);
    return status;
}
