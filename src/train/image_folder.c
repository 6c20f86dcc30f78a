/* Image-folder datasets: DIR/<emotion>/<image>, the layout `emotrace
 * extract` produces once crops are sorted into emotion folders, or a list
 * DIR/labels.csv. By default images are face crops already: read as gray,
 * centre-cropped to a square and resized to 48x48; a crop function can
 * find the face instead (uncropped photos). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>


#include "emotrace/error.h"
#include "emotrace/image_folder.h"
#include "emotrace/media_reader.h"
#include "emotrace/resize.h"

#define FACE_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)

static int has_image_extension(const char *name)
{
    static const char *const extensions[] = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".tga", ".gif"};
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
        if (!strcasecmp(dot, extensions[i]))
            return 1;
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Images that are already face crops: gray, centre square, resized.
 * Decoded as analyze decodes pictures (also WebP and other FFmpeg formats). */
static int crop_centre(void *ctx, const char *path, uint8_t *crop)
{
    (void)ctx;
    et_frame frame = {0};
    int rc = et_media_read_picture(path, &frame);
    if (rc != ET_OK)
        return rc;
    uint8_t *gray = malloc((size_t)frame.width * frame.height);
    if (!gray) {
        et_frame_free(&frame);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    et_frame_to_gray(&frame, gray, frame.width);
    int w = frame.width, h = frame.height, side = w < h ? w : h;
    const uint8_t *square = gray + (size_t)((h - side) / 2) * w + (w - side) / 2;
    et_gray_resize(square, side, side, w, crop, ET_FACE_SIZE, ET_FACE_SIZE);
    free(gray);
    et_frame_free(&frame);
    return 1;
}

typedef struct {
    et_face_dataset *ds;
    int capacity;
    et_face_crop_fn crop;
    void *crop_ctx;
    int *skipped;
} loader;

static int add_image(loader *l, const char *path, int label)
{
    et_face_dataset *ds = l->ds;
    if (et_face_dataset_grow(ds, &l->capacity) != ET_OK)
        return et_error_wrap(ET_ERR_NOMEM, "%s: ", path);
    int rc = l->crop(l->crop_ctx, path, ds->pixels + (size_t)ds->count * FACE_PIXELS);
    if (rc < 0)
        return rc;
    if (rc == 0) { /* no face: not a sample, but counted */
        if (l->skipped)
            (*l->skipped)++;
        return ET_OK;
    }
    ds->labels[ds->count] = label;
    ds->rows[ds->count] = ds->count;
    ds->count++;
    return ET_OK;
}

/* Splits line at commas in place (no quoting: image names hold no comma);
 * returns the number of fields, at most max. */
static int split_fields(char *line, char **fields, int max)
{
    int n = 0;
    for (char *p = line; n < max; p++) {
        fields[n++] = p;
        if (!(p = strchr(p, ',')))
            break;
        *p = '\0';
    }
    return n;
}

#define MAX_FIELDS 64

/* DIR/labels.csv names images relative to DIR/images/ if that folder
 * exists, else to DIR. Its header names the columns: "image" and "emotion"
 * (a name such as "happy") are read wherever they stand, others (subject,
 * ...) are ignored. */
static int load_label_list(loader *l, const char *dir, FILE *f, const char *list_path)
{
    char images[4096], line[8192];
    struct stat st;
    snprintf(images, sizeof images, "%s/images", dir);
    if (stat(images, &st) != 0 || !S_ISDIR(st.st_mode))
        snprintf(images, sizeof images, "%s", dir);
    int rc = ET_OK, image_column = -1, emotion_column = -1;
    long number = 0;
    while (rc == ET_OK && fgets(line, sizeof line, f)) {
        number++;
        line[strcspn(line, "\r\n")] = '\0';
        char *fields[MAX_FIELDS];
        int n = split_fields(line, fields, MAX_FIELDS);
        if (number == 1) {
            for (int i = 0; i < n; i++) {
                if (!strcasecmp(fields[i], "image"))
                    image_column = i;
                else if (!strcasecmp(fields[i], "emotion"))
                    emotion_column = i;
            }
            if (image_column < 0 || emotion_column < 0)
                return et_error_set(ET_ERR_FORMAT, "%s:1: the header must name the columns 'image' and 'emotion'",
                                    list_path);
            continue;
        }
        if (!line[0])
            continue;
        if (n <= image_column || n <= emotion_column)
            return et_error_set(ET_ERR_FORMAT, "%s:%ld: expected %d columns, found %d", list_path, number,
                                (image_column > emotion_column ? image_column : emotion_column) + 1, n);
        int label = et_emotion_from_name(fields[emotion_column]);
        if (label < 0)
            return et_error_set(ET_ERR_FORMAT, "%s:%ld: unknown emotion '%s'", list_path, number,
                                fields[emotion_column]);
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", images, fields[image_column]);
        rc = add_image(l, path, label);
    }
    if (rc == ET_OK && ferror(f))
        rc = et_error_set(ET_ERR_IO, "%s: read error", list_path);
    return rc;
}

int et_image_folder_load(et_face_dataset *ds, const char *dir)
{
    return et_image_folder_load_faces(ds, dir, NULL, NULL, NULL);
}

int et_image_folder_load_faces(et_face_dataset *ds, const char *dir, et_face_crop_fn crop, void *crop_ctx,
                               int *skipped)
{
    memset(ds, 0, sizeof *ds);
    loader l = {ds, 0, crop ? crop : crop_centre, crop_ctx, skipped};
    int rc = ET_OK;
    char list_path[4096];
    snprintf(list_path, sizeof list_path, "%s/labels.csv", dir);
    FILE *list = fopen(list_path, "r");
    if (list) {
        rc = load_label_list(&l, dir, list, list_path);
        fclose(list);
        goto done;
    }
    for (int label = 0; label < ET_EMOTIONS && rc == ET_OK; label++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", dir, et_emotion_names[label]);
        DIR *d = opendir(sub);
        if (!d) {
            if (errno == ENOENT)
                continue; /* a class may simply have no examples */
            rc = et_error_set(ET_ERR_IO, "%s: cannot read directory: %s", sub, strerror(errno));
            break;
        }
        char **names = NULL;
        size_t count = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !has_image_extension(e->d_name))
                continue;
            if (count == cap) {
                cap = cap ? cap * 2 : 64;
                char **grown = realloc(names, cap * sizeof *names);
                if (!grown) {
                    rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", sub);
                    break;
                }
                names = grown;
            }
            names[count] = strdup(e->d_name);
            if (!names[count]) {
                rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", sub);
                break;
            }
            count++;
        }
        closedir(d);
        /* Sorted so that a dataset is the same whatever the file system order
         * (an empty folder has no array: qsort must not see NULL). */
        if (count)
            qsort(names, count, sizeof *names, compare_strings);
        for (size_t i = 0; i < count; i++) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", sub, names[i]);
            if (rc == ET_OK)
                rc = add_image(&l, path, label);
            free(names[i]);
        }
        free(names);
    }
done:
    if (rc == ET_OK && ds->count == 0 && !(skipped && *skipped))
        rc = et_error_set(ET_ERR_FORMAT, "%s: no images in %s/<emotion>/ folders (angry, disgust, fear, happy, sad, surprise, neutral)",
                          dir, dir);
    if (rc != ET_OK)
        et_face_dataset_free(ds);
    return rc;
}
