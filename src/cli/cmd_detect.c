/* emotrace detect: one CSV row per detected face, for users and debugging. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"
#include "emotrace/error.h"
#include "emotrace/face_detector.h"
#include "emotrace/media_reader.h"

static const char usage[] =
    "usage: emotrace detect [OPTIONS] INPUT...\n"
    "\n"
    "Prints one CSV row per face per frame: path,frame,t,x,y,w,h,score and the\n"
    "x,y of the six keypoints (right eye, left eye, nose tip, mouth, right ear,\n"
    "left ear; right = the person's right). INPUT as for analyze ('-' reads paths).\n"
    "\n"
    "  -r, --recursive        descend into subdirectories\n"
    "      --image-fps N      frame rate of an image folder sequence (default 1)\n"
    "      --fps N            analyse at most N frames per second\n"
    "      --detector short|full   BlazeFace model (default short)\n"
    "      --detector-weights FILE\n"
    "      --min-face PX      ignore faces narrower than PX pixels\n"
    "      --max-faces N      keep at most N faces per frame\n"
    "      --min-score X      score threshold (default: the model's)\n"
    "      --threads N        threads for the network (default: all cores)\n";

/* RFC 4180: quote a field when it holds a separator, quote or line break. */
static void print_csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static int detect_item(et_face_detector *d, const et_media_item *item, double image_fps, double max_fps)
{
    et_media_reader reader;
    int rc = et_media_reader_open(&reader, item, image_fps, NULL);
    if (rc != ET_OK)
        return rc;
    et_frame frame = {0};
    et_face faces[256];
    double next_t = 0;
    int got;
    while ((got = et_media_reader_read(&reader, &frame)) > 0) {
        if (max_fps > 0) {
            if (frame.t < next_t - 1e-6)
                continue;
            next_t += 1.0 / max_fps;
            if (next_t < frame.t)
                next_t = frame.t + 1.0 / max_fps;
        }
        int n = et_face_detect_frame(d, &frame, faces, 256);
        if (n < 0) {
            got = n;
            break;
        }
        for (int i = 0; i < n && i < 256; i++) {
            const et_face *f = &faces[i];
            print_csv_field(item->kind == ET_MEDIA_IMAGE_SEQUENCE ? item->images[frame.index] : item->path);
            printf(",%lld,%.3f,%.1f,%.1f,%.1f,%.1f,%.4f", (long long)frame.index, frame.t, f->x0, f->y0,
                   f->x1 - f->x0, f->y1 - f->y0, f->score);
            for (int k = 0; k < ET_FACE_KEYPOINTS; k++)
                printf(",%.1f,%.1f", f->keypoints[k][0], f->keypoints[k][1]);
            putchar('\n');
        }
    }
    et_frame_free(&frame);
    et_media_reader_close(&reader);
    return got < 0 ? got : ET_OK;
}

int cmd_detect(int argc, char **argv)
{
    enum { O_IMAGE_FPS = 256, O_FPS, O_DETECTOR, O_WEIGHTS, O_MIN_FACE, O_MAX_FACES, O_MIN_SCORE, O_THREADS };
    static const struct option options[] = {
        {"recursive", no_argument, 0, 'r'}, {"image-fps", required_argument, 0, O_IMAGE_FPS},
        {"fps", required_argument, 0, O_FPS}, {"detector", required_argument, 0, O_DETECTOR},
        {"detector-weights", required_argument, 0, O_WEIGHTS}, {"min-face", required_argument, 0, O_MIN_FACE},
        {"max-faces", required_argument, 0, O_MAX_FACES}, {"min-score", required_argument, 0, O_MIN_SCORE},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    et_face_detector_options o;
    et_face_detector_defaults(&o);
    et_media_input_options input_options = {0};
    const char *weights = NULL;
    double image_fps = 1.0, max_fps = 0.0, x;
    int threads = 0, value, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "rh", options, NULL)) != -1) {
        switch (c) {
        case 'r': input_options.recursive = 1; break;
        case O_IMAGE_FPS: if (cli_parse_double("detect", "--image-fps", optarg, 1e-3, 1000, &image_fps)) return EXIT_USAGE; break;
        case O_FPS: if (cli_parse_double("detect", "--fps", optarg, 1e-3, 1000, &max_fps)) return EXIT_USAGE; break;
        case O_DETECTOR:
            if (!strcmp(optarg, "short")) o.model = ET_FACE_MODEL_SHORT;
            else if (!strcmp(optarg, "full")) o.model = ET_FACE_MODEL_FULL;
            else return cli_usage_error("detect", "--detector must be short or full");
            break;
        case O_WEIGHTS: weights = optarg; break;
        case O_MIN_FACE: if (cli_parse_int("detect", "--min-face", optarg, 0, 100000, &value)) return EXIT_USAGE; o.min_face_px = (float)value; break;
        case O_MAX_FACES: if (cli_parse_int("detect", "--max-faces", optarg, 1, 1000000, &o.max_faces)) return EXIT_USAGE; break;
        case O_MIN_SCORE: if (cli_parse_double("detect", "--min-score", optarg, 0.01, 1, &x)) return EXIT_USAGE; o.min_score = (float)x; break;
        case O_THREADS: if (cli_parse_int("detect", "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE; break;
        case 'h': printf("%s", usage); return EXIT_OK;
        default: return cli_usage_error("detect", "unknown option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("detect", "no input given");
    if (threads > 0)
        openblas_set_num_threads(threads);
    et_face_detector *d = NULL;
    if (et_face_detector_load(&d, weights, &o) != ET_OK) {
        fprintf(stderr, "emotrace: detect: %s\n", et_error_message());
        return EXIT_SOME_FAILED;
    }
    et_media_list list = {0};
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        int rc = !strcmp(argv[i], "-") ? et_media_list_add_stream(&list, stdin, &input_options)
                                       : et_media_list_add_path(&list, argv[i], &input_options);
        if (rc != ET_OK) {
            fprintf(stderr, "emotrace: detect: %s\n", et_error_message());
            failed++;
        }
    }
    printf("path,frame,t,x,y,w,h,score,right_eye_x,right_eye_y,left_eye_x,left_eye_y,nose_x,nose_y,"
           "mouth_x,mouth_y,right_ear_x,right_ear_y,left_ear_x,left_ear_y\n");
    for (size_t i = 0; i < list.count; i++)
        if (detect_item(d, &list.items[i], image_fps, max_fps) != ET_OK) {
            fprintf(stderr, "emotrace: detect: %s\n", et_error_message());
            failed++;
        }
    et_media_list_free(&list);
    et_face_detector_free(d);
    return failed ? EXIT_SOME_FAILED : EXIT_OK;
}
