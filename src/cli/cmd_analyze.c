/* emotrace analyze: videos, images and image folders in, per-face per-frame
 * emotion timelines out (SQLite, CSV or JSON Lines). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "analyze_events.h"
#include "cli.h"
#include "emotrace/analyzer.h"
#include "emotrace/annotate.h"
#include "emotrace/batch.h"
#include "emotrace/error.h"
#include "emotrace/json.h"
#include "emotrace/sha256.h"
#include "emotrace/weights_path.h"

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

static volatile sig_atomic_t interrupt_count;
static volatile int stop_now, finish_now;

static void on_signal(int sig)
{
    (void)sig;
    interrupt_count++;
    finish_now = 1; /* a live source ends here, as if its stream had ended */
    /* The first signal lets the current file finish; a second abandons it. */
    if (interrupt_count > 1)
        stop_now = 1;
}

typedef struct {
    const char *path;
    int tty;
    double last_print;
} progress_state;

static void show_progress(const et_progress *p, void *ctx)
{
    progress_state *s = ctx;
    if (!s->tty || p->elapsed - s->last_print < 0.25)
        return;
    s->last_print = p->elapsed;
    double fps = p->elapsed > 0 ? p->frames_analyzed / p->elapsed : 0;
    if (p->duration > 0) {
        double fraction = p->t / p->duration;
        double eta = fraction > 0 ? p->elapsed * (1 - fraction) / fraction : 0;
        fprintf(stderr, "\r\033[K%s  %3.0f%%  %.0f frames/s  ETA %d:%02d", s->path, 100 * fraction, fps,
                (int)eta / 60, (int)eta % 60);
    } else {
        fprintf(stderr, "\r\033[K%s  %ld frames  %.0f frames/s", s->path, p->frames_analyzed, fps);
    }
}

static void print_warning(const char *message, void *ctx)
{
    if (!*(int *)ctx)
        fprintf(stderr, "emotrace: warning: %s\n", message);
}

typedef struct {
    int quiet;
    progress_state progress;
    analyze_events *events;
} item_printer;

static void start_item(const et_media_item *item, void *ctx)
{
    item_printer *p = ctx;
    p->progress.path = item->path;
    p->progress.last_print = 0;
    if (p->events)
        analyze_events_begin(p->events, item->path);
}

static void print_item(const et_batch_report *r, void *ctx)
{
    item_printer *p = ctx;
    if (p->progress.tty && !r->skipped)
        fprintf(stderr, "\r\033[K");
    if (r->rc != ET_OK) {
        fprintf(stderr, "emotrace: %s\n", et_error_message());
    } else if (!p->quiet && !r->skipped) {
        const et_analyzer_stats *st = r->stats;
        double total = st->decode + st->detect + st->align + st->cnn + st->temporal + st->store;
        fprintf(stderr, "%s: %ld frames, %ld track%s, %ld faces, %.1f s (%.0f frames/s)", r->item->path,
                st->frames_analyzed, st->tracks, st->tracks == 1 ? "" : "s", st->observations, total,
                total > 0 ? st->frames_analyzed / total : 0.0);
        if (r->item->kind == ET_MEDIA_STREAM)
            fprintf(stderr, ", %ld frames dropped (analysis behind the source)", st->frames_dropped);
        fprintf(stderr, "\n");
    }
}

/* --annotate and --events watch the same analysis: each frame goes to both. */
typedef struct {
    et_annotator *annotator;
    analyze_events *events;
} frame_watchers;

static int watch_frame(const et_frame_result *r, void *ctx)
{
    frame_watchers *w = ctx;
    int rc = w->annotator ? et_annotator_on_frame(r, w->annotator) : ET_OK;
    if (rc == ET_OK && w->events)
        rc = analyze_events_on_frame(r, w->events);
    return rc;
}

static int append_sha(et_strbuf *b, const char *label, const char *path)
{
    char hex[65];
    if (et_sha256_file(path, hex) != ET_OK)
        return -1;
    et_strbuf_printf(b, "%s%s=%s", b->length ? " " : "", label, hex);
    return 0;
}

int cmd_analyze(int argc, char **argv)
{
    enum { O_FORMAT = 256, O_RESUME, O_STILLS, O_IMAGE_FPS, O_FPS, O_START, O_END, O_DETECTOR, O_MIN_FACE,
           O_MAX_FACES, O_MIN_SCORE, O_MAX_GAP, O_NO_TEMPORAL, O_CNN, O_LSTM, O_DETECTOR_WEIGHTS, O_THREADS,
           O_ANNOTATE, O_SHARD, O_STDIN_MEDIA, O_INPUT_FORMAT, O_INPUT_OPTION, O_LIVE_POLICY, O_EVENTS, O_TTA, O_LABEL_MARGIN, O_LABEL_DWELL,
           O_PERSON_THRESHOLD, O_PERSONS_ACROSS, O_NO_PERSONS, O_STORE_EMBEDDINGS, O_LOOKAHEAD, O_DETECT_EVERY };
    static const struct option options[] = {
        {"output", required_argument, 0, 'o'},     {"format", required_argument, 0, O_FORMAT},
        {"resume", no_argument, 0, O_RESUME},      {"quiet", no_argument, 0, 'q'},
        {"recursive", no_argument, 0, 'r'},        {"stills", no_argument, 0, O_STILLS},
        {"image-fps", required_argument, 0, O_IMAGE_FPS}, {"fps", required_argument, 0, O_FPS},
        {"start", required_argument, 0, O_START},  {"end", required_argument, 0, O_END},
        {"detector", required_argument, 0, O_DETECTOR}, {"min-face", required_argument, 0, O_MIN_FACE},
        {"max-faces", required_argument, 0, O_MAX_FACES}, {"min-score", required_argument, 0, O_MIN_SCORE},
        {"max-gap", required_argument, 0, O_MAX_GAP}, {"detect-every", required_argument, 0, O_DETECT_EVERY}, {"no-temporal", no_argument, 0, O_NO_TEMPORAL},
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
    const char *input_option_list[65] = {0}, *events_path = NULL;
    int input_option_count = 0, stdin_media = 0;
    const char *output = "-", *format = NULL, *cnn_path = NULL, *lstm_path = NULL, *detector_path = NULL;
    const char *annotate_path = NULL;
    et_annotator *annotator = NULL;
    int no_persons = 0, persons_across = 0;
    et_person_gallery *gallery = NULL;
    et_face_embedder *embedder = NULL;
    int resume = 0, quiet = 0, no_temporal = 0, tta = 0, threads = 0, jobs = 1, shard = 0, shards = 0, c, value;
    double x;
    et_media_input_options input_options = {0};
    et_face_detector_options detector_options;
    et_face_detector_defaults(&detector_options);
    et_analyzer_options ao;
    et_analyzer_defaults(&ao);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qrj:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case O_FORMAT: format = optarg; break;
        case O_RESUME: resume = 1; break;
        case 'q': quiet = 1; break;
        case 'r': input_options.recursive = 1; break;
        case O_STILLS: input_options.stills = 1; ao.stills = 1; break;
        case O_IMAGE_FPS:
            if (cli_parse_double("analyze", "--image-fps", optarg, 1e-3, 1000, &ao.image_fps)) return EXIT_USAGE;
            break;
        case O_FPS: if (cli_parse_double("analyze", "--fps", optarg, 1e-3, 1000, &ao.max_fps)) return EXIT_USAGE; break;
        case O_START: if (cli_parse_double("analyze", "--start", optarg, 0, 1e9, &ao.start)) return EXIT_USAGE; break;
        case O_END: if (cli_parse_double("analyze", "--end", optarg, 1e-9, 1e9, &ao.end)) return EXIT_USAGE; break;
        case O_DETECTOR:
            if (!strcmp(optarg, "short")) detector_options.model = ET_FACE_MODEL_SHORT;
            else if (!strcmp(optarg, "full")) detector_options.model = ET_FACE_MODEL_FULL;
            else return cli_usage_error("analyze", "--detector must be short or full");
            break;
        case O_MIN_FACE:
            if (cli_parse_int("analyze", "--min-face", optarg, 0, 100000, &value)) return EXIT_USAGE;
            detector_options.min_face_px = (float)value;
            break;
        case O_MAX_FACES:
            if (cli_parse_int("analyze", "--max-faces", optarg, 1, 1000000, &detector_options.max_faces)) return EXIT_USAGE;
            break;
        case O_MIN_SCORE:
            if (cli_parse_double("analyze", "--min-score", optarg, 0.01, 1, &x)) return EXIT_USAGE;
            detector_options.min_score = (float)x;
            break;
        case O_LABEL_MARGIN:
            if (cli_parse_double("analyze", "--label-margin", optarg, 0, 1, &x)) return EXIT_USAGE;
            ao.label_margin = (float)x;
            break;
        case O_LOOKAHEAD:
            if (cli_parse_double("analyze", "--lookahead", optarg, 0, 60, &ao.lookahead)) return EXIT_USAGE;
            break;
        case O_LABEL_DWELL:
            if (cli_parse_double("analyze", "--label-dwell", optarg, 0, 3600, &ao.label_dwell)) return EXIT_USAGE;
            break;
        case O_DETECT_EVERY: if (cli_parse_int("analyze", "--detect-every", optarg, 1, 1000, &ao.detect_every)) return EXIT_USAGE; break;
        case O_MAX_GAP: if (cli_parse_double("analyze", "--max-gap", optarg, 0, 1e6, &ao.max_gap)) return EXIT_USAGE; break;
        case O_NO_TEMPORAL: no_temporal = 1; break;
        case O_TTA: tta = 1; break;
        case O_CNN: cnn_path = optarg; break;
        case O_LSTM: lstm_path = optarg; break;
        case O_DETECTOR_WEIGHTS: detector_path = optarg; break;
        case O_THREADS: if (cli_parse_int("analyze", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE; break;
        case O_ANNOTATE: annotate_path = optarg; break;
        case 'j': if (cli_parse_int("analyze", "--jobs", optarg, 1, 256, &jobs)) return EXIT_USAGE; break;
        case O_SHARD:
            if (sscanf(optarg, "%d/%d%n", &shard, &shards, &value) != 2 || optarg[value] || shards < 1 || shard < 1 ||
                shard > shards)
                return cli_usage_error("analyze", "--shard must be K/N with 1 <= K <= N");
            break;
        case O_STDIN_MEDIA: stdin_media = 1; break;
        case O_INPUT_FORMAT: ao.input_format = optarg; input_options.names_are_streams = 1; break;
        case O_INPUT_OPTION:
            if (!strchr(optarg, '=') || *optarg == '=' || input_option_count == 64)
                return cli_usage_error("analyze", "--input-option takes KEY=VALUE (at most 64), got '%s'", optarg);
            input_option_list[input_option_count++] = optarg;
            ao.input_options = input_option_list;
            break;
        case O_LIVE_POLICY:
            if (!strcmp(optarg, "latest")) ao.live_policy = ET_LIVE_LATEST;
            else if (!strcmp(optarg, "all")) ao.live_policy = ET_LIVE_ALL;
            else return cli_usage_error("analyze", "--live-policy must be latest or all");
            break;
        case O_EVENTS: events_path = optarg; break;
        case O_PERSON_THRESHOLD:
            if (cli_parse_double("analyze", "--person-threshold", optarg, 1e-3, 10, &x)) return EXIT_USAGE;
            ao.person_threshold = (float)x;
            break;
        case O_PERSONS_ACROSS: persons_across = 1; break;
        case O_NO_PERSONS: no_persons = 1; break;
        case O_STORE_EMBEDDINGS: ao.store_embeddings = 1; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("analyze", "unknown option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("analyze", "no input given");
    if (annotate_path && argc - optind != 1)
        return cli_usage_error("analyze", "--annotate takes one input video");
    if (ao.end > 0 && ao.end <= ao.start)
        return cli_usage_error("analyze", "--end must be after --start");
    et_sink_format sink_format;
    if (et_sink_format_choose(output, format, &sink_format) != ET_OK)
        return cli_usage_error("analyze", "%s", et_error_message());
    /* Observers see one input's frames in order: one job. */
    if (jobs > 1 && (events_path || annotate_path))
        return cli_usage_error("analyze", "--events and --annotate need --jobs 1");
    if (events_path && !strcmp(events_path, "-") && !strcmp(output, "-"))
        return cli_usage_error("analyze", "--events - and the results cannot both go to standard output");
    if (resume && sink_format != ET_SINK_SQLITE)
        return cli_usage_error("analyze", "--resume needs a SQLite output (-o FILE.sqlite)");
    /* Descriptors identify people: only where a column is made for them,
     * and never by default. */
    if (ao.store_embeddings && sink_format != ET_SINK_SQLITE)
        return cli_usage_error("analyze", "--store-embeddings needs a SQLite output (-o FILE.sqlite)");
    if (no_persons && (persons_across || ao.store_embeddings))
        return cli_usage_error("analyze", "--no-persons contradicts --persons-across and --store-embeddings");
    if (threads > 0 && jobs == 1)
        openblas_set_num_threads(threads);
    /* SIGPIPE keeps its default: "analyze ... -o - | head" ends quietly, as
     * other filters do. File outputs never see it. */

    int status = EXIT_SOME_FAILED;
    et_face_detector *detector = NULL;
    et_emotion_classifier classifier = {0};
    et_temporal *temporal = NULL;
    et_sink *sink = NULL;
    analyze_events *events = NULL;
    et_media_list list = {0};
    et_strbuf weights = {0}, settings = {0};
    char found[4][1024];
    input_options.warn = print_warning;
    input_options.warn_ctx = &quiet;

    /* Models. */
    if (!cnn_path) {
        if (et_weights_find("emotion-cnn.safetensors", found[0], sizeof found[0]) != ET_OK)
            goto model_error;
        cnn_path = found[0];
    }
    if (et_emotion_classifier_load(&classifier, cnn_path) != ET_OK)
        goto model_error;
    classifier.flip_tta = tta;
    if (et_face_detector_open(&detector, detector_path, &detector_options) != ET_OK)
        goto model_error;
    if (!no_temporal && !input_options.stills) {
        if (!lstm_path && et_weights_find("emotion-lstm.safetensors", found[1], sizeof found[1]) == ET_OK)
            lstm_path = found[1];
        if (lstm_path) {
            if (et_temporal_load(&temporal, lstm_path) != ET_OK)
                goto model_error;
            if (et_temporal_embedding_size(temporal) != classifier.embedding_size) {
                et_error_set(ET_ERR_FORMAT, "%s: made for a CNN embedding of %d values, %s gives %d", lstm_path,
                             et_temporal_embedding_size(temporal), cnn_path, classifier.embedding_size);
                goto model_error;
            }
        } else if (!quiet) {
            fprintf(stderr, "emotrace: warning: no temporal model found; reporting the CNN's per-frame output\n");
        }
    }
    if (!no_persons) {
        if (et_weights_find("face-embed.safetensors", found[3], sizeof found[3]) != ET_OK ||
            et_face_embedder_open(&embedder, found[3]) != ET_OK)
            goto model_error;
        if (persons_across && et_person_gallery_open(&gallery, ao.person_threshold) != ET_OK)
            goto model_error;
        ao.embedder = embedder;
        ao.persons_across = gallery;
    }
    append_sha(&weights, "emotion-cnn", cnn_path);
    if (temporal && *et_temporal_cnn_sha256(temporal)) {
        /* The LSTM reads the CNN's embedding: it is only valid with the CNN it
         * was trained on. */
        char cnn_hex[65];
        if (et_sha256_file(cnn_path, cnn_hex) == ET_OK && strcmp(cnn_hex, et_temporal_cnn_sha256(temporal)) != 0 &&
            !quiet)
            fprintf(stderr, "emotrace: warning: %s was trained with another emotion CNN (sha256 %.12s..., this one "
                            "%.12s...); retrain it (emotrace train --temporal) or use --no-temporal\n",
                    lstm_path, et_temporal_cnn_sha256(temporal), cnn_hex);
    }
    if (lstm_path && temporal)
        append_sha(&weights, "emotion-lstm", lstm_path);
    if (detector_path)
        append_sha(&weights, "detector", detector_path);
    else if (et_weights_find(detector_options.model == ET_FACE_MODEL_FULL ? "face-full.safetensors"
                                                                          : "face-short.safetensors",
                             found[2], sizeof found[2]) == ET_OK)
        append_sha(&weights, "detector", found[2]);
    if (embedder)
        append_sha(&weights, "face-embed", found[3]);
    et_strbuf_printf(&settings,
                     "detector=%s min_score=%g min_face=%g max_faces=%d max_gap=%g fps=%g start=%g end=%g "
                     "image_fps=%g stills=%d temporal=%s lookahead=%g tta=%s live_policy=%s label_margin=%g "
                     "label_dwell=%g persons=%s person_threshold=%g store_embeddings=%d",
                     detector_options.model == ET_FACE_MODEL_FULL ? "full" : "short", detector_options.min_score,
                     detector_options.min_face_px, detector_options.max_faces, ao.max_gap, ao.max_fps, ao.start,
                     ao.end, ao.image_fps, ao.stills, temporal ? "lstm" : "none", temporal ? ao.lookahead : 0.0,
                     tta ? "flip" : "none", ao.live_policy == ET_LIVE_ALL ? "all" : "latest", ao.label_margin,
                     ao.label_dwell, no_persons ? "none" : persons_across ? "run" : "file", ao.person_threshold,
                     ao.store_embeddings);
    et_strbuf_printf(&settings, " detect_every=%d", ao.detect_every);

    /* Inputs: each expanded now; one that cannot be read is reported in turn. */
    for (int i = optind; i < argc; i++) {
        int rc = strcmp(argv[i], "-") ? et_media_list_add_path(&list, argv[i], &input_options)
                 : stdin_media         ? et_media_list_add_live(&list, "-")
                                       : et_media_list_add_stream(&list, stdin, &input_options);
        if (rc != ET_OK && et_media_list_add_unreadable(&list, argv[i]) != ET_OK)
            goto model_error;
    }
    if (shards)
        et_media_list_shard(&list, shard, shards);
    /* A live source has no end: its results must reach the output as they
     * come, which a job's buffer would hold back. */
    for (size_t k = 0; jobs > 1 && k < list.count; k++)
        if (list.items[k].kind == ET_MEDIA_STREAM) {
            status = cli_usage_error("analyze", "%s: live sources need --jobs 1", list.items[k].path);
            goto done;
        }

    et_run_info run = {ET_VERSION, weights.data ? weights.data : "", settings.data ? settings.data : ""};
    if (et_sink_open(&sink, output, format, &run) != ET_OK) {
        fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
        goto done;
    }
    ao.detector = detector;
    ao.classifier = &classifier;
    ao.temporal = temporal;
    ao.stop = &stop_now;
    /* The annotated video keeps every frame, also those --fps skips (they
     * come with no faces, which the events pass over). */
    if (annotate_path) {
        if (et_annotator_open(&annotator, annotate_path) != ET_OK)
            goto model_error;
        ao.on_frame_skipped = 1;
    }
    ao.finish = &finish_now;
    if (events_path && analyze_events_open(&events, events_path) != 0)
        goto done;
    frame_watchers watchers = {annotator, events};
    if (annotator || events) {
        ao.on_frame = watch_frame;
        ao.on_frame_ctx = &watchers;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    item_printer printer = {quiet, {NULL, isatty(2) && !quiet && jobs == 1, 0}, events};
    ao.progress = show_progress;
    ao.progress_ctx = &printer.progress;
    et_batch_options bo = {jobs, threads, resume, detector_path, temporal ? lstm_path : NULL, found[3], detector_options,
                           &interrupt_count, start_item, print_item, &printer};
    et_batch_summary summary;
    if (et_batch_run(&bo, &ao, &list, sink, &summary) != ET_OK && !summary.output_failed) {
        fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
        summary.failed++;
    }
    long failed = summary.failed, done_count = summary.done, skipped = summary.skipped;
    long undone = (long)list.count - done_count - failed - skipped;
    if (annotator && (!done_count || et_annotator_finish(annotator) != ET_OK)) {
        fprintf(stderr, "emotrace: analyze: %s: %s\n", annotate_path,
                done_count ? et_error_message()
                : skipped  ? "not written: the input is already done in the output (--resume skipped it)"
                           : "not written: the input was not analysed");
        failed++;
    }
    if (analyze_events_close(events) != 0) {
        fprintf(stderr, "emotrace: analyze: %s: cannot write events\n", events_path);
        failed++;
    }
    events = NULL;
    if (et_sink_close(sink) != ET_OK) {
        fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
        failed++;
    }
    sink = NULL;
    if (!quiet && (list.count > 1 || skipped))
        fprintf(stderr, "%ld done, %ld failed, %ld skipped (already done)%s\n", done_count, failed, skipped,
                undone > 0 ? ", interrupted" : "");
    /* An interrupt that left inputs undone fails the run; one that ended a
     * live source (or came during the last input) does not. */
    status = failed || undone > 0 ? EXIT_SOME_FAILED : EXIT_OK;
    goto done;
model_error:
    fprintf(stderr, "emotrace: analyze: %s\n", et_error_message());
done:
    analyze_events_close(events);
    et_sink_close(sink);
    et_annotator_free(&annotator);
    et_media_list_free(&list);
    et_temporal_free(temporal);
    et_face_detector_free(detector);
    et_emotion_classifier_free(&classifier);
    et_face_embedder_free(embedder);
    et_person_gallery_free(gallery);
    et_strbuf_free(&weights);
    et_strbuf_free(&settings);
    return status;
}
