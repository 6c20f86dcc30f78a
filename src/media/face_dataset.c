/* Storage of a face dataset, shared by the FER2013 and image-folder readers. */
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_dataset.h"

#define FACE_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)

int et_face_dataset_grow(et_face_dataset *ds, int *capacity)
{
    if (ds->count < *capacity)
        return ET_OK;
    int cap = *capacity ? *capacity * 2 : 1024;
    uint8_t *pixels = realloc(ds->pixels, (size_t)cap * FACE_PIXELS);
    if (pixels)
        ds->pixels = pixels;
    int *labels = realloc(ds->labels, (size_t)cap * sizeof(int));
    if (labels)
        ds->labels = labels;
    int *rows = realloc(ds->rows, (size_t)cap * sizeof(int));
    if (rows)
        ds->rows = rows;
    if (!pixels || !labels || !rows)
        return et_error_set(ET_ERR_NOMEM, "out of memory for %d face images", cap);
    *capacity = cap;
    return ET_OK;
}

int et_face_dataset_append(et_face_dataset *ds, const et_face_dataset *more, int repeat)
{
    if (more->count == 0 || repeat < 1)
        return ET_OK;
    size_t total = (size_t)ds->count + (size_t)more->count * (size_t)repeat;
    if (total > 1000000000)
        return et_error_set(ET_ERR, "face dataset of %zu images is too large", total);
    uint8_t *pixels = realloc(ds->pixels, total * FACE_PIXELS);
    if (pixels)
        ds->pixels = pixels;
    int *labels = realloc(ds->labels, total * sizeof(int));
    if (labels)
        ds->labels = labels;
    int *rows = realloc(ds->rows, total * sizeof(int));
    if (rows)
        ds->rows = rows;
    float *soft = ds->soft ? realloc(ds->soft, total * ET_EMOTIONS * sizeof(float)) : NULL;
    if (soft)
        ds->soft = soft;
    if (!pixels || !labels || !rows || (ds->soft && !soft))
        return et_error_set(ET_ERR_NOMEM, "out of memory for %zu face images", total);
    for (int r = 0; r < repeat; r++)
        for (int i = 0; i < more->count; i++) {
            int k = ds->count++;
            memcpy(ds->pixels + (size_t)k * FACE_PIXELS, more->pixels + (size_t)i * FACE_PIXELS, FACE_PIXELS);
            ds->labels[k] = more->labels[i];
            ds->rows[k] = -1; /* no row of the source CSV */
            if (ds->soft) {
                float *t = ds->soft + (size_t)k * ET_EMOTIONS;
                if (more->soft)
                    memcpy(t, more->soft + (size_t)i * ET_EMOTIONS, ET_EMOTIONS * sizeof(float));
                else
                    for (int c = 0; c < ET_EMOTIONS; c++)
                        t[c] = c == more->labels[i] ? 1.0f : 0.0f;
            }
        }
    return ET_OK;
}

void et_face_dataset_free(et_face_dataset *ds)
{
    if (!ds)
        return;
    free(ds->pixels);
    free(ds->labels);
    free(ds->rows);
    free(ds->soft);
    memset(ds, 0, sizeof *ds);
}
