/* emotrace extract: the aligned face crops the emotion CNN sees, as PNG
 * files with a CSV index, to build a training set from one's own videos.
 * The crops come from the analyzer's per-frame observer, so they are
 * exactly what `analyze` classifies. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>
#include <stb_image_write.h>

#include "cli.h"
#include "emotrace/analyzer.h"
#include "emotrace/error.h"
#include "emotrace/weights_path.h"

static const char usage[] =
    "usage: emotrace extract [OPTIONS] -o DIR INPUT...\n"
    "\n"
    "Writes the aligned 48x48 gray face crops the emotion classifier sees (as\n"
    "analyze aligns them) to DIR/unlabelled/ as PNG, indexed in\n"
    "DIR/unlabelled/index.csv (file, source, frame, t, track, box, predicted\n"
    "emotion and confidence). Move crops into DIR/<emotion>/ folders to get a\n"
    "dataset for 'emotrace train --data DIR' and 'emotrace eval --data DIR'.\n"
    "INPUT is anything analyze reads ('-': paths on standard input).\n"
    "\n"
    "  -o, --output DIR       where the crops go (required)\n"
    "      --fps N            crops per second of video per face (default 2)\n"
    "      --by-prediction    sort crops into DIR/unlabelled/<emotion>/ by the\n"
    "                         classifier's prediction, to check rather than label\n"
    "  -r, --recursive        descend into subdirectories\n"
    "      --start SECONDS    skip frames before this time\n"
    "      --end SECONDS      stop after this time\n"
    "      --min-face PX      ignore faces narrower than PX pixels\n"
    "      --max-faces N      keep at most the N most confident faces per frame\n"
    "      --cnn FILE         emotion CNN for the predictions (default: shipped)\n"
    "      --threads N        threads for the networks (default: all cores)\n"
    "  -q, --quiet            no per-input summary on standard error\n"
    "\n"
    "Exit status: 0 all inputs done, 1 some inputs failed, 2 usage error.\n";

static volatile int stop_now, finish_now;

static void on_signal(int sig)
{
    (void)sig;
    /* First: a live source ends, files finish; second: abandon. */
    if (finish_now)
        stop_now = 1;
    finish_now = 1;
}

typedef struct {
    const char *dir;
    int by_prediction;
    FILE *index;
    const char *source;
    char stem[128]; /* the source's file name, made safe for crop names */
    long crops;
} extract_state;

static int make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return et_error_set(ET_ERR_IO, "%s: cannot create directory: %s", path, strerror(errno));
    return ET_OK;
}

/* The last path component without its extension, with anything but
 * letters, digits, '-' and '_' replaced (URLs and odd names). */
static void make_stem(const char *source, char *stem, size_t size)
{
    size_t n = strlen(source);
    while (n > 1 && source[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && source[start - 1] != '/')
        start--;
    const char *dot = memchr(source + start, '.', n - start);
    size_t end = dot && dot > source + start ? (size_t)(dot - source) : n;
    size_t k = 0;
    for (size_t i = start; i < end && k + 1 < size; i++) {
        char c = source[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        stem[k++] = ok ? c : '_';
    }
    if (k == 0 && size > 5)
        k = (size_t)snprintf(stem, size, "input");
    stem[k] = '\0';
}

/* A CSV field, quoted when it holds a separator, quote or line break. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int save_crops(const et_frame_result *r, void *ctx)
{
    extract_state *s = ctx;
    for (int i = 0; i < r->count; i++) {
        const et_observation *o = &r->observations[i];
        char name[512], path[4096];
        snprintf(name, sizeof name, "unlabelled/%s%s%s-f%06lld-t%d.png", s->by_prediction ? et_emotion_names[o->emotion] : "",
                 s->by_prediction ? "/" : "", s->stem, (long long)o->frame, o->track);
        snprintf(path, sizeof path, "%s/%s", s->dir, name);
        const uint8_t *crop = r->crops + (size_t)i * r->crop_size * r->crop_size;
        if (!stbi_write_png(path, r->crop_size, r->crop_size, 1, crop, r->crop_size))
            return et_error_set(ET_ERR_IO, "%s: cannot write PNG", path);
        fprintf(s->index, "%s,", name);
        csv_field(s->index, s->source);
        fprintf(s->index, ",%lld,%.3f,%d,%.2f,%.2f,%.2f,%.2f,%s,%.4f\n", (long long)o->frame, o->t, o->track, o->x,
                o->y, o->w, o->h, et_emotion_names[o->emotion], o->prob[o->emotion]);
        s->crops++;
    }
    /* Flushed per frame: the index is usable while a long or live input runs. */
    if (r->count && (fflush(s->index) != 0 || ferror(s->index)))
        return et_error_set(ET_ERR_IO, "%s/unlabelled/index.csv: cannot write: %s", s->dir, strerror(errno));
    return ET_OK;
}

/* DIR, DIR/unlabelled (and its emotion folders) and the index, appended
 * to so that several runs add to one collection. */
static int prepare_output(extract_state *s)
{
    char path[4096];
    int rc = make_dir(s->dir);
    snprintf(path, sizeof path, "%s/unlabelled", s->dir);
    if (rc == ET_OK)
        rc = make_dir(path);
    for (int k = 0; s->by_prediction && k < ET_EMOTIONS && rc == ET_OK; k++) {
        snprintf(path, sizeof path, "%s/unlabelled/%s", s->dir, et_emotion_names[k]);
        rc = make_dir(path);
    }
    if (rc != ET_OK)
        return rc;
    snprintf(path, sizeof path, "%s/unlabelled/index.csv", s->dir);
    if (!(s->index = fopen(path, "a")))
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (ftell(s->index) == 0)
        fprintf(s->index, "file,source,frame,t,track,x,y,w,h,emotion,confidence\n");
    return ET_OK;
}

int cmd_extract(int argc, char **argv)
{
    enum { O_FPS = 256, O_BY_PREDICTION, O_START, O_END, O_MIN_FACE, O_MAX_FACES, O_CNN, O_THREADS };
    static const struct option options[] = {
        {"output", required_argument, 0, 'o'},       {"fps", required_argument, 0, O_FPS},
        {"by-prediction", no_argument, 0, O_BY_PREDICTION}, {"recursive", no_argument, 0, 'r'},
        {"start", required_argument, 0, O_START},    {"end", required_argument, 0, O_END},
        {"min-face", required_argument, 0, O_MIN_FACE}, {"max-faces", required_argument, 0, O_MAX_FACES},
        {"cnn", required_argument, 0, O_CNN},        {"threads", required_argument, 0, O_THREADS},
        {"quiet", no_argument, 0, 'q'},              {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *cnn_path = NULL;
    int quiet = 0, threads = 0, value, c;
    extract_state state = {0};
    et_media_input_options input_options = {0};
    et_face_detector_options detector_options;
    et_face_detector_defaults(&detector_options);
    et_analyzer_options ao;
    et_analyzer_defaults(&ao);
    ao.max_fps = 2.0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:rqh", options, NULL)) != -1) {
        switch (c) {
        case 'o': state.dir = optarg; break;
        case O_FPS: if (cli_parse_double("extract", "--fps", optarg, 1e-3, 1000, &ao.max_fps)) return EXIT_USAGE; break;
        case O_BY_PREDICTION: state.by_prediction = 1; break;
        case 'r': input_options.recursive = 1; break;
        case O_START: if (cli_parse_double("extract", "--start", optarg, 0, 1e9, &ao.start)) return EXIT_USAGE; break;
        case O_END: if (cli_parse_double("extract", "--end", optarg, 1e-9, 1e9, &ao.end)) return EXIT_USAGE; break;
        case O_MIN_FACE:
            if (cli_parse_int("extract", "--min-face", optarg, 0, 100000, &value)) return EXIT_USAGE;
            detector_options.min_face_px = (float)value;
            break;
        case O_MAX_FACES:
            if (cli_parse_int("extract", "--max-faces", optarg, 1, 1000000, &detector_options.max_faces)) return EXIT_USAGE;
            break;
        case O_CNN: cnn_path = optarg; break;
        case O_THREADS: if (cli_parse_int("extract", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE; break;
        case 'q': quiet = 1; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("extract", "unknown option");
        }
    }
    if (!state.dir)
        return cli_usage_error("extract", "-o DIR is required");
    if (optind >= argc)
        return cli_usage_error("extract", "no input given");
    if (ao.end > 0 && ao.end <= ao.start)
        return cli_usage_error("extract", "--end must be after --start");
    if (threads > 0)
        openblas_set_num_threads(threads);

    int status = EXIT_SOME_FAILED;
    char found[1024];
    et_emotion_classifier classifier = {0};
    et_face_detector *detector = NULL;
    et_media_list list = {0};
    if (!cnn_path && et_weights_find("emotion-cnn.safetensors", found, sizeof found) == ET_OK)
        cnn_path = found;
    if (!cnn_path || et_emotion_classifier_load(&classifier, cnn_path) != ET_OK ||
        et_face_detector_load(&detector, NULL, &detector_options) != ET_OK || prepare_output(&state) != ET_OK)
        goto fail;
    for (int i = optind; i < argc; i++) {
        int rc = !strcmp(argv[i], "-") ? et_media_list_add_stream(&list, stdin, &input_options)
                                       : et_media_list_add_path(&list, argv[i], &input_options);
        if (rc != ET_OK && et_media_list_add_unreadable(&list, argv[i]) != ET_OK)
            goto fail;
    }
    /* The crops are labelled by the CNN alone: the temporal model would
     * blend in the frames around them. */
    ao.detector = detector;
    ao.classifier = &classifier;
    ao.stop = &stop_now;
    ao.finish = &finish_now;
    ao.on_frame = save_crops;
    ao.on_frame_ctx = &state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    long failed = 0;
    size_t i;
    for (i = 0; i < list.count && !finish_now; i++) {
        const et_media_item *item = &list.items[i];
        et_media_info info;
        et_analyzer_stats stats;
        memset(&info, 0, sizeof info);
        info.path = item->path;
        state.source = item->path;
        make_stem(item->path, state.stem, sizeof state.stem);
        long before = state.crops;
        if (et_analyze_media(&ao, item, &info, NULL, &stats) != ET_OK) {
            failed++;
            fprintf(stderr, "emotrace: %s\n", et_error_message());
            continue;
        }
        if (!quiet)
            fprintf(stderr, "%s: %ld frames, %ld crops\n", item->path, stats.frames_analyzed, state.crops - before);
    }
    status = failed || i < list.count ? EXIT_SOME_FAILED : EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "emotrace: extract: %s\n", et_error_message());
done:
    if (state.index && fclose(state.index) != 0) {
        fprintf(stderr, "emotrace: extract: %s/unlabelled/index.csv: cannot write: %s\n", state.dir, strerror(errno));
        status = EXIT_SOME_FAILED;
    }
    et_media_list_free(&list);
    et_face_detector_free(detector);
    et_emotion_classifier_free(&classifier);
    return status;
}
