/* FER+ votes (fer2013new.csv: Usage,Image name,neutral,happiness,surprise,
 * sadness,anger,disgust,fear,contempt,unknown,NF), row-aligned with the
 * FER2013 CSV: read as counts, turned into soft targets over the FER2013
 * classes or into a majority label. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/face_dataset.h"

/* FER+ vote columns 0..6 (after Usage and name) in FER2013 label order. */
static const int ferplus_to_fer[7] = {6, 3, 5, 4, 0, 1, 2};

int et_ferplus_read_votes(const char *path, int rows, int *votes)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    memset(votes, 0, (size_t)rows * ET_FERPLUS_COLUMNS * sizeof *votes);
    char line[1024];
    int row = -1, rc = ET_OK;
    while (row + 1 < rows && fgets(line, sizeof line, f)) {
        if (row++ < 0) {
            if (!strstr(line, "neutral")) {
                rc = et_error_set(ET_ERR_FORMAT, "%s: header does not name the FER+ vote columns", path);
                break;
            }
            continue;
        }
        /* Skip Usage and Image name, then read 10 vote counts. */
        char *p = strchr(line, ',');
        p = p ? strchr(p + 1, ',') : NULL;
        int got = 0;
        while (p && got < ET_FERPLUS_COLUMNS) {
            votes[(size_t)row * ET_FERPLUS_COLUMNS + got++] = atoi(p + 1);
            p = strchr(p + 1, ',');
        }
        if (got < ET_FERPLUS_COLUMNS) {
            rc = et_error_set(ET_ERR_FORMAT, "%s: line %d has fewer than 10 vote columns", path, row + 2);
            break;
        }
    }
    if (rc == ET_OK && ferror(f))
        rc = et_error_set(ET_ERR_IO, "%s: read error", path);
    fclose(f);
    return rc;
}

int et_ferplus_majority(const int votes[ET_FERPLUS_COLUMNS])
{
    int best = 0;
    for (int k = 1; k < ET_FERPLUS_COLUMNS; k++)
        if (votes[k] > votes[best])
            best = k;
    for (int k = 0; k < ET_FERPLUS_COLUMNS; k++)
        if (k != best && votes[k] == votes[best])
            return -1; /* tied: no majority */
    return best < 7 && votes[best] > 0 ? ferplus_to_fer[best] : -1;
}

int et_ferplus_attach(et_face_dataset *ds, const char *path, float weight)
{
    int rows = 0;
    for (int i = 0; i < ds->count; i++)
        if (ds->rows[i] + 1 > rows)
            rows = ds->rows[i] + 1;
    int *votes = malloc(((size_t)rows + 1) * ET_FERPLUS_COLUMNS * sizeof *votes);
    ds->soft = malloc(((size_t)ds->count + 1) * ET_EMOTIONS * sizeof(float));
    if (!votes || !ds->soft) {
        free(votes);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    int rc = et_ferplus_read_votes(path, rows, votes);
    for (int i = 0; rc == ET_OK && i < ds->count; i++) {
        const int *v = votes + (size_t)(ds->rows[i] >= 0 ? ds->rows[i] : 0) * ET_FERPLUS_COLUMNS;
        float *t = ds->soft + (size_t)i * ET_EMOTIONS;
        int total = 0;
        for (int k = 0; k < 7; k++)
            total += v[k];
        /* Rows whose votes are mostly contempt/unknown/not-a-face (or that
         * have none), and samples without a CSV row (photos), keep the
         * label alone. */
        const float w = ds->rows[i] >= 0 && total >= 1 && total >= v[7] + v[8] + v[9] ? weight : 0.0f;
        for (int k = 0; k < ET_EMOTIONS; k++)
            t[k] = k == ds->labels[i] ? 1.0f - w : 0.0f;
        for (int k = 0; k < 7 && w > 0.0f; k++)
            t[ferplus_to_fer[k]] += w * ((float)v[k] / (float)total);
    }
    free(votes);
    return rc;
}
