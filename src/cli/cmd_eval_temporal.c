/* emotrace eval --temporal: the CNN alone against CNN+LSTM on synthetic
 * validation tracks (per-frame accuracy, flicker, switch latency) and on
 * fast posed onsets (is the last frame labelled with the expression?), the
 * LSTM run through the same streaming step as analyze. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "emotrace/analyzer.h"
#include "emotrace/error.h"
#include "emotrace/json.h"
#include "emotrace/lookahead.h"
#include "emotrace/metrics.h"
#include "emotrace/sha256.h"
#include "emotrace/temporal.h"
#include "emotrace/temporal_metrics.h"
#include "emotrace/temporal_trainer.h"
#include "emotrace/track_onset.h"
#include "emotrace/weights_path.h"

static const char usage[] =
    "usage: emotrace eval --temporal (--data FILE.csv[.gz] | --tracks-file FILE) [OPTIONS]\n"
    "\n"
    "Compares the emotion CNN alone, CNN+LSTM (what analyze reports for live\n"
    "sources) and the CNN smoothed with the look-ahead (recorded media) on\n"
    "synthetic face tracks built\n"
    "from FER2013 rows (PublicTest by default): per-frame accuracy, flicker (label\n"
    "changes per 10 s inside constant-emotion segments) and the median switch\n"
    "latency (from a true change to the new label; a switch never made counts as\n"
    "never, and the share of those is reported as missed). With --data, also\n"
    "fast posed onsets from the same rows: 1-2 s of a neutral crop, then a 0.5 s\n"
    "cross-fade to a crop of one of the six expressions (25-30 fps); reported is\n"
    "the share whose last frame (the peak) is labelled with that expression.\n"
    "Labels are those analyze reports (see --label-margin and --label-dwell).\n"
    "\n"
    "  --data FILE           FER2013 CSV (gzip or plain)\n"
    "  --usage NAME          rows the tracks are built from (default PublicTest)\n"
    "  --cnn FILE            emotion CNN (default: the shipped emotion-cnn)\n"
    "  --lstm FILE           temporal model (default: the shipped emotion-lstm)\n"
    "  --tracks N            tracks (default 200)\n"
    "  --seed N              (default 1)\n"
    "  --fps MIN:MAX         frame rates (default 10:30)\n"
    "  --duration MIN:MAX    track seconds (default 2:12)\n"
    "  --onsets N            onsets (default 400; 0: none)\n"
    "  --label-margin P      the reported label changes only when another leads it\n"
    "                        by P probability, as in analyze (default 0.15; 0: argmax)\n"
    "  --label-dwell S       ... or has been the most probable for S seconds (default 0.5)\n"
    "  --lookahead S         the look-ahead window analyze uses for recorded media\n"
    "                        (default 1): the third row smooths the CNN with it\n"
    "  --tracks-file FILE    use tracks saved by --save-tracks (no CNN run, no onsets)\n"
    "  --save-tracks FILE    save the tracks' features for later runs and tests\n"
    "  --json                one JSON object instead of the text report\n"
    "  --threads N           OpenBLAS threads (default: all cores)\n";

static int parse_range(const char *option, const char *text, float *lo, float *hi)
{
    char *end;
    double a = strtod(text, &end), b;
    if (end == text || *end != ':' || (b = strtod(end + 1, &end), *end != '\0') || !(a > 0 && a <= b && b < 1e6))
        return cli_usage_error("eval", "%s expects MIN:MAX with 0 < MIN <= MAX, got '%s'", option, text);
    *lo = (float)a;
    *hi = (float)b;
    return 0;
}

static void json_metrics(et_strbuf *b, const char *name, const et_temporal_metrics *m)
{
    et_strbuf_printf(b, ",\"%s\":{\"accuracy\":%.6f,\"flicker_per_10s\":%.4f,\"switches\":%d,\"missed\":%d", name,
                     m->accuracy, m->flicker_per_10s, m->switches, m->missed);
    /* JSON has no infinity: null when half or more switches were missed. */
    const char *keys[4] = {"latency_median_s", "latency_median_frames", "detected_latency_median_s",
                           "detected_latency_median_frames"};
    double values[4] = {m->latency_median_s, m->latency_median_frames, m->detected_latency_median_s,
                        m->detected_latency_median_frames};
    for (int i = 0; i < 4; i++) {
        if (isfinite(values[i]))
            et_strbuf_printf(b, ",\"%s\":%.4f", keys[i], values[i]);
        else
            et_strbuf_printf(b, ",\"%s\":null", keys[i]);
    }
    et_strbuf_append(b, "}", 1);
}

/* analyze's label rule (--label-margin, --label-dwell). */
typedef struct {
    double margin, dwell;
} label_rule;

/* Replaces each frame's probabilities by the one-hot of the label analyze
 * would report (et_label_update along each track), so that the metrics,
 * which take the most probable emotion, measure reported labels. */
static void report_labels(const et_track_set *set, float *probabilities, const label_rule *rule)
{
    for (int t = 0; t < set->tracks; t++) {
        et_label_state state;
        et_label_state_init(&state);
        for (int f = set->start[t]; f < set->start[t + 1]; f++) {
            float *p = probabilities + (size_t)f * ET_EMOTIONS;
            int label = et_label_update(&state, p, set->times[f], (float)rule->margin, rule->dwell);
            for (int k = 0; k < ET_EMOTIONS; k++)
                p[k] = k == label ? 1.0f : 0.0f;
        }
    }
}

/* Share of onsets whose last frame is labelled with the expression. */
typedef struct {
    int count;
    double right[3]; /* cnn, cnn+lstm, look-ahead */
} onset_score;

/* What analyze reports for recorded media: each frame's CNN probabilities
 * smoothed over its track with the look-ahead (lookahead.h). */
static int lookahead_set(const et_track_set *set, double window, float *probabilities)
{
    int rc = ET_OK;
    for (int t = 0; t < set->tracks && rc == ET_OK; t++) {
        et_lookahead *l;
        if ((rc = et_lookahead_init(&l, window, 0, 0)) != ET_OK)
            break;
        int out = set->start[t];
        et_lookahead_frame ready;
        for (int f = set->start[t]; f <= set->start[t + 1] && rc == ET_OK; f++) {
            int end = f == set->start[t + 1];
            if (!end) {
                et_frame frame = {0};
                et_observation o = {0};
                frame.t = o.t = set->times[f];
                frame.index = o.frame = f - set->start[t];
                o.track = 1;
                const float *p = et_track_set_cnn_probabilities(set, f);
                for (int k = 0; k < ET_EMOTIONS; k++)
                    o.prob[k] = p[k];
                rc = et_lookahead_push(l, &frame, &o, NULL, 1);
            }
            int got;
            while (rc == ET_OK && (got = et_lookahead_pop(l, end, &ready)) == 1) {
                for (int k = 0; k < ET_EMOTIONS; k++)
                    probabilities[(size_t)out * ET_EMOTIONS + k] = (float)ready.observations[0].prob[k];
                out++;
            }
            if (rc == ET_OK && got < 0)
                rc = got;
        }
        et_lookahead_free(l);
    }
    return rc;
}

static double onset_share(const et_track_set *set, const float *probabilities)
{
    int right = 0;
    for (int t = 0; t < set->tracks; t++) {
        int last = set->start[t + 1] - 1;
        right += et_argmax(probabilities + (size_t)last * ET_EMOTIONS, ET_EMOTIONS) == set->labels[last];
    }
    return set->tracks ? right / (double)set->tracks : 0.0;
}

/* Builds the onsets from the rows of data and scores both models on them. */
static int onsets_run(onset_score *o, const et_track_set_recipe *r, et_emotion_classifier *cnn, et_temporal *model,
                      const label_rule *rule, double window)
{
    et_face_dataset ds;
    et_track_synth synth;
    et_track_set set = {0};
    float *probabilities = NULL;
    int rc = et_fer2013_load(&ds, r->data, r->usage, 0);
    if (rc != ET_OK)
        return rc;
    if ((rc = et_track_synth_init(&synth, &ds, &r->synth, r->seed)) != ET_OK) {
        et_face_dataset_free(&ds);
        return rc;
    }
    rc = et_track_set_build_planned(&set, &synth, et_track_onset_plan, 0, o->count, cnn, 0);
    if (rc == ET_OK && !(probabilities = malloc((size_t)set.frames * ET_EMOTIONS * sizeof(float))))
        rc = et_error_set(ET_ERR_NOMEM, "onsets: out of memory");
    if (rc == ET_OK) {
        et_track_set_cnn_predictions(&set, probabilities);
        report_labels(&set, probabilities, rule);
        o->right[0] = onset_share(&set, probabilities);
        rc = et_temporal_stream_set(model, &set, probabilities);
        report_labels(&set, probabilities, rule);
        o->right[1] = onset_share(&set, probabilities);
        if (rc == ET_OK && (rc = lookahead_set(&set, window, probabilities)) == ET_OK) {
            report_labels(&set, probabilities, rule);
            o->right[2] = onset_share(&set, probabilities);
        }
    }
    free(probabilities);
    et_track_set_free(&set);
    et_track_synth_free(&synth);
    et_face_dataset_free(&ds);
    return rc;
}

static void print_report(const et_track_set *set, const et_temporal_metrics m[3], int json, const char *lstm_path,
                         const onset_score *onsets)
{
    double seconds = 0.0;
    for (int t = 0; t < set->tracks; t++)
        seconds += set->times[set->start[t + 1] - 1];
    if (json) {
        et_strbuf b = {0};
        et_strbuf_append(&b, "{\"lstm\":", 8);
        et_strbuf_json_string(&b, lstm_path);
        et_strbuf_printf(&b, ",\"tracks\":%d,\"frames\":%d,\"seconds\":%.1f", set->tracks, set->frames, seconds);
        json_metrics(&b, "cnn", &m[0]);
        json_metrics(&b, "cnn_lstm", &m[1]);
        json_metrics(&b, "lookahead", &m[2]);
        if (onsets->count)
            et_strbuf_printf(&b,
                             ",\"onsets\":%d,\"onset_last_frame\":{\"cnn\":%.6f,\"cnn_lstm\":%.6f,\"lookahead\":%.6f}",
                             onsets->count, onsets->right[0], onsets->right[1], onsets->right[2]);
        et_strbuf_append(&b, "}", 1);
        if (!b.failed)
            printf("%s\n", b.data);
        et_strbuf_free(&b);
        return;
    }
    printf("tracks: %d (%d frames, %.0f s, %d true changes)\n\n", set->tracks, set->frames, seconds, m[0].switches);
    printf("%-10s %9s %12s %16s %18s %8s\n", "", "accuracy", "flicker/10s", "median_latency", "(detected only)",
           "missed");
    const char *names[3] = {"cnn", "cnn+lstm", "lookahead"};
    for (int i = 0; i < 3; i++)
        printf("%-10s %9.4f %12.3f %9.3f s %4.0f f %9.3f s %4.0f f %7.1f%%\n", names[i], m[i].accuracy,
               m[i].flicker_per_10s, m[i].latency_median_s, m[i].latency_median_frames,
               m[i].detected_latency_median_s, m[i].detected_latency_median_frames,
               m[i].switches ? 100.0 * m[i].missed / m[i].switches : 0.0);
    if (onsets->count)
        printf("\nonsets: %d (%.1f s neutral to peak): last frame right: cnn %.4f, cnn+lstm %.4f, lookahead %.4f\n",
               onsets->count, ET_ONSET_SECONDS, onsets->right[0], onsets->right[1], onsets->right[2]);
}

int cmd_eval_temporal(int argc, char **argv)
{
    static const struct option options[] = {
        {"temporal", no_argument, 0, 'X'},        {"data", required_argument, 0, 'd'},
        {"usage", required_argument, 0, 'u'},     {"cnn", required_argument, 0, 'C'},
        {"lstm", required_argument, 0, 'L'},      {"tracks", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 'S'},      {"fps", required_argument, 0, 'f'},
        {"duration", required_argument, 0, 'D'},  {"tracks-file", required_argument, 0, 'T'},
        {"save-tracks", required_argument, 0, 's'}, {"json", no_argument, 0, 'j'},
        {"threads", required_argument, 0, 't'},   {"help", no_argument, 0, 'h'},
        {"onsets", required_argument, 0, 'o'},    {"label-margin", required_argument, 0, 'M'},
        {"label-dwell", required_argument, 0, 'W'}, {"lookahead", required_argument, 0, 'A'},
        {0, 0, 0, 0}};
    const char *data = NULL, *usage_name = "PublicTest", *cnn_path = NULL, *lstm_path = NULL;
    const char *tracks_file = NULL, *save_path = NULL;
    int tracks = 200, seed = 1, json = 0, threads = 0, c;
    onset_score onsets = {400, {0, 0, 0}};
    double window = ET_LOOKAHEAD_WINDOW;
    label_rule rule = {ET_LABEL_MARGIN, ET_LABEL_DWELL};
    et_track_set_recipe recipe = {0};
    et_track_synth_defaults(&recipe.synth);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'X': break;
        case 'd': data = optarg; break;
        case 'u': usage_name = optarg; break;
        case 'C': cnn_path = optarg; break;
        case 'L': lstm_path = optarg; break;
        case 'M': if (cli_parse_double("eval", "--label-margin", optarg, 0, 1, &rule.margin)) return EXIT_USAGE; break;
        case 'W': if (cli_parse_double("eval", "--label-dwell", optarg, 0, 3600, &rule.dwell)) return EXIT_USAGE; break;
        case 'A': if (cli_parse_double("eval", "--lookahead", optarg, 0.01, 60, &window)) return EXIT_USAGE; break;
        case 'o': if (cli_parse_int("eval", "--onsets", optarg, 0, 1000000, &onsets.count)) return EXIT_USAGE; break;
        case 'n': if (cli_parse_int("eval", "--tracks", optarg, 1, 1000000, &tracks)) return EXIT_USAGE; break;
        case 'S': if (cli_parse_int("eval", "--seed", optarg, 0, 2147483647, &seed)) return EXIT_USAGE; break;
        case 'f': if (parse_range("--fps", optarg, &recipe.synth.min_fps, &recipe.synth.max_fps)) return EXIT_USAGE; break;
        case 'D': if (parse_range("--duration", optarg, &recipe.synth.min_duration, &recipe.synth.max_duration)) return EXIT_USAGE; break;
        case 'T': tracks_file = optarg; break;
        case 's': save_path = optarg; break;
        case 'j': json = 1; break;
        case 't': if (cli_parse_int("eval", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("eval", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!data == !tracks_file)
        return cli_usage_error("eval", "--temporal needs one of --data and --tracks-file");
    if (threads > 0)
        openblas_set_num_threads(threads);
    char lstm_found[1024], cnn_found[1024], cnn_sha[65];
    if (!lstm_path) {
        if (et_weights_find("emotion-lstm.safetensors", lstm_found, sizeof lstm_found) != ET_OK) {
            fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
            return EXIT_SOME_FAILED;
        }
        lstm_path = lstm_found;
    }
    et_temporal *model = NULL;
    if (et_temporal_load(&model, lstm_path) != ET_OK) {
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
        return EXIT_SOME_FAILED;
    }
    int status = EXIT_SOME_FAILED;
    et_track_set set = {0};
    et_emotion_classifier cnn = {0};
    float *probabilities = NULL;
    if (tracks_file) {
        /* Features from another CNN would measure nothing meaningful. */
        const char *expect[] = {"cnn_sha256", et_temporal_cnn_sha256(model), NULL};
        if (et_track_set_load(&set, tracks_file, et_temporal_cnn_sha256(model)[0] ? expect : NULL) != ET_OK) {
            fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
            goto done;
        }
    } else {
        if (!cnn_path) {
            if (et_weights_find("emotion-cnn.safetensors", cnn_found, sizeof cnn_found) != ET_OK) {
                fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
                goto done;
            }
            cnn_path = cnn_found;
        }
        if (et_sha256_file(cnn_path, cnn_sha) != ET_OK || et_emotion_classifier_load(&cnn, cnn_path) != ET_OK) {
            fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
            goto done;
        }
        if (et_temporal_cnn_sha256(model)[0] && strcmp(et_temporal_cnn_sha256(model), cnn_sha) != 0)
            fprintf(stderr, "emotrace: eval: warning: %s was trained on the embeddings of another CNN than %s\n",
                    lstm_path, cnn_path);
        recipe.data = data;
        recipe.usage = usage_name;
        recipe.seed = (uint64_t)seed;
        recipe.tracks = tracks;
        recipe.cache = save_path;
        recipe.progress = !json;
        int rc = et_track_set_make(&set, &recipe, &cnn, cnn_sha);
        if (rc == ET_OK && onsets.count)
            rc = onsets_run(&onsets, &recipe, &cnn, model, &rule, window);
        if (rc != ET_OK) {
            fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
            goto done;
        }
    }
    if (set.feature_size != et_temporal_feature_size(model)) {
        fprintf(stderr, "emotrace: eval: %s takes %d features per frame, the tracks have %d (another CNN?)\n",
                lstm_path, et_temporal_feature_size(model), set.feature_size);
        goto done;
    }
    probabilities = malloc((size_t)set.frames * ET_EMOTIONS * sizeof(float));
    et_temporal_metrics m[3];
    if (!probabilities) {
        fprintf(stderr, "emotrace: eval: out of memory\n");
        goto done;
    }
    et_track_set_cnn_predictions(&set, probabilities);
    report_labels(&set, probabilities, &rule);
    int rc = et_temporal_metrics_compute(&set, probabilities, &m[0]);
    if (rc == ET_OK && (rc = et_temporal_stream_set(model, &set, probabilities)) == ET_OK) {
        report_labels(&set, probabilities, &rule);
        rc = et_temporal_metrics_compute(&set, probabilities, &m[1]);
    }
    if (rc == ET_OK && (rc = lookahead_set(&set, window, probabilities)) == ET_OK) {
        report_labels(&set, probabilities, &rule);
        rc = et_temporal_metrics_compute(&set, probabilities, &m[2]);
    }
    if (rc != ET_OK) {
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
        goto done;
    }
    if (tracks_file)
        onsets.count = 0;
    print_report(&set, m, json, lstm_path, &onsets);
    status = EXIT_OK;
done:
    et_emotion_classifier_free(&cnn);
    free(probabilities);
    et_track_set_free(&set);
    et_temporal_free(model);
    return status;
}
