/* emotrace plot: SVG emotion timelines of face tracks from a results file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emotrace/error.h"
#include "emotrace/report.h"

static const char usage[] =
    "usage: emotrace plot [OPTIONS] FILE -o OUT.svg\n"
    "\n"
    "Draws the emotion timeline of face tracks from a results file of 'emotrace\n"
    "analyze' (FILE.sqlite|.db, FILE.csv or FILE.jsonl) as one SVG picture: a panel\n"
    "per track with the seven probabilities over time, tracks grouped by person.\n"
    "\n"
    "  -o, --output FILE  the SVG file, or - for standard output (default -)\n"
    "      --media PATH   only the media file with this path (as stored)\n"
    "      --track N      only track N\n"
    "      --person N     only the tracks of person N\n"
    "\n"
    "Exit status: 0 done, 1 the file could not be read or nothing matched, 2 usage error.\n";

int cmd_plot(int argc, char **argv)
{
    enum { O_MEDIA = 256, O_TRACK, O_PERSON };
    static const struct option options[] = {{"output", required_argument, 0, 'o'},
                                            {"media", required_argument, 0, O_MEDIA},
                                            {"track", required_argument, 0, O_TRACK},
                                            {"person", required_argument, 0, O_PERSON},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *output = "-", *media = NULL;
    int track = 0, person = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case O_MEDIA: media = optarg; break;
        case O_TRACK: if (cli_parse_int("plot", "--track", optarg, 1, 1 << 30, &track)) return EXIT_USAGE; break;
        case O_PERSON: if (cli_parse_int("plot", "--person", optarg, 1, 1 << 30, &person)) return EXIT_USAGE; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("plot", "unknown option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("plot", argc - optind ? "one results FILE, please" : "no results FILE given");

    et_results r = {0};
    et_track_stats **stats = NULL;
    int *counts = NULL, panel_count = 0, status = EXIT_SOME_FAILED;
    et_plot_panel *panels = NULL;
    et_strbuf svg = {0};
    if (et_results_load(&r, argv[optind]) != ET_OK) {
        fprintf(stderr, "emotrace: plot: %s\n", et_error_message());
        return EXIT_SOME_FAILED;
    }
    stats = calloc(r.count + 1, sizeof *stats);
    counts = calloc(r.count + 1, sizeof *counts);
    if (!stats || !counts) {
        fprintf(stderr, "emotrace: plot: out of memory\n");
        goto end;
    }
    size_t total = 0;
    for (size_t i = 0; i < r.count; i++) {
        if (media && strcmp(r.media[i].path, media) != 0)
            continue;
        if (et_track_stats_compute(&r.media[i], &stats[i], &counts[i]) != ET_OK) {
            fprintf(stderr, "emotrace: plot: %s\n", et_error_message());
            goto end;
        }
        total += (size_t)counts[i];
    }
    if (!(panels = calloc(total + 1, sizeof *panels))) {
        fprintf(stderr, "emotrace: plot: out of memory\n");
        goto end;
    }
    /* Tracks grouped by person (in order of person, then track), those
     * without a person after them. */
    for (size_t i = 0; i < r.count; i++) {
        int highest = 0;
        for (int j = 0; j < counts[i]; j++)
            highest = stats[i][j].person > highest ? stats[i][j].person : highest;
        for (int p = 1; p <= highest + 1; p++)
            for (int j = 0; j < counts[i]; j++) {
                const et_track_stats *t = &stats[i][j];
                int in_turn = p <= highest ? t->person == p : t->person == 0;
                if (in_turn && (!track || t->track == track) && (!person || t->person == person))
                    panels[panel_count++] = (et_plot_panel){&r.media[i], t};
            }
    }
    if (panel_count == 0) {
        char number[64] = "";
        if (track)
            snprintf(number, sizeof number, " %d", track);
        if (person)
            snprintf(number + strlen(number), sizeof number - strlen(number), " of person %d", person);
        fprintf(stderr, "emotrace: plot: %s: no face track%s%s%s\n", argv[optind], number, media ? " in " : "",
                media ? media : "");
        goto end;
    }
    if (track && !media && panel_count > 1)
        fprintf(stderr, "emotrace: plot: note: track %d is in %d media files; --media picks one\n", track, panel_count);
    et_timeline_svg(&svg, panels, panel_count, 1);
    if (svg.failed) {
        fprintf(stderr, "emotrace: plot: out of memory\n");
        goto end;
    }
    status = cli_write_text("plot", output, svg.data, svg.length);
end:
    for (size_t i = 0; stats && i < r.count; i++)
        free(stats[i]);
    free(stats);
    free(counts);
    free(panels);
    et_strbuf_free(&svg);
    et_results_free(&r);
    return status;
}
