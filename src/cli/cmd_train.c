/* emotrace train: trains the emotion CNN on FER2013 (or an image folder). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "emotrace/cnn_trainer.h"
#include "emotrace/error.h"
#include "emotrace/face_detector.h"
#include "emotrace/image_folder.h"
#include "emotrace/photo_face.h"
#include "emotrace/teacher.h"

static const char usage[] =
    "usage: emotrace train --data FILE.csv[.gz]|DIR [OPTIONS]\n"
    "\n"
    "       emotrace train --temporal [OPTIONS]   (see 'emotrace train --temporal --help')\n"
    "\n"
    "Trains the emotion CNN. FER2013 CSV: the --train-usage rows train, the\n"
    "--val-usage rows select the best epoch. DIR: DIR/<emotion>/*.png|jpg.\n"
    "\n"
    "  --data PATH           FER2013 CSV (gzip or plain) or image folder\n"
    "  --val-data PATH       validation set (default: --data with --val-usage)\n"
    "  --train-usage NAME    Usage rows to train on (default Training)\n"
    "  --val-usage NAME      Usage rows to validate on (default PublicTest)\n"
    "  --ferplus FILE        FER+ votes (fer2013new.csv) as soft targets\n"
    "  --ferplus-weight W    target = W x votes + (1 - W) x FER2013 label (default 1)\n"
    "  --teacher FILE        distillation: the mean probabilities of these CNNs\n"
    "                        (each crop also mirrored; repeat, up to 8) on each\n"
    "                        training image become part of its target\n"
    "  --teacher-weight W    target = W x teachers + (1 - W) x label (default 0.5)\n"
    "  --out FILE            best weights (default emotion-cnn.safetensors)\n"
    "  --checkpoint FILE     checkpoint written every epoch (default OUT.ckpt)\n"
    "  --resume              continue from --checkpoint\n"
    "  --init FILE           start from these weights (fine-tuning)\n"
    "  --arch FILE           architecture JSON (default: the built-in CNN)\n"
    "  --epochs N            (default 60)\n"
    "  --batch N             (default 64)\n"
    "  --optimizer sgd|adamw (default sgd, Nesterov momentum 0.9)\n"
    "  --lr X                peak learning rate (default 0.05; cosine decay)\n"
    "  --min-lr X            final learning rate (default 0.0005)\n"
    "  --weight-decay X      (default 0.0005)\n"
    "  --smoothing X         label smoothing (default 0.1)\n"
    "  --warmup N            warm-up epochs (default 1)\n"
    "  --average-from E      also validate the mean of the weights at the end of\n"
    "                        epochs E.. (stochastic weight averaging; batch-norm\n"
    "                        statistics recomputed), kept when it is best\n"
    "  --cutmix P            CutMix: with probability P an image gets a box of\n"
    "                        another image of its batch, targets mixed by area\n"
    "                        (default 0: off)\n"
    "  --photos DIR          also train on the labelled photos of DIR (labels.csv:\n"
    "                        image,emotion), each face found and aligned as\n"
    "                        analyze does; photos without a face are skipped\n"
    "  --photos-repeat K     each photo K times per epoch (default 1)\n"
    "  --class-balance P     loss weight of a class ~ count^-P (0 off, default;\n"
    "                        0.5 square-root balancing; 1 all classes equal)\n"
    "  --video-augment       also degrade images as video does: motion blur, a\n"
    "                        face of 12-30 pixels scaled up, sensor noise\n"
    "  --aspect-augment X    also squeeze or stretch faces: width over height\n"
    "                        in [1/(1+X), 1+X] (default 0: off)\n"
    "  --keep-epochs         also write each epoch's weights (and the weight\n"
    "                        average) as OUT.epochN[-avg].safetensors\n"
    "  --no-augment          train on the images as they are\n"
    "  --seed N              (default 1)\n"
    "  --threads N           OpenBLAS threads (default: all cores)\n"
    "  --limit N             use at most N training rows\n"
    "  --max-steps N         stop after N optimizer steps (checkpointed)\n"
    "  --checkpoint-minutes M  also checkpoint inside an epoch every M minutes\n"
    "                        (default 10; SIGINT/SIGTERM checkpoint and stop)\n"
    "  --quiet               no progress lines\n";

#define MAX_TEACHERS 8

/* Distillation targets for train; the teachers' own accuracy on val is
 * printed (what the student is measured against). */
static int attach_teachers(et_face_dataset *train, const et_face_dataset *val, const char *const *teachers,
                           int count, float weight, int quiet)
{
    size_t most = (size_t)(train->count > val->count ? train->count : val->count);
    float *p = malloc(most * ET_EMOTIONS * sizeof(float));
    if (!p)
        return et_error_set(ET_ERR_NOMEM, "train: out of memory");
    int rc = et_teacher_probabilities(val, teachers, count, 1, p);
    if (rc == ET_OK && !quiet) {
        et_metrics m;
        et_teacher_metrics(val, p, &m);
        fprintf(stderr, "teachers (%d, each crop also mirrored): validation accuracy %.4f, macro-F1 %.4f\n", count,
                m.accuracy, m.macro_f1);
    }
    if (rc == ET_OK)
        rc = et_teacher_probabilities(train, teachers, count, 1, p);
    if (rc == ET_OK)
        rc = et_teacher_attach(train, p, weight);
    free(p);
    return rc;
}

/* Appends the faces of the labelled photos in dir, aligned as analyze
 * aligns them, repeat times. */
static int append_photos(et_face_dataset *train, const char *dir, int repeat, int quiet)
{
    et_photo_face photo;
    et_face_dataset photos = {0};
    int skipped = 0;
    int rc = et_photo_face_load(&photo, NULL, NULL, NULL);
    if (rc == ET_OK)
        rc = et_image_folder_load_faces(&photos, dir, et_photo_face_crop, &photo, &skipped);
    if (rc == ET_OK)
        rc = et_face_dataset_append(train, &photos, repeat);
    if (rc == ET_OK && !quiet)
        fprintf(stderr, "%s: %d photos with a face (x%d), %d without\n", dir, photos.count, repeat, skipped);
    et_photo_face_free(&photo);
    et_face_dataset_free(&photos);
    return rc;
}

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
        free(text);
        text = NULL;
    }
    if (text)
        text[size] = '\0';
    fclose(f);
    return text;
}

static int load_dataset(et_face_dataset *ds, const char *path, const char *usage_name, int limit)
{
    size_t len = strlen(path);
    int is_csv = (len > 4 && !strcmp(path + len - 4, ".csv")) || (len > 7 && !strcmp(path + len - 7, ".csv.gz"));
    if (is_csv)
        return et_fer2013_load(ds, path, usage_name, limit);
    return et_image_folder_load(ds, path);
}

int cmd_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--temporal"))
            return cmd_train_temporal(argc, argv);
    static const struct option options[] = {
        {"data", required_argument, 0, 'd'},       {"val-data", required_argument, 0, 'V'},
        {"train-usage", required_argument, 0, 'T'}, {"val-usage", required_argument, 0, 'U'},
        {"ferplus", required_argument, 0, 'F'},    {"out", required_argument, 0, 'o'},
        {"checkpoint", required_argument, 0, 'c'}, {"resume", no_argument, 0, 'r'},
        {"init", required_argument, 0, 'I'},       {"arch", required_argument, 0, 'a'},
        {"epochs", required_argument, 0, 'e'},     {"batch", required_argument, 0, 'b'},
        {"optimizer", required_argument, 0, 'O'},  {"lr", required_argument, 0, 'l'},
        {"min-lr", required_argument, 0, 'm'},     {"weight-decay", required_argument, 0, 'w'},
        {"smoothing", required_argument, 0, 's'},  {"warmup", required_argument, 0, 'W'},
        {"no-augment", no_argument, 0, 'N'},       {"seed", required_argument, 0, 'S'},
        {"threads", required_argument, 0, 't'},    {"limit", required_argument, 0, 'L'},
        {"max-steps", required_argument, 0, 'M'},  {"quiet", no_argument, 0, 'q'},
        {"checkpoint-minutes", required_argument, 0, 'C'}, {"ferplus-weight", required_argument, 0, 'P'},
        {"teacher", required_argument, 0, 'H'},    {"teacher-weight", required_argument, 0, 'G'},
        {"average-from", required_argument, 0, 'A'}, {"cutmix", required_argument, 0, 'X'},
        {"photos", required_argument, 0, 'p'},    {"photos-repeat", required_argument, 0, 'R'},
        {"class-balance", required_argument, 0, 'B'}, {"video-augment", no_argument, 0, 'v'},
        {"aspect-augment", required_argument, 0, 'Q'},
        {"keep-epochs", no_argument, 0, 'K'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    et_cnn_train_options o;
    et_cnn_train_defaults(&o);
    const char *data = NULL, *val_data = NULL, *train_usage = "Training", *val_usage = "PublicTest";
    const char *ferplus = NULL, *arch_path = NULL, *out = "emotion-cnn.safetensors";
    char *checkpoint = NULL;
    int threads = 0, limit = 0, c, seed = 1, photos_repeat = 1;
    const char *photos = NULL;
    float ferplus_weight = 1.0f, teacher_weight = 0.5f;
    const char *teachers[MAX_TEACHERS];
    int teacher_count = 0;
    double x;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'V': val_data = optarg; break;
        case 'T': train_usage = optarg; break;
        case 'U': val_usage = optarg; break;
        case 'F': ferplus = optarg; break;
        case 'P':
            if (cli_parse_double("train", "--ferplus-weight", optarg, 0, 1, &x))
                goto usage_error;
            ferplus_weight = (float)x;
            break;
        case 'H':
            if (teacher_count == MAX_TEACHERS) {
                cli_usage_error("train", "at most 8 --teacher files");
                goto usage_error;
            }
            teachers[teacher_count++] = optarg;
            break;
        case 'G':
            if (cli_parse_double("train", "--teacher-weight", optarg, 0, 1, &x))
                goto usage_error;
            teacher_weight = (float)x;
            break;
        case 'o': out = optarg; break;
        case 'c': free(checkpoint); checkpoint = strdup(optarg); break;
        case 'r': o.resume = 1; break;
        case 'I': o.init_weights = optarg; break;
        case 'a': arch_path = optarg; break;
        case 'e': if (cli_parse_int("train", "--epochs", optarg, 1, 100000, &o.epochs)) goto usage_error; break;
        case 'b': if (cli_parse_int("train", "--batch", optarg, 1, 4096, &o.batch)) goto usage_error; break;
        case 'O':
            if (!strcmp(optarg, "sgd")) o.optimizer = ET_OPTIMIZER_SGD;
            else if (!strcmp(optarg, "adamw")) o.optimizer = ET_OPTIMIZER_ADAMW;
            else { cli_usage_error("train", "--optimizer must be sgd or adamw"); goto usage_error; }
            break;
        case 'l': if (cli_parse_double("train", "--lr", optarg, 0, 10, &x)) goto usage_error; o.lr = (float)x; break;
        case 'm': if (cli_parse_double("train", "--min-lr", optarg, 0, 10, &x)) goto usage_error; o.min_lr = (float)x; break;
        case 'w': if (cli_parse_double("train", "--weight-decay", optarg, 0, 1, &x)) goto usage_error; o.weight_decay = (float)x; break;
        case 's': if (cli_parse_double("train", "--smoothing", optarg, 0, 0.99, &x)) goto usage_error; o.smoothing = (float)x; break;
        case 'W': if (cli_parse_int("train", "--warmup", optarg, 0, 1000, &o.warmup_epochs)) goto usage_error; break;
        case 'A': if (cli_parse_int("train", "--average-from", optarg, 1, 100000, &o.swa_start)) goto usage_error; break;
        case 'X': if (cli_parse_double("train", "--cutmix", optarg, 0, 1, &x)) goto usage_error; o.cutmix = (float)x; break;
        case 'N': o.augment = 0; break;
        case 'p': photos = optarg; break;
        case 'R': if (cli_parse_int("train", "--photos-repeat", optarg, 1, 1000, &photos_repeat)) goto usage_error; break;
        case 'B':
            if (cli_parse_double("train", "--class-balance", optarg, 0, 1, &x)) goto usage_error;
            o.class_balance = (float)x;
            break;
        case 'v': o.video_augment = 1; break;
        case 'Q':
            if (cli_parse_double("train", "--aspect-augment", optarg, 0, 1, &x)) goto usage_error;
            o.aspect_augment = (float)x;
            break;
        case 'K': o.keep_epochs = 1; break;
        case 'S': if (cli_parse_int("train", "--seed", optarg, 0, 2147483647, &seed)) goto usage_error; break;
        case 't': if (cli_parse_int("train", "--threads", optarg, 1, 256, &threads)) goto usage_error; break;
        case 'L': if (cli_parse_int("train", "--limit", optarg, 1, 100000000, &limit)) goto usage_error; break;
        case 'M': if (cli_parse_int("train", "--max-steps", optarg, 1, 2147483647, &o.max_steps)) goto usage_error; break;
        case 'q': o.quiet = 1; break;
        case 'C':
            if (cli_parse_double("train", "--checkpoint-minutes", optarg, 0, 1e6, &x)) goto usage_error;
            o.checkpoint_seconds = 60 * x;
            break;
        case 'h': printf("%s", usage); free(checkpoint); return EXIT_OK;
        default: cli_usage_error("train", "unknown option"); goto usage_error;
        }
    }
    if (optind < argc) {
        cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
        goto usage_error;
    }
    if (!data) {
        cli_usage_error("train", "--data is required");
        goto usage_error;
    }
    o.seed = (uint64_t)seed;
    if (!checkpoint) {
        size_t n = strlen(out) + 6;
        checkpoint = malloc(n);
        if (checkpoint)
            snprintf(checkpoint, n, "%s.ckpt", out);
    }
    o.out_path = out;
    o.checkpoint_path = checkpoint;
    if (threads > 0)
        openblas_set_num_threads(threads);

    char command_line[2048] = "emotrace";
    for (int i = 0; i < argc; i++) {
        size_t used = strlen(command_line);
        snprintf(command_line + used, sizeof command_line - used, " %s", argv[i]);
    }
    o.command_line = command_line;

    /* SIGINT/SIGTERM: save a checkpoint at the current step and stop (a
     * signal while the data loads stops before the first step). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o.stop = &stop_requested;

    int status = EXIT_SOME_FAILED;
    char *arch = NULL;
    et_face_dataset train = {0}, val = {0};
    if (arch_path) {
        arch = read_text_file(arch_path);
        if (!arch) {
            fprintf(stderr, "emotrace: train: %s: cannot read architecture file\n", arch_path);
            goto done;
        }
        o.arch_json = arch;
    }
    if (load_dataset(&train, data, train_usage, limit) != ET_OK ||
        load_dataset(&val, val_data ? val_data : data, val_usage, 0) != ET_OK ||
        (ferplus && et_ferplus_attach(&train, ferplus, ferplus_weight) != ET_OK) ||
        (photos && append_photos(&train, photos, photos_repeat, o.quiet) != ET_OK)) {
        fprintf(stderr, "emotrace: train: %s\n", et_error_message());
        goto done;
    }
    if (teacher_count > 0 && attach_teachers(&train, &val, teachers, teacher_count, teacher_weight, o.quiet) != ET_OK) {
        fprintf(stderr, "emotrace: train: %s\n", et_error_message());
        goto done;
    }
    if (!o.quiet)
        fprintf(stderr, "training on %d images, validating on %d\n", train.count, val.count);
    et_cnn_train_result result;
    if (et_cnn_train(&o, &train, &val, &result) != ET_OK) {
        fprintf(stderr, "emotrace: train: %s\n", et_error_message());
        goto done;
    }
    printf("best_epoch: %d%s\nbest_accuracy: %.4f\nbest_macro_f1: %.4f\nlast_loss: %.4f\nimages_per_second: %.1f\n",
           result.best_epoch, result.best_is_average ? " (weight average)" : "", result.best_val.accuracy,
           result.best_val.macro_f1, result.last_loss, result.images_per_second);
    status = EXIT_OK;
done:
    free(arch);
    free(checkpoint);
    et_face_dataset_free(&train);
    et_face_dataset_free(&val);
    return status;
usage_error:
    free(checkpoint);
    return EXIT_USAGE;
}
