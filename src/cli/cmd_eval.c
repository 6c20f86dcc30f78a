/* emotrace eval: accuracy, per-class precision/recall/F1, macro-F1 and the
 * confusion matrix of the shipped (or given) classifier on a labelled set,
 * running exactly the preprocessing and network that analyze runs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"
#include "emotrace/face_dataset.h"
#include "emotrace/metrics.h"
#include "emotrace/photo_face.h"
#include "emotrace/weights_path.h"

static const char usage[] =
    "usage: emotrace eval --data FILE.csv[.gz]|DIR [OPTIONS]\n"
    "       emotrace eval --temporal [OPTIONS]   (see 'emotrace eval --temporal --help')\n"
    "       emotrace eval --persons --data DIR   (see 'emotrace eval --persons --help')\n"
    "\n"
    "Evaluates the emotion classifier on FER2013-style CSV rows (by Usage), on an\n"
    "image folder DIR/<emotion>/*.png|jpg, or on photos listed in DIR/labels.csv\n"
    "(image,emotion; images in DIR/images/ or DIR).\n"
    "\n"
    "  --data PATH       labelled data\n"
    "  --usage NAME      CSV rows to use (default PublicTest; 'all' for every row)\n"
    "  --detect          images are uncropped photos: find the largest face and\n"
    "                    align it as analyze does (images without a face are\n"
    "                    counted in no_face and accuracy_all)\n"
    "  --detector short|full  face detector for --detect (default short)\n"
    "  --crop-scale X    face crop side in detection box sides (default 1.1)\n"
    "  --crop-offset Y   crop centre moved down by Y box sides (default 0)\n"
    "  --weights FILE    classifier weights (default: the shipped emotion-cnn)\n"
    "  --tta             also classify each face mirrored and average the two, as\n"
    "                    analyze --tta does\n"
    "  --json            one JSON object instead of the text report\n"
    "  --threads N       OpenBLAS threads (default: all cores)\n";

/* With --detect, photos without a face count as wrong in accuracy_all. */
static double accuracy_all(const et_metrics *m, int no_face)
{
    return m->total + no_face ? m->accuracy * m->total / (double)(m->total + no_face) : 0.0;
}

static void print_text(const et_metrics *m, int detect, int no_face)
{
    printf("accuracy: %.4f\n", m->accuracy);
    printf("macro_f1: %.4f\n", m->macro_f1);
    printf("samples: %ld\n", m->total);
    if (detect)
        printf("no_face: %d\naccuracy_all: %.4f\n", no_face, accuracy_all(m, no_face));
    printf("\n");
    printf("%-10s %9s %9s %9s %7s\n", "class", "precision", "recall", "f1", "support");
    for (int k = 0; k < ET_EMOTIONS; k++) {
        long support = 0;
        for (int j = 0; j < ET_EMOTIONS; j++)
            support += m->confusion[k][j];
        printf("%-10s %9.4f %9.4f %9.4f %7ld\n", et_emotion_names[k], m->precision[k], m->recall[k], m->f1[k],
               support);
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

static void print_json(const et_metrics *m, const char *weights, const char *data, int detect, int no_face, int tta)
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
    et_strbuf_append(&b, "\"classes\":{", 11);
    for (int k = 0; k < ET_EMOTIONS; k++)
        et_strbuf_printf(&b, "%s\"%s\":{\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f}", k ? "," : "",
                         et_emotion_names[k], m->precision[k], m->recall[k], m->f1[k]);
    et_strbuf_append(&b, "},\"confusion\":[", 15);
    for (int k = 0; k < ET_EMOTIONS; k++) {
        et_strbuf_append(&b, k ? ",[" : "[", k ? 2 : 1);
        for (int j = 0; j < ET_EMOTIONS; j++)
            et_strbuf_printf(&b, "%s%ld", j ? "," : "", m->confusion[k][j]);
        et_strbuf_append(&b, "]", 1);
    }
    et_strbuf_append(&b, "]}", 2);
    if (!b.failed)
        printf("%s\n", b.data);
    et_strbuf_free(&b);
}

int cmd_eval(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--temporal"))
            return cmd_eval_temporal(argc, argv);
        else if (!strcmp(argv[i], "--persons"))
            return cmd_eval_persons(argc, argv);
    static const struct option options[] = {{"data", required_argument, 0, 'd'}, {"usage", required_argument, 0, 'u'},
                                            {"weights", required_argument, 0, 'w'}, {"json", no_argument, 0, 'j'},
                                            {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                            {"detect", no_argument, 0, 'D'}, {"detector", required_argument, 0, 'm'},
                                            {"crop-scale", required_argument, 0, 's'},
                                            {"crop-offset", required_argument, 0, 'y'},
                                            {"tta", no_argument, 0, 'T'}, {0, 0, 0, 0}};
    const char *data = NULL, *usage_name = "PublicTest", *weights = NULL;
    int json = 0, threads = 0, detect = 0, no_face = 0, tta = 0, c;
    double crop_scale = ET_FACE_ALIGN_BOX_SCALE, crop_offset = 0.0;
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
    if (!data)
        return cli_usage_error("eval", "--data is required");
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
    size_t len = strlen(data);
    int is_csv = (len > 4 && !strcmp(data + len - 4, ".csv")) || (len > 7 && !strcmp(data + len - 7, ".csv.gz"));
    if (is_csv && detect)
        return cli_usage_error("eval", "--detect needs photos (an image folder), not FER2013 crops");
    et_face_dataset ds;
    et_photo_face photo = {0};
    et_face_align_defaults(&photo.align);
    photo.align.box_scale = (float)crop_scale;
    photo.align.offset_y = (float)crop_offset;
    int rc = ET_OK;
    if (detect)
        rc = et_face_detector_open(&photo.detector, NULL, &detector_options);
    if (rc == ET_OK)
        rc = is_csv ? et_fer2013_load(&ds, data, strcmp(usage_name, "all") ? usage_name : NULL, 0)
                    : et_image_folder_load_faces(&ds, data, detect ? et_photo_face_crop : NULL, &photo, &no_face);
    et_face_detector_free(photo.detector);
    et_photo_face_free(&photo);
    if (rc != ET_OK) {
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
        return EXIT_SOME_FAILED;
    }
    et_emotion_classifier classifier;
    if (et_emotion_classifier_load(&classifier, weights) != ET_OK) {
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
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
        for (int i = 0; rc == ET_OK && i < n; i++)
            et_metrics_add(&m, ds.labels[start + i], et_argmax(probabilities + (size_t)i * ET_EMOTIONS, ET_EMOTIONS));
    }
    et_metrics_finish(&m);
    if (rc != ET_OK)
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
    else if (json)
        print_json(&m, weights, data, detect, no_face, tta);
    else
        print_text(&m, detect, no_face);
    et_emotion_classifier_free(&classifier);
    et_face_dataset_free(&ds);
    return rc == ET_OK ? EXIT_OK : EXIT_SOME_FAILED;
}
