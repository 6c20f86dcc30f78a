/* emotrace eval --persons: face verification accuracy of the shipped face
 * embedder on photos named after their person (LFW style, Name_0001.jpg),
 * through the path analyze takes: detector, largest face, chip, descriptor.
 * Every same-person pair counts, and as many different-person pairs drawn
 * at random (seeded), at the threshold analyze uses. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cblas.h>

#include "cli.h"
#include "emotrace/dir_list.h"
#include "emotrace/error.h"
#include "emotrace/face_embedder.h"
#include "emotrace/photo_face.h"
#include "emotrace/rng.h"

static const char usage[] =
    "usage: emotrace eval --persons --data DIR [OPTIONS]\n"
    "\n"
    "Measures face verification on the photos in DIR/images (or DIR) whose names\n"
    "give the person (Name_Surname_0001.jpg): every pair of photos of one person\n"
    "and as many pairs of different people (random, seeded) are compared at the\n"
    "distance threshold that analyze links tracks with. Photos without a face\n"
    "and names without a trailing _NUMBER are left out (counted).\n"
    "\n"
    "  --data DIR              the photos\n"
    "  --person-threshold X    same person below this descriptor distance\n"
    "                          (default 0.6, analyze's)\n"
    "  --seed N                seed for the different-person pairs (default 1)\n"
    "  --threads N             OpenBLAS threads (default: all cores)\n";

typedef struct {
    char **names;     /* person of each photo with a face */
    float *descriptors;
    float *face_width; /* detection box width, pixels */
    int count;
} photo_set;

/* The collection mixes 350-pixel LFW photos with 25-pixel thumbnails, so
 * the pairs are also counted over the faces at least as wide as the chip
 * (not upscaled into it). */
#define LARGE_FACE ET_FACE_CHIP_SIZE

/* The person in "dir/Name_Surname_0001.jpg": "Name_Surname", or NULL. */
static char *person_of(const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *dot = strrchr(base, '.'), *us = strrchr(base, '_');
    if (!dot || !us || us == base || us + 1 == dot)
        return NULL;
    for (const char *c = us + 1; c < dot; c++)
        if (*c < '0' || *c > '9')
            return NULL;
    return strndup(base, (size_t)(us - base));
}

static int embed_photos(const et_file_list *files, photo_set *set, int *no_face, int *unnamed)
{
    et_photo_face photo = {0};
    et_face_embedder *embedder = NULL;
    uint8_t *chip = malloc((size_t)ET_FACE_CHIP_SIZE * ET_FACE_CHIP_SIZE * 3);
    set->names = calloc(files->count, sizeof *set->names);
    set->descriptors = malloc(files->count * ET_FACE_EMBED_DIM * sizeof(float));
    set->face_width = malloc(files->count * sizeof(float));
    int rc = chip && set->names && set->descriptors && set->face_width ? ET_OK
                                                                        : et_error_set(ET_ERR_NOMEM, "out of memory");
    if (rc == ET_OK)
        rc = et_photo_face_load(&photo, NULL, NULL, NULL);
    if (rc == ET_OK)
        rc = et_face_embedder_load(&embedder, NULL);
    for (size_t i = 0; rc == ET_OK && i < files->count; i++) {
        char *name = person_of(files->paths[i]);
        if (!name) {
            ++*unnamed;
            continue;
        }
        et_face face;
        int found = et_photo_face_find(&photo, files->paths[i], &face);
        if (found == 1 && (rc = et_face_chip(photo.frame.rgb, photo.frame.width, photo.frame.height,
                                             photo.frame.stride, &face, chip)) == ET_OK)
            rc = et_face_embed(embedder, chip, 1, set->descriptors + (size_t)set->count * ET_FACE_EMBED_DIM);
        else if (found < 0)
            rc = found;
        if (found == 1 && rc == ET_OK) {
            set->face_width[set->count] = face.x1 - face.x0;
            set->names[set->count++] = name;
        }
        else {
            *no_face += found == 0;
            free(name);
        }
    }
    et_face_embedder_free(embedder);
    et_photo_face_free(&photo);
    free(chip);
    return rc;
}

typedef struct {
    long same, same_right, different, different_right;
} pair_counts;

static void count_pair(pair_counts *c, const photo_set *set, int i, int j, float threshold)
{
    float d = et_face_embed_distance(set->descriptors + (size_t)i * ET_FACE_EMBED_DIM,
                                     set->descriptors + (size_t)j * ET_FACE_EMBED_DIM);
    if (!strcmp(set->names[i], set->names[j])) {
        c->same++;
        c->same_right += d < threshold;
    } else {
        c->different++;
        c->different_right += d >= threshold;
    }
}

/* Over the photos whose face is at least min_width wide: every same-person
 * pair, then as many different-person pairs drawn at random. */
static int verify_pairs(const photo_set *set, float min_width, float threshold, uint64_t seed, pair_counts *c)
{
    memset(c, 0, sizeof *c);
    int *use = malloc((size_t)(set->count ? set->count : 1) * sizeof *use), n = 0;
    if (!use)
        return et_error_set(ET_ERR_NOMEM, "out of memory");
    for (int i = 0; i < set->count; i++)
        if (set->face_width[i] >= min_width)
            use[n++] = i;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (!strcmp(set->names[use[a]], set->names[use[b]]))
                count_pair(c, set, use[a], use[b], threshold);
    et_rng rng;
    et_rng_seed(&rng, seed);
    for (long tries = 0; n > 1 && c->different < c->same && tries < 1000 * (c->same + 1); tries++) {
        int i = use[et_rng_below(&rng, (uint32_t)n)], j = use[et_rng_below(&rng, (uint32_t)n)];
        if (strcmp(set->names[i], set->names[j]))
            count_pair(c, set, i, j, threshold);
    }
    free(use);
    return ET_OK;
}

static void print_pairs(const char *what, const pair_counts *p)
{
    printf("%s: same-person pairs %ld, right %.4f; different-person pairs %ld, right %.4f; accuracy %.4f\n", what,
           p->same, p->same ? (double)p->same_right / p->same : 0.0, p->different,
           p->different ? (double)p->different_right / p->different : 0.0,
           p->same + p->different ? (double)(p->same_right + p->different_right) / (double)(p->same + p->different)
                                  : 0.0);
}

/* DIR/images if it is a directory, else DIR. */
static const char *photo_dir(const char *data, char *buf, size_t size)
{
    struct stat st;
    snprintf(buf, size, "%s/images", data);
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : data;
}

int cmd_eval_persons(int argc, char **argv)
{
    static const struct option options[] = {{"persons", no_argument, 0, 'P'}, {"data", required_argument, 0, 'd'},
                                            {"person-threshold", required_argument, 0, 'p'},
                                            {"seed", required_argument, 0, 's'},
                                            {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};
    const char *data = NULL;
    double threshold = ET_FACE_EMBED_THRESHOLD;
    int threads = 0, seed = 1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'P': break;
        case 'd': data = optarg; break;
        case 'p': if (cli_parse_double("eval", "--person-threshold", optarg, 0.01, 4, &threshold)) return EXIT_USAGE; break;
        case 's': if (cli_parse_int("eval", "--seed", optarg, 0, 1 << 30, &seed)) return EXIT_USAGE; break;
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
    char dir[1024];
    et_file_list files = {0};
    photo_set set = {0};
    int no_face = 0, unnamed = 0;
    int rc = et_dir_list(photo_dir(data, dir, sizeof dir), 0, &files);
    if (rc == ET_OK)
        rc = embed_photos(&files, &set, &no_face, &unnamed);
    pair_counts p[2];
    if (rc == ET_OK) {
        rc = verify_pairs(&set, 0, (float)threshold, (uint64_t)seed, &p[0]);
        if (rc == ET_OK)
            rc = verify_pairs(&set, LARGE_FACE, (float)threshold, (uint64_t)seed, &p[1]);
    }
    if (rc == ET_OK) {
        int large = 0;
        for (int i = 0; i < set.count; i++)
            large += set.face_width[i] >= LARGE_FACE;
        printf("photos: %d with a face (%d of them at least %d px wide), %d without, %d not named after a person\n",
               set.count, large, LARGE_FACE, no_face, unnamed);
        printf("threshold: %.3f\n", threshold);
        print_pairs("all pairs", &p[0]);
        print_pairs("faces at least 150 px wide", &p[1]);
    } else
        fprintf(stderr, "emotrace: eval: %s\n", et_error_message());
    for (int i = 0; i < set.count; i++)
        free(set.names[i]);
    free(set.names);
    free(set.descriptors);
    free(set.face_width);
    et_file_list_free(&files);
    return rc == ET_OK ? EXIT_OK : EXIT_SOME_FAILED;
}
