/* emotrace eval: accuracy, per-class precision/recall/F1, macro-F1 and the
 * confusion matrix of the shipped (or given) classifier on a labelled set,
 * running exactly the preprocessing and network that analyze runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "eval_clips.h"
#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"
#include "emotrace/image_folder.h"
#include "emotrace/json.h"
#include "emotrace/metrics.h"
#include "emotrace/photo_face.h"
#include "emotrace/weights_path.h"

static const char usage[] =
    "usage: emotrace eval --data FILE.csv[.gz]|DIR [OPTIONS]\n"
    "       emotrace eval --clips DIR [OPTIONS]\n"
    "       emotrace eval --temporal [OPTIONS]   (see 'emotrace eval --temporal --help')\n"
    "       emotrace eval --persons --data DIR   (see 'emotrace eval --persons --help')\n"
    "\n"
    "Evaluates the emotion classifier on FER2013-style CSV rows (by Usage), on an\n"
    "image folder DIR/<emotion>/*.png|jpg, or on photos listed in DIR/labels.csv\n"
    "(its header names the columns image and emotion, others are ignored; images\n"
    "in DIR/images/ or DIR). With --clips, runs the analyze pipeline on every\n"
    "video in DIR, with and without the temporal model, and judges what it\n"
    "reports along each clip's main track (the track with the most faces).\n"
    "\n"
    "  --data PATH       labelled data\n"
    "  --usage NAME      CSV rows to use (default PublicTest; 'all' for every row)\n"
    "  --ferplus FILE    FER2013 CSV: also score against the FER+ majority label of\n"
    "                    each row (fer2013new.csv): the emotion with strictly more\n"
    "                    votes than any other column; rows where contempt, unknown\n"
    "                    or not-a-face has the most votes, or where the top is\n"
    "                    tied, are left out\n"
    "  --detect          images are uncropped photos: find the largest face and\n"
    "                    align it as analyze does (images without a face are\n"
    "                    counted in no_face and accuracy_all)\n"
    "  --clips DIR       videos; a name ending in _<emotion>.<ext> (W009_angry.mp4)\n"
    "                    labels its clip: frame accuracy (main-track frames whose\n"
    "                    reported emotion is the label), clip accuracy (argmax of\n"
    "                    the main track's mean probability), recall per class over\n"
    "                    clips. Always: label changes per 10 s along main tracks\n"
    "                    (median over clips of 2 s or more, and pooled) and the\n"
    "                    share of main-track frames per reported emotion\n"
    "  --lstm FILE       --clips: temporal model (default: the shipped emotion-lstm)\n"
    "  --no-temporal     --clips: the CNN-alone pass only\n"
    "  --label-margin P  --clips: as analyze --label-margin (default 0.15; 0: argmax)\n"
    "  --label-dwell S   --clips: as analyze --label-dwell (default 0.5)\n"
    "  --lookahead S     --clips: as analyze --lookahead (default 1; 0: the LSTM)\n"
    "  --detector short|full  face detector for --detect and --clips (default short)\n"
    "  --crop-scale X    face crop side in detection box sides (default 1.1)\n"
    "  --crop-offset Y   crop centre moved down by Y box sides (default 0)\n"
    "  --weights FILE    classifier weights (default: the shipped emotion-cnn)\n"
    "  --cnn FILE        the same as --weights\n"
    "  --tta             also classify each face mirrored and average the two, as\n"
    "                    analyze --tta does\n"
    "  --json            one JSON object instead of the text report\n"
    "  --threads N       OpenBLAS threads (default: all cores)\n";

/* With --detect, photos without a face count as wrong in accuracy_all. */
static double accuracy_all(const et_metrics *m, int no_face)
{
    return m->total + no_face ? m->accuracy * m->total / (double)(m->total + no_face) : 0.0;
}

/* Rows scored against their FER+ majority label (--ferplus). */
typedef struct {
    et_metrics m;
    long left_out;
} ferplus_score;

static void print_text(const et_metrics *m, int detect, int no_face, const ferplus_score *fp)
{
    printf("accuracy: %.4f\n", m->accuracy);
    printf("macro_f1: %.4f\n", m->macro_f1);
    printf("samples: %ld\n", m->total);
    if (detect)
        printf("no_face: %d\naccuracy_all: %.4f\n", no_face, accuracy_all(m, no_face));
    if (fp)
        printf("ferplus_accuracy: %.4f\nferplus_macro_f1: %.4f\nferplus_samples: %ld (%ld left out)\n",
               fp->m.accuracy, fp->m.macro_f1, fp->m.total, fp->left_out);
    printf("\n");
    printf("%-10s %9s %9s %9s %7s%s\n", "class", "precision", "recall", "f1", "support",
           fp ? "  ferplus_recall" : "");
    for (int k = 0; k < ET_EMOTIONS; k++) {
        long support = 0;
        for (int j = 0; j < ET_EMOTIONS; j++)
            support += m->confusion[k][j];
        printf("%-10s %9.4f %9.4f %9.4f %7ld", et_emotion_names[k], m->precision[k], m->recall[k], m->f1[k],
               support);
        if (fp)
            printf("  %14.4f", fp->m.recall[k]);
        printf("\n");
    }
    printf("\nconfusion matrix (rows: true, columns: predicted)\n%-10s", "");
    for (int k = 0; k < ET_EMOTIONS; k++)
        printf(" %8s", et_emotion_names[k]);
    printf("\n");
    for (int k = 0; k < ET_EMOTIONS; k++) {
        printf("%-10s", et_emotion_names[k]);
        for (int j = 0; j < ET_EMOTIONS; j++)
            printf(" %8ld", m->confusion[k][j]);
        printf("\n");
    }
}

static void json_classes(et_strbuf *b, const et_metrics *m)
{
    et_strbuf_append(b, "\"classes\":{", 11);
    for (int k = 0; k < ET_EMOTIONS; k++)
        et_strbuf_printf(b, "%s\"%s\":{\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f}", k ? "," : "",
                         et_emotion_names[k], m->precision[k], m->recall[k], m->f1[k]);
    et_strbuf_append(b, "},\"confusion\":[", 15);
    for (int k = 0; k < ET_EMOTIONS; k++) {
        et_strbuf_append(b, k ? ",[" : "[", k ? 2 : 1);
        for (int j = 0; j < ET_EMOTIONS; j++)
            et_strbuf_printf(b, "%s%ld", j ? "," : "", m->confusion[k][j]);
        et_strbuf_append(b, "]", 1);
    }
    et_strbuf_append(b, "]", 1);
}

static void print_json(const et_metrics *m, const char *weights, const char *data, int detect, int no_face, int tta,
                       const ferplus_score *fp)
{
    et_strbuf b = {0};
    et_strbuf_append(&b, "{\"weights\":", 11);
    et_strbuf_json_string(&b, weights);
    et_strbuf_append(&b, ",\"data\":", 8);
    et_strbuf_json_string(&b, data);
    et_strbuf_printf(&b, ",\"tta\":%s,\"samples\":%ld,\"accuracy\":%.6f,\"macro_f1\":%.6f,", tta ? "true" : "false",
                     m->total, m->accuracy, m->macro_f1);
    if (detect)
        et_strbuf_printf(&b, "\"no_face\":%d,\"accuracy_all\":%.6f,", no_face, accuracy_all(m, no_face));
    if (fp) {
        et_strbuf_printf(&b, "\"ferplus\":{\"samples\":%ld,\"left_out\":%ld,\"accuracy\":%.6f,\"macro_f1\":%.6f,",
                         fp->m.total, fp->left_out, fp->m.accuracy, fp->m.macro_f1);
        json_classes(&b, &fp->m);
        et_strbuf_append(&b, "},", 2);
    }
    json_classes(&b, m);
    et_strbuf_append(&b, "}", 1);
    if (!b.failed)
        printf("%s\n", b.data);
    et_strbuf_free(&b);
}

/* Scores predictions (one per dataset row) against the FER+ majority label
 * of each row; rows without one are left out. */
static int ferplus_score_rows(ferplus_score *fp, const char *path, const et_face_dataset *ds, const int *predicted)
{
    int rows = 0;
    for (int i = 0; i < ds->count; i++)
        rows = ds->rows[i] + 1 > rows ? ds->rows[i] + 1 : rows;
    int *votes = malloc(((size_t)rows + 1) * ET_FERPLUS_COLUMNS * sizeof *votes);
    if (!votes)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    int rc = et_ferplus_read_votes(path, rows, votes);
    et_metrics_init(&fp->m);
    fp->left_out = 0;
    for (int i = 0; rc == ET_OK && i < ds->count; i++) {
        int label = et_ferplus_majority(votes + (size_t)ds->rows[i] * ET_FERPLUS_COLUMNS);
        if (label < 0)
            fp->left_out++;
        else
            et_metrics_add(&fp->m, label, predicted[i]);
    }
    et_metrics_finish(&fp->m);
    free(votes);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--temporal"))
            return cmd_eval_temporal(argc, argv);
        else if (!strcmp(argv[i], "--persons"))
            return cmd_eval_persons(argc, argv);
    static const struct option options[] = {{"data", required_argument, 0, 'd'}, {"usage", required_argument, 0, 'u'},
                                            {"weights", required_argument, 0, 'w'}, {"cnn", required_argument, 0, 'w'},
                                            {"json", no_argument, 0, 'j'},
                                            {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                            {"detect", no_argument, 0, 'D'}, {"detector", required_argument, 0, 'm'},
                                            {"crop-scale", required_argument, 0, 's'},
                                            {"crop-offset", required_argument, 0, 'y'},
                                            {"tta", no_argument, 0, 'T'}, {"ferplus", required_argument, 0, 'F'},
                                            {"clips", required_argument, 0, 'c'}, {"lstm", required_argument, 0, 'L'},
                                            {"no-temporal", no_argument, 0, 'N'},
                                            {"label-margin", required_argument, 0, 'M'},
                                            {"label-dwell", required_argument, 0, 'W'},
                                            {"lookahead", required_argument, 0, 'A'}, {0, 0, 0, 0}};
    const char *data = NULL, *usage_name = "PublicTest", *weights = NULL, *ferplus = NULL;
    int json = 0, threads = 0, detect = 0, no_face = 0, tta = 0, c;
    double crop_scale = ET_FACE_ALIGN_BOX_SCALE, crop_offset = 0.0;
    eval_clips_options clips = {0};
    clips.label_margin = ET_LABEL_MARGIN;
    clips.label_dwell = ET_LABEL_DWELL;
    clips.lookahead = ET_LOOKAHEAD_WINDOW;
    et_face_detector_options detector_options;
    et_face_detector_defaults(&detector_options);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'u': usage_name = optarg; break;
        case 'w': weights = optarg; break;
        case 'j': json = 1; break;
        case 'D': detect = 1; break;
        case 'T': tta = 1; break;
        case 'F': ferplus = optarg; break;
        case 'c': clips.dir = optarg; break;
        case 'L': clips.lstm_path = optarg; break;
        case 'N': clips.no_temporal = 1; break;
        case 'M':
            if (cli_parse_double("eval", "--label-margin", optarg, 0, 1, &clips.label_margin)) return EXIT_USAGE;
            clips.rule_given = 1;
            break;
        case 'W':
            if (cli_parse_double("eval", "--label-dwell", optarg, 0, 3600, &clips.label_dwell)) return EXIT_USAGE;
            clips.rule_given = 1;
            break;
        case 'A':
            if (cli_parse_double("eval", "--lookahead", optarg, 0, 60, &clips.lookahead)) return EXIT_USAGE;
            clips.rule_given = 1;
            break;
        case 'm':
            if (!strcmp(optarg, "short")) detector_options.model = ET_FACE_MODEL_SHORT;
            else if (!strcmp(optarg, "full")) detector_options.model = ET_FACE_MODEL_FULL;
            else return cli_usage_error("eval", "--detector must be short or full");
            break;
        case 's': if (cli_parse_double("eval", "--crop-scale", optarg, 0.5, 4, &crop_scale)) return EXIT_USAGE; break;
        case 'y': if (cli_parse_double("eval", "--crop-offset", optarg, -1, 1, &crop_offset)) return EXIT_USAGE; break;
        case 't': if (cli_parse_int("eval", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("eval", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!data == !clips.dir)
        return cli_usage_error("eval", "one of --data and --clips is required");
    if (clips.dir && (detect || ferplus))
        return cli_usage_error("eval", "--clips takes no --detect or --ferplus");
    if (!clips.dir && (clips.lstm_path || clips.no_temporal || clips.rule_given))
        return cli_usage_error("eval", "--lstm, --no-temporal, --label-margin, --label-dwell and --lookahead go with --clips");
    if (threads > 0)
        openblas_set_num_threads(threads);
    char weights_path[1024];
    if (!weights) {
        if (et_weights_find("emotion-cnn.safetensors", weights_path, sizeof weights_path) != ET_OK) {
            fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
            return EXIT_SOME_FAILED;
        }
        weights = weights_path;
    }
    if (clips.dir) {
        clips.cnn_path = weights;
        clips.detector = detector_options;
        clips.box_scale = crop_scale;
        clips.offset_y = crop_offset;
        clips.tta = tta;
        clips.json = json;
        return eval_clips(&clips);
    }
    size_t len = strlen(data);
    int is_csv = (len > 4 && !strcmp(data + len - 4, ".csv")) || (len > 7 && !strcmp(data + len - 7, ".csv.gz"));
    if (is_csv && detect)
        return cli_usage_error("eval", "--detect needs photos (an image folder), not FER2013 crops");
    if (!is_csv && ferplus)
        return cli_usage_error("eval", "--ferplus scores FER2013 CSV rows, not an image folder");
    et_face_dataset ds;
    et_photo_face photo = {0};
    et_face_align_options align;
    et_face_align_defaults(&align);
    align.box_scale = (float)crop_scale;
    align.offset_y = (float)crop_offset;
    int rc = ET_OK;
    if (detect)
        rc = et_photo_face_load(&photo, NULL, &detector_options, &align);
    if (rc == ET_OK)
        rc = is_csv ? et_fer2013_load(&ds, data, strcmp(usage_name, "all") ? usage_name : NULL, 0)
                    : et_image_folder_load_faces(&ds, data, detect ? et_photo_face_crop : NULL, &photo, &no_face);
    et_photo_face_free(&photo);
    if (rc != ET_OK) {
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
        return EXIT_SOME_FAILED;
    }
    et_emotion_classifier classifier;
    int *predicted = malloc(((size_t)ds.count + 1) * sizeof *predicted);
    if (!predicted || et_emotion_classifier_load(&classifier, weights) != ET_OK) {
        fprintf(stderr, "emotrace: eval: %s\n", predicted ? et_error_message() : "out of memory");
        free(predicted);
        et_face_dataset_free(&ds);
        return EXIT_SOME_FAILED;
    }
    classifier.flip_tta = tta;
    et_metrics m;
    et_metrics_init(&m);
    const int batch = 64;
    float probabilities[64 * ET_EMOTIONS];
    for (int start = 0; start < ds.count && rc == ET_OK; start += batch) {
        int n = ds.count - start < batch ? ds.count - start : batch;
        rc = et_emotion_classifier_run(&classifier, ds.pixels + (size_t)start * ET_FACE_SIZE * ET_FACE_SIZE, n,
                                       probabilities, NULL);
        for (int i = 0; rc == ET_OK && i < n; i++) {
            predicted[start + i] = et_argmax(probabilities + (size_t)i * ET_EMOTIONS, ET_EMOTIONS);
            et_metrics_add(&m, ds.labels[start + i], predicted[start + i]);
        }
    }
    et_metrics_finish(&m);
    ferplus_score fp;
    if (rc == ET_OK && ferplus)
        rc = ferplus_score_rows(&fp, ferplus, &ds, predicted);
    if (rc != ET_OK)
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
    else if (json)
        print_json(&m, weights, data, detect, no_face, tta, ferplus ? &fp : NULL);
    else
        print_text(&m, detect, no_face, ferplus ? &fp : NULL);
    free(predicted);
    et_emotion_classifier_free(&classifier);
    et_face_dataset_free(&ds);
    return rc == ET_OK ? EXIT_OK : EXIT_SOME_FAILED;
}
