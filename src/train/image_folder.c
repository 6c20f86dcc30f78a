/* Image-folder datasets: DIR/<emotion>/<image>, the layout `emotrace
 * extract` produces once crops are sorted into emotion folders. Images are
 * read as gray, centre-cropped to a square and resized to 48x48. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "emotrace/error.h"
#include "emotrace/face_dataset.h"
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

static int add_image(et_face_dataset *ds, int *capacity, const char *path, int label)
{
    int w, h, n;
    /* stbi_info first so that a hostile header cannot make us allocate. */
    if (!stbi_info(path, &w, &h, &n))
        return et_error_set(ET_ERR_FORMAT, "%s: not a readable image (%s)", path, stbi_failure_reason());
    if ((long)w * h > 64L * 1024 * 1024)
        return et_error_set(ET_ERR_FORMAT, "%s: image too large (%dx%d)", path, w, h);
    uint8_t *gray = stbi_load(path, &w, &h, &n, 1);
    if (!gray)
        return et_error_set(ET_ERR_FORMAT, "%s: cannot decode image (%s)", path, stbi_failure_reason());
    if (et_face_dataset_grow(ds, capacity) != ET_OK) {
        stbi_image_free(gray);
        return et_error_wrap(ET_ERR_NOMEM, "%s: ", path);
    }
    int side = w < h ? w : h;
    const uint8_t *square = gray + (size_t)((h - side) / 2) * w + (w - side) / 2;
    et_gray_resize(square, side, side, w, ds->pixels + (size_t)ds->count * FACE_PIXELS, ET_FACE_SIZE, ET_FACE_SIZE);
    ds->labels[ds->count] = label;
    ds->rows[ds->count] = ds->count;
    ds->count++;
    stbi_image_free(gray);
    return ET_OK;
}

int et_image_folder_load(et_face_dataset *ds, const char *dir)
{
    memset(ds, 0, sizeof *ds);
    int capacity = 0, rc = ET_OK;
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
                rc = add_image(ds, &capacity, path, label);
            free(names[i]);
        }
        free(names);
    }
    if (rc == ET_OK && ds->count == 0)
        rc = et_error_set(ET_ERR_FORMAT, "%s: no images in %s/<emotion>/ folders (angry, disgust, fear, happy, sad, surprise, neutral)",
                          dir, dir);
    if (rc != ET_OK)
        et_face_dataset_free(ds);
    return rc;
}
