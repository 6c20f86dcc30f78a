/* emotrace train --temporal: trains the LSTM over face tracks on synthetic
 * tracks made from FER2013 Training rows, reports it on tracks made from
 * PublicTest rows (see track_synth.h and temporal_trainer.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "cli.h"
#include "emotrace/error.h"
#include "emotrace/real_tracks.h"
#include "emotrace/sha256.h"
#include "emotrace/temporal_trainer.h"
#include "emotrace/weights_path.h"

static const char usage[] =
    "usage: emotrace train --temporal --data FILE.csv[.gz] [OPTIONS]\n"
    "\n"
    "Trains the temporal model (an LSTM over each face track) on synthetic tracks\n"
    "built from the FER2013 Training rows, every frame run through the frozen\n"
    "emotion CNN; reports it against the CNN alone on tracks built from the\n"
    "PublicTest rows. Retrain whenever the CNN weights change.\n"
    "\n"
    "  --data FILE           FER2013 CSV (gzip or plain)\n"
    "  --cnn FILE            emotion CNN (default: the shipped emotion-cnn)\n"
    "  --out FILE            weights (default emotion-lstm.safetensors)\n"
    "  --tracks N            training tracks (default 400)\n"
    "  --val-tracks N        validation tracks (default 200)\n"
    "  --seed N              training tracks and initialisation (default 1)\n"
    "  --val-seed N          validation tracks (default 1, as eval --temporal)\n"
    "  --cache DIR           keep the rendered, classified tracks here and reuse\n"
    "                        them while the CNN and settings are the same\n"
    "  --real-videos DIR     also train on the real face tracks of the videos in\n"
    "                        DIR (no labels: the target is the CNN's output\n"
    "                        smoothed over a centred window, which the causal\n"
    "                        model has to anticipate)\n"
    "  --real-repeat K       each real track K times per epoch (default 1)\n"
    "  --real-sigma S        the window's Gaussian sigma in seconds (default 0.5)\n"
    "  --epochs N            (default 20)\n"
    "  --batch N             tracks per step (default 32)\n"
    "  --lr X                peak AdamW learning rate (default 0.002; cosine decay)\n"
    "  --weight-decay X      (default 0.01)\n"

    "  --hidden N            LSTM width (default 64)\n"
    "  --projection N        dense width before the LSTM (default 64)\n"
    "  --threads N           OpenBLAS threads (default: all cores)\n"
    "  --quiet               no progress lines\n";

/* DIR/tracks-<usage>-seed<S>-<N>.safetensors, or NULL without a DIR. */
static char *cache_path(const char *dir, const char *usage_name, int seed, int tracks)
{
    if (!dir)
        return NULL;
    size_t n = strlen(dir) + strlen(usage_name) + 64;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/tracks-%s-seed%d-%d.safetensors", dir, usage_name, seed, tracks);
    return path;
}

/* The real tracks of every video in dir, appended repeat times to train. */
static int add_real_tracks(et_track_set *train, const char *dir, int repeat, double sigma, et_emotion_classifier *cnn,
                           const char *cnn_sha, const char *cache, int quiet)
{
    /* Reused while the CNN and the folder are the same (the targets are
     * made again for this window). */
    char *path = NULL;
    const char *meta[] = {"cnn_sha256", cnn_sha, "real_videos", dir, NULL};
    if (cache && (path = malloc(strlen(cache) + 32)) != NULL)
        sprintf(path, "%s/tracks-real.safetensors", cache);
    et_real_tracks_options o;
    et_real_tracks_defaults(&o);
    o.sigma = sigma;
    o.progress = !quiet;
    et_face_detector_options detector_options;
    et_face_detector_defaults(&detector_options);
    et_media_input_options input_options = {0};
    et_media_list list = {0};
    et_track_set real = {0};
    o.analyzer.classifier = cnn;
    int rc = ET_OK, cached = path && et_track_set_load(&real, path, meta) == ET_OK;
    if (!cached) {
        et_track_set_free(&real);
        rc = et_face_detector_load(&o.analyzer.detector, NULL, &detector_options);
        if (rc == ET_OK)
            rc = et_media_list_add_path(&list, dir, &input_options);
        if (rc == ET_OK)
            rc = et_real_tracks_build(&real, &list, &o);
        if (rc == ET_OK && path)
            rc = et_track_set_save(&real, path, meta);
    } else {
        rc = et_real_tracks_retarget(&real, sigma);
    }
    if (rc == ET_OK && !quiet)
        fprintf(stderr, "%s: %d real tracks (%d frames), x%d\n", dir, real.tracks, real.frames, repeat);
    if (rc == ET_OK)
        rc = et_track_set_append(train, &real, repeat);
    et_track_set_free(&real);
    et_media_list_free(&list);
    et_face_detector_free(o.analyzer.detector);
    free(path);
    return rc;
}

int cmd_train_temporal(int argc, char **argv)
{
    static const struct option options[] = {
        {"temporal", no_argument, 0, 'X'},       {"data", required_argument, 0, 'd'},
        {"cnn", required_argument, 0, 'C'},      {"out", required_argument, 0, 'o'},
        {"tracks", required_argument, 0, 'n'},   {"val-tracks", required_argument, 0, 'v'},
        {"seed", required_argument, 0, 'S'},     {"val-seed", required_argument, 0, 'Z'},
        {"cache", required_argument, 0, 'k'},    {"epochs", required_argument, 0, 'e'},
        {"batch", required_argument, 0, 'b'},    {"lr", required_argument, 0, 'l'},
        {"weight-decay", required_argument, 0, 'w'}, {"hidden", required_argument, 0, 'H'},
        {"projection", required_argument, 0, 'P'}, {"threads", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
        {"real-videos", required_argument, 0, 'R'}, {"real-repeat", required_argument, 0, 'r'},
        {"real-sigma", required_argument, 0, 's'},
        {0, 0, 0, 0}};
    et_temporal_train_options o;
    et_temporal_train_defaults(&o);
    const char *data = NULL, *cnn_path = NULL, *out = "emotion-lstm.safetensors", *cache = NULL;
    int tracks = 400, val_tracks = 200, seed = 1, val_seed = 1, threads = 0, c, real_repeat = 1;
    const char *real_videos = NULL;
    double x, real_sigma = 0.5;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'X': break;
        case 'd': data = optarg; break;
        case 'C': cnn_path = optarg; break;
        case 'o': out = optarg; break;
        case 'k': cache = optarg; break;
        case 'n': if (cli_parse_int("train", "--tracks", optarg, 1, 1000000, &tracks)) return EXIT_USAGE; break;
        case 'v': if (cli_parse_int("train", "--val-tracks", optarg, 1, 1000000, &val_tracks)) return EXIT_USAGE; break;
        case 'S': if (cli_parse_int("train", "--seed", optarg, 0, 2147483647, &seed)) return EXIT_USAGE; break;
        case 'Z': if (cli_parse_int("train", "--val-seed", optarg, 0, 2147483647, &val_seed)) return EXIT_USAGE; break;
        case 'e': if (cli_parse_int("train", "--epochs", optarg, 1, 100000, &o.epochs)) return EXIT_USAGE; break;
        case 'b': if (cli_parse_int("train", "--batch", optarg, 1, 4096, &o.batch)) return EXIT_USAGE; break;
        case 'l': if (cli_parse_double("train", "--lr", optarg, 0, 10, &x)) return EXIT_USAGE; o.lr = (float)x; break;
        case 'w': if (cli_parse_double("train", "--weight-decay", optarg, 0, 1, &x)) return EXIT_USAGE; o.weight_decay = (float)x; break;
        case 'H': if (cli_parse_int("train", "--hidden", optarg, 1, 4096, &o.hidden)) return EXIT_USAGE; break;
        case 'P': if (cli_parse_int("train", "--projection", optarg, 1, 4096, &o.projection)) return EXIT_USAGE; break;
        case 't': if (cli_parse_int("train", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE; break;
        case 'q': o.quiet = 1; break;
        case 'R': real_videos = optarg; break;
        case 'r': if (cli_parse_int("train", "--real-repeat", optarg, 1, 1000, &real_repeat)) return EXIT_USAGE; break;
        case 's': if (cli_parse_double("train", "--real-sigma", optarg, 0.01, 60, &real_sigma)) return EXIT_USAGE; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("train", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!data)
        return cli_usage_error("train", "--data is required");
    if (cache && mkdir(cache, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "emotrace: train: %s: cannot create the cache directory: %s\n", cache, strerror(errno));
        return EXIT_SOME_FAILED;
    }
    if (threads > 0)
        openblas_set_num_threads(threads);
    char found[1024], cnn_sha[65];
    if (!cnn_path) {
        if (et_weights_find("emotion-cnn.safetensors", found, sizeof found) != ET_OK) {
            fprintf(stderr, "emotrace: train: %s\n", et_error_message());
            return EXIT_SOME_FAILED;
        }
        cnn_path = found;
    }
    et_emotion_classifier cnn;
    if (et_sha256_file(cnn_path, cnn_sha) != ET_OK || et_emotion_classifier_load(&cnn, cnn_path) != ET_OK) {
        fprintf(stderr, "emotrace: train: %s\n", et_error_message());
        return EXIT_SOME_FAILED;
    }
    char command_line[2048] = "emotrace";
    for (int i = 0; i < argc; i++) {
        size_t used = strlen(command_line);
        snprintf(command_line + used, sizeof command_line - used, " %s", argv[i]);
    }
    int status = EXIT_SOME_FAILED;
    et_track_set train = {0}, val = {0};
    et_track_set_recipe train_recipe = {.data = data, .usage = "Training", .seed = (uint64_t)seed, .tracks = tracks,
                                        .progress = !o.quiet};
    et_track_set_recipe val_recipe = {.data = data, .usage = "PublicTest", .seed = (uint64_t)val_seed,
                                      .tracks = val_tracks, .progress = !o.quiet};
    et_track_synth_defaults(&train_recipe.synth);
    et_track_synth_defaults(&val_recipe.synth);
    char *train_cache = cache_path(cache, "Training", seed, tracks);
    char *val_cache = cache_path(cache, "PublicTest", val_seed, val_tracks);
    train_recipe.cache = train_cache;
    val_recipe.cache = val_cache;
    if (et_track_set_make(&train, &train_recipe, &cnn, cnn_sha) != ET_OK ||
        et_track_set_make(&val, &val_recipe, &cnn, cnn_sha) != ET_OK ||
        (real_videos && add_real_tracks(&train, real_videos, real_repeat, real_sigma, &cnn, cnn_sha, cache, o.quiet) != ET_OK)) {
        fprintf(stderr, "emotrace: train: %s\n", et_error_message());
        goto done;
    }
    char settings[640], generator[512], counts[128], cnn_base[256], real[320] = "";
    snprintf(settings, sizeof settings,
             "epochs=%d batch=%d optimizer=adamw lr=%g min_lr=%g weight_decay=%g smoothing=%g warmup=%d "
             "projection=%d hidden=%d input_dropout=%g embedding_dropout=%g consistency=%g seed=%d",
             o.epochs, o.batch, o.lr, o.min_lr, o.weight_decay, o.smoothing, o.warmup_epochs, o.projection, o.hidden,
             o.input_dropout, o.embedding_dropout, o.consistency, seed);
    if (real_videos)
        snprintf(real, sizeof real, " real_videos=%s real_repeat=%d real_sigma=%g", real_videos, real_repeat,
                 real_sigma);
    strncat(settings, real, sizeof settings - strlen(settings) - 1);
    et_track_synth_describe(&train_recipe.synth, generator, sizeof generator);
    snprintf(counts, sizeof counts, "train %d tracks (seed %d, %d frames), validation %d tracks (seed %d, %d frames)",
             train.tracks, seed, train.frames, val.tracks, val_seed, val.frames);
    const char *slash = strrchr(cnn_path, '/');
    snprintf(cnn_base, sizeof cnn_base, "%s", slash ? slash + 1 : cnn_path);
    const char *metadata[] = {"trained_by", "emotrace " ET_VERSION, "command", command_line, "settings", settings,
                              "cnn", cnn_base, "cnn_sha256", cnn_sha, "generator", generator, "tracks", counts,
                              "features", "embedding, cnn probabilities, detector score, log(1+dt/0.04), first",
                              "labels", "angry,disgust,fear,happy,sad,surprise,neutral", NULL};
    o.seed = (uint64_t)seed;
    o.out_path = out;
    o.metadata = metadata;
    if (!o.quiet)
        fprintf(stderr, "training on %d tracks (%d frames), validating on %d tracks (%d frames)\n", train.tracks,
                train.frames, val.tracks, val.frames);
    et_temporal_train_result r;
    if (et_temporal_train(&o, &train, &val, &r) != ET_OK) {
        fprintf(stderr, "emotrace: train: %s\n", et_error_message());
        goto done;
    }
    printf("validation tracks: %d (%d frames)\n", val.tracks, val.frames);
    printf("%-10s %9s %12s %11s %11s\n", "", "accuracy", "flicker/10s", "latency_s", "missed");
    const et_temporal_metrics *m[2] = {&r.cnn, &r.lstm};
    const char *names[2] = {"cnn", "cnn+lstm"};
    for (int i = 0; i < 2; i++)
        printf("%-10s %9.4f %12.3f %11.3f %10.1f%%\n", names[i], m[i]->accuracy, m[i]->flicker_per_10s,
               m[i]->latency_median_s, m[i]->switches ? 100.0 * m[i]->missed / m[i]->switches : 0.0);
    printf("training_seconds: %.0f\n", r.seconds);
    status = EXIT_OK;
done:
    free(train_cache);
    free(val_cache);
    et_track_set_free(&train);
    et_track_set_free(&val);
    et_emotion_classifier_free(&cnn);
    return status;
}
