/* FER+ votes (fer2013new.csv: Usage,Image name,neutral,happiness,surprise,
 * sadness,anger,disgust,fear,contempt,unknown,NF), row-aligned with the
 * FER2013 CSV, turned into soft targets over the FER2013 classes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_dataset.h"

/* FER+ vote columns 0..6 (after Usage and name) in FER2013 label order. */
static const int ferplus_to_fer[7] = {6, 3, 5, 4, 0, 1, 2};

int et_ferplus_attach(et_face_dataset *ds, const char *path, float weight)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int max_row = 0;
    for (int i = 0; i < ds->count; i++)
        if (ds->rows[i] > max_row)
            max_row = ds->rows[i];
    float *votes = calloc((size_t)(max_row + 1) * ET_EMOTIONS, sizeof(float));
    char *have = calloc((size_t)max_row + 1, 1);
    char line[1024];
    int row = -1, rc = ET_OK;
    if (!votes || !have) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    while (fgets(line, sizeof line, f)) {
        if (row++ < 0) {
            if (!strstr(line, "neutral")) {
                rc = et_error_set(ET_ERR_FORMAT, "%s: header does not name the FER+ vote columns", path);
                goto done;
            }
            continue;
        }
        if (row > max_row)
            break;
        /* Skip Usage and Image name, then read 10 vote counts. */
        char *p = strchr(line, ',');
        p = p ? strchr(p + 1, ',') : NULL;
        int v[10], got = 0;
        while (p && got < 10) {
            v[got++] = atoi(p + 1);
            p = strchr(p + 1, ',');
        }
        if (got < 10) {
            rc = et_error_set(ET_ERR_FORMAT, "%s: line %d has fewer than 10 vote columns", path, row + 2);
            goto done;
        }
        int total = 0;
        for (int k = 0; k < 7; k++)
            total += v[k];
        /* Rows whose votes are mostly contempt/unknown/not-a-face keep the
         * FER2013 label. */
        if (total < 1 || total < v[7] + v[8] + v[9])
            continue;
        for (int k = 0; k < 7; k++)
            votes[(size_t)row * ET_EMOTIONS + ferplus_to_fer[k]] = (float)v[k] / (float)total;
        have[row] = 1;
    }
    ds->soft = malloc((size_t)ds->count * ET_EMOTIONS * sizeof(float));
    if (!ds->soft) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < ds->count; i++) {
        float *t = ds->soft + (size_t)i * ET_EMOTIONS;
        int row = ds->rows[i] >= 0 ? ds->rows[i] : 0;
        const float *v = votes + (size_t)row * ET_EMOTIONS;
        /* no usable vote, or no CSV row at all: the label alone */
        const float w = ds->rows[i] >= 0 && have[row] ? weight : 0.0f;
        for (int k = 0; k < ET_EMOTIONS; k++)
            t[k] = w * v[k] + (k == ds->labels[i] ? 1.0f - w : 0.0f);
    }
done:
    free(votes);
    free(have);
    fclose(f);
    return rc;
}
