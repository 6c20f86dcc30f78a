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

void et_face_dataset_free(et_face_dataset *ds)
{
    free(ds->pixels);
    free(ds->labels);
    free(ds->rows);
    free(ds->soft);
    memset(ds, 0, sizeof *ds);
}
