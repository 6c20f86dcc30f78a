/* emotrace analyze's first step: the command line, parsed and checked. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "analyze.h"
#include "cli.h"
#include "emotrace/error.h"

static const char usage[] =
    "usage: emotrace analyze [OPTIONS] INPUT...\n"
    "\n"
    "Detects and tracks faces in videos, images and image folders and writes each\n"
    "face's emotion probabilities per analysed frame. INPUT '-' reads paths from\n"
    "standard input, one per line.\n"
    "\n"
    "Output:\n"
    "  -o, --output FILE      FILE.sqlite|.db, FILE.csv, FILE.jsonl, or - for CSV on\n"
    "                         standard output (default -)\n"
    "      --format NAME      sqlite, csv or jsonl (default: from the extension)\n"
    "      --resume           skip inputs already done in the SQLite output (same\n"
    "                         path, size and mtime)\n"
    "  -q, --quiet            no progress or per-file summary on standard error\n"
    "      --annotate OUT.mp4 also write the input video (one input) with each face's box,\n"
    "                         track, top emotion and probability bar, at the input's times\n"
    "Inputs:\n"
    "  -r, --recursive        descend into subdirectories\n"
    "      --stills           every image is independent (no sequence, no temporal model)\n"
    "      --image-fps N      frame rate of an image folder sequence (default 1)\n"
    "      --fps N            analyse at most N frames per second\n"
    "      --start SECONDS    skip frames before this time\n"
    "      --end SECONDS      stop after this time\n"
    "Live sources (URLs such as udp:// rtsp:// http://, devices, pipes):\n"
    "      --stdin-media      INPUT '-' is a media stream on standard input\n"
    "      --input-format NAME  demuxer or device, e.g. v4l2 (default: probe)\n"
    "      --input-option KEY=VALUE  demuxer option, e.g. video_size=640x480\n"
    "                         (repeatable)\n"
    "      --live-policy latest|all  when analysis falls behind a stream: analyse\n"
    "                         the newest frame and drop the others (latest, the\n"
    "                         default) or every frame, pausing the source (all)\n"
    "      --events FILE      one JSON line per change of a track's emotion\n"
    "                         (- for standard output when -o names a file)\n"
    "      SIGINT (Ctrl-C) ends a live source with everything written\n"
    "Faces:\n"
    "      --detector short|full   BlazeFace model (default short)\n"
    "      --min-face PX      ignore faces narrower than PX pixels\n"
    "      --max-faces N      keep at most the N most confident faces per frame\n"
    "      --min-score X      detector score threshold (default: the model's)\n"
    "      --max-gap SECONDS  a track survives this long without a detection (default 1)\n"
    "      --detect-every N   videos: run the detector at most every N frames (and\n"
    "                         every 0.2 s) while the faces stay steady, interpolating\n"
    "                         between; every frame where they change (default 4;\n"
    "                         1: every frame)\n"
    "      --label-margin P   a track's reported emotion changes when another leads\n"
    "                         it by P probability (default 0.15; 0: argmax) ...\n"
    "      --label-dwell S    ... or has been the most probable for S seconds\n"
    "                         (default 0.5)\n"
    "      --lookahead S      recorded media: each face's probabilities are the\n"
    "                         CNN's averaged over its track from S seconds before\n"
    "                         to S seconds after the frame, no lag (default 1;\n"
    "                         0: the causal LSTM, as always for live sources)\n"
    "      --no-temporal      report the CNN's per-frame output as it is\n"
    "Persons (the tracks of one face linked; a person number per track and row):\n"
    "      --person-threshold D  tracks whose face descriptors lie closer than D\n"
    "                         are one person (default 0.6; lower: fewer links)\n"
    "      --persons-across   link persons over all inputs of the run (the same\n"
    "                         number is the same person in every file)\n"
    "      --no-persons       do not link tracks (no face descriptors computed;\n"
    "                         the person column stays empty)\n"
    "      --store-embeddings also store each track's face descriptor (SQLite\n"
    "                         tracks.embedding); never stored otherwise\n"
    "      --tta              also classify each face mirrored and average the two:\n"
    "                         more accurate (FER2013 PublicTest 70.5% -> 71.2%),\n"
    "                         the CNN's time doubles\n"
    "Models and machine:\n"
    "      --cnn FILE         emotion CNN weights (default: shipped emotion-cnn)\n"
    "      --lstm FILE        temporal model weights (default: shipped emotion-lstm)\n"
    "      --detector-weights FILE  detector weights (default: shipped face-short/full)\n"
    "      --threads N        threads in all (default: all cores), split between jobs\n"
    "  -j, --jobs N           analyse N inputs at once (default 1)\n"
    "      --shard K/N        analyse only the K-th of N shares of the inputs (by a\n"
    "                         hash of each path; see emotrace merge)\n"
    "\n"
    "Exit status: 0 all inputs done, 1 some inputs failed, 2 usage error.\n";

enum {
    O_FORMAT = 256, O_RESUME, O_STILLS, O_IMAGE_FPS, O_FPS, O_START, O_END, O_DETECTOR, O_MIN_FACE, O_MAX_FACES,
    O_MIN_SCORE, O_MAX_GAP, O_NO_TEMPORAL, O_CNN, O_LSTM, O_DETECTOR_WEIGHTS, O_THREADS, O_ANNOTATE, O_SHARD,
    O_STDIN_MEDIA, O_INPUT_FORMAT, O_INPUT_OPTION, O_LIVE_POLICY, O_EVENTS, O_TTA, O_LABEL_MARGIN, O_LABEL_DWELL,
    O_PERSON_THRESHOLD, O_PERSONS_ACROSS, O_NO_PERSONS, O_STORE_EMBEDDINGS, O_LOOKAHEAD, O_DETECT_EVERY
};

static const struct option options[] = {
    {"output", required_argument, 0, 'o'},     {"format", required_argument, 0, O_FORMAT},
    {"resume", no_argument, 0, O_RESUME},      {"quiet", no_argument, 0, 'q'},
    {"recursive", no_argument, 0, 'r'},        {"stills", no_argument, 0, O_STILLS},
    {"image-fps", required_argument, 0, O_IMAGE_FPS}, {"fps", required_argument, 0, O_FPS},
    {"start", required_argument, 0, O_START},  {"end", required_argument, 0, O_END},
    {"detector", required_argument, 0, O_DETECTOR}, {"min-face", required_argument, 0, O_MIN_FACE},
    {"max-faces", required_argument, 0, O_MAX_FACES}, {"min-score", required_argument, 0, O_MIN_SCORE},
    {"max-gap", required_argument, 0, O_MAX_GAP}, {"detect-every", required_argument, 0, O_DETECT_EVERY},
    {"no-temporal", no_argument, 0, O_NO_TEMPORAL},
    {"label-margin", required_argument, 0, O_LABEL_MARGIN}, {"label-dwell", required_argument, 0, O_LABEL_DWELL},
    {"lookahead", required_argument, 0, O_LOOKAHEAD},
    {"cnn", required_argument, 0, O_CNN},      {"lstm", required_argument, 0, O_LSTM},
    {"detector-weights", required_argument, 0, O_DETECTOR_WEIGHTS},
    {"threads", required_argument, 0, O_THREADS}, {"annotate", required_argument, 0, O_ANNOTATE},
    {"jobs", required_argument, 0, 'j'},       {"shard", required_argument, 0, O_SHARD},
    {"stdin-media", no_argument, 0, O_STDIN_MEDIA}, {"input-format", required_argument, 0, O_INPUT_FORMAT},
    {"input-option", required_argument, 0, O_INPUT_OPTION}, {"live-policy", required_argument, 0, O_LIVE_POLICY},
    {"events", required_argument, 0, O_EVENTS}, {"tta", no_argument, 0, O_TTA},
    {"person-threshold", required_argument, 0, O_PERSON_THRESHOLD},
    {"persons-across", no_argument, 0, O_PERSONS_ACROSS}, {"no-persons", no_argument, 0, O_NO_PERSONS},
    {"store-embeddings", no_argument, 0, O_STORE_EMBEDDINGS},
    {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* What an option handler did with its option: the usage error is printed. */
enum { OPTION_TAKEN = 0, OPTION_BAD = EXIT_USAGE, OPTION_OTHER = -1 };

static int parse_double(const char *option, const char *text, double min, double max, double *out)
{
    return cli_parse_double("analyze", option, text, min, max, out) ? OPTION_BAD : OPTION_TAKEN;
}

static int parse_int(const char *option, const char *text, int min, int max, int *out)
{
    return cli_parse_int("analyze", option, text, min, max, out) ? OPTION_BAD : OPTION_TAKEN;
}

static int parse_float(const char *option, const char *text, double min, double max, float *out)
{
    double x;
    if (cli_parse_double("analyze", option, text, min, max, &x))
        return OPTION_BAD;
    *out = (float)x;
    return OPTION_TAKEN;
}

/* Output, inputs and live sources. */
static int option_output_inputs(analyze_args *a, int c, const char *arg)
{
    et_analyzer_options *ao = &a->ao;
    switch (c) {
    case 'o': a->output = arg; break;
    case O_FORMAT: a->format = arg; break;
    case O_RESUME: a->resume = 1; break;
    case 'q': a->quiet = 1; break;
    case O_ANNOTATE: a->annotate_path = arg; break;
    case 'r': a->input_options.recursive = 1; break;
    case O_STILLS: a->input_options.stills = 1; ao->stills = 1; break;
    case O_IMAGE_FPS: return parse_double("--image-fps", arg, 1e-3, 1000, &ao->image_fps);
    case O_FPS: return parse_double("--fps", arg, 1e-3, 1000, &ao->max_fps);
    case O_START: return parse_double("--start", arg, 0, 1e9, &ao->start);
    case O_END: return parse_double("--end", arg, 1e-9, 1e9, &ao->end);
    case O_STDIN_MEDIA: a->stdin_media = 1; break;
    case O_INPUT_FORMAT: ao->input_format = arg; a->input_options.names_are_streams = 1; break;
    case O_INPUT_OPTION:
        if (!strchr(arg, '=') || *arg == '=' || a->input_option_count == ANALYZE_MAX_INPUT_OPTIONS)
            return cli_usage_error("analyze", "--input-option takes KEY=VALUE (at most 64), got '%s'", arg);
        a->input_option_list[a->input_option_count++] = arg;
        ao->input_options = a->input_option_list;
        break;
    case O_LIVE_POLICY:
        if (!strcmp(arg, "latest")) ao->live_policy = ET_LIVE_LATEST;
        else if (!strcmp(arg, "all")) ao->live_policy = ET_LIVE_ALL;
        else return cli_usage_error("analyze", "--live-policy must be latest or all");
        break;
    case O_EVENTS: a->events_path = arg; break;
    default: return OPTION_OTHER;
    }
    return OPTION_TAKEN;
}

/* Faces, their emotions and persons. */
static int option_faces(analyze_args *a, int c, const char *arg)
{
    et_analyzer_options *ao = &a->ao;
    et_face_detector_options *d = &a->detector_options;
    int px;
    switch (c) {
    case O_DETECTOR:
        if (!strcmp(arg, "short")) d->model = ET_FACE_MODEL_SHORT;
        else if (!strcmp(arg, "full")) d->model = ET_FACE_MODEL_FULL;
        else return cli_usage_error("analyze", "--detector must be short or full");
        break;
    case O_MIN_FACE:
        if (cli_parse_int("analyze", "--min-face", arg, 0, 100000, &px)) return OPTION_BAD;
        d->min_face_px = (float)px;
        break;
    case O_MAX_FACES: return parse_int("--max-faces", arg, 1, 1000000, &d->max_faces);
    case O_MIN_SCORE: return parse_float("--min-score", arg, 0.01, 1, &d->min_score);
    case O_MAX_GAP: return parse_double("--max-gap", arg, 0, 1e6, &ao->max_gap);
    case O_DETECT_EVERY: return parse_int("--detect-every", arg, 1, 1000, &ao->detect_every);
    case O_LABEL_MARGIN: return parse_float("--label-margin", arg, 0, 1, &ao->label_margin);
    case O_LABEL_DWELL: return parse_double("--label-dwell", arg, 0, 3600, &ao->label_dwell);
    case O_LOOKAHEAD: return parse_double("--lookahead", arg, 0, 60, &ao->lookahead);
    case O_NO_TEMPORAL: a->no_temporal = 1; break;
    case O_TTA: a->tta = 1; break;
    case O_PERSON_THRESHOLD: return parse_float("--person-threshold", arg, 1e-3, 10, &ao->person_threshold);
    case O_PERSONS_ACROSS: a->persons_across = 1; break;
    case O_NO_PERSONS: a->no_persons = 1; break;
    case O_STORE_EMBEDDINGS: ao->store_embeddings = 1; break;
    default: return OPTION_OTHER;
    }
    return OPTION_TAKEN;
}

/* Models and machine. */
static int option_models(analyze_args *a, int c, const char *arg)
{
    int end;
    switch (c) {
    case O_CNN: a->cnn_path = arg; break;
    case O_LSTM: a->lstm_path = arg; break;
    case O_DETECTOR_WEIGHTS: a->detector_path = arg; break;
    case O_THREADS: return parse_int("--threads", arg, 1, 256, &a->threads);
    case 'j': return parse_int("--jobs", arg, 1, 256, &a->jobs);
    case O_SHARD:
        if (sscanf(arg, "%d/%d%n", &a->shard, &a->shards, &end) != 2 || arg[end] || a->shards < 1 || a->shard < 1 ||
            a->shard > a->shards)
            return cli_usage_error("analyze", "--shard must be K/N with 1 <= K <= N");
        break;
    default: return OPTION_OTHER;
    }
    return OPTION_TAKEN;
}

/* Options that cannot go together, or need an output they did not get. */
static int args_check(analyze_args *a)
{
    const et_analyzer_options *ao = &a->ao;
    if (a->input_count < 1)
        return cli_usage_error("analyze", "no input given");
    if (a->annotate_path && a->input_count != 1)
        return cli_usage_error("analyze", "--annotate takes one input video");
    if (ao->end > 0 && ao->end <= ao->start)
        return cli_usage_error("analyze", "--end must be after --start");
    if (et_sink_format_choose(a->output, a->format, &a->sink_format) != ET_OK)
        return cli_usage_error("analyze", "%s", et_error_message());
    /* Observers see one input's frames in order: one job. */
    if (a->jobs > 1 && (a->events_path || a->annotate_path))
        return cli_usage_error("analyze", "--events and --annotate need --jobs 1");
    if (a->events_path && !strcmp(a->events_path, "-") && !strcmp(a->output, "-"))
        return cli_usage_error("analyze", "--events - and the results cannot both go to standard output");
    if (a->resume && a->sink_format != ET_SINK_SQLITE)
        return cli_usage_error("analyze", "--resume needs a SQLite output (-o FILE.sqlite)");
    /* Descriptors identify people: only where a column is made for them,
     * and never by default. */
    if (ao->store_embeddings && a->sink_format != ET_SINK_SQLITE)
        return cli_usage_error("analyze", "--store-embeddings needs a SQLite output (-o FILE.sqlite)");
    if (a->no_persons && (a->persons_across || ao->store_embeddings))
        return cli_usage_error("analyze", "--no-persons contradicts --persons-across and --store-embeddings");
    return -1;
}

int analyze_args_parse(analyze_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->output = "-";
    a->jobs = 1;
    et_face_detector_defaults(&a->detector_options);
    et_analyzer_defaults(&a->ao);
    optind = 1;
    int c, rc;
    while ((c = getopt_long(argc, argv, "o:qrj:h", options, NULL)) != -1) {
        if (c == 'h') {
            printf("%s", usage);
            return EXIT_OK;
        }
        rc = option_output_inputs(a, c, optarg);
        if (rc == OPTION_OTHER)
            rc = option_faces(a, c, optarg);
        if (rc == OPTION_OTHER)
            rc = option_models(a, c, optarg);
        if (rc == OPTION_OTHER)
            return cli_usage_error("analyze", "unknown option");
        if (rc != OPTION_TAKEN)
            return rc;
    }
    a->inputs = argv + optind;
    a->input_count = argc - optind;
    return args_check(a);
}
