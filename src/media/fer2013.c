/* FER2013 CSV reader (emotion,pixels,Usage), gzip-compressed or plain. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "emotrace/error.h"
#include "emotrace/face_dataset.h"

#define FER_PIXELS (ET_FACE_SIZE * ET_FACE_SIZE)
/* A row holds 2304 numbers of up to 3 digits plus separators. */
#define FER_LINE_MAX 16384

/* Parses "label,p0 p1 ... p2303,Usage" into the dataset's next slot. */
static int parse_row(char *line, uint8_t *pixels, int *label, char **usage)
{
    char *p = line;
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || *end != ',' || v < 0 || v >= ET_EMOTIONS)
        return 0;
    *label = (int)v;
    p = end + 1;
    if (*p == '"')
        p++;
    for (int i = 0; i < FER_PIXELS; i++) {
        v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 255)
            return 0;
        pixels[i] = (uint8_t)v;
        p = end;
        if (i < FER_PIXELS - 1) {
            if (*p != ' ')
                return 0;
            p++;
        }
    }
    if (*p == '"')
        p++;
    if (*p != ',')
        return 0;
    *usage = p + 1;
    size_t n = strcspn(*usage, "\r\n");
    (*usage)[n] = '\0';
    return 1;
}

int et_fer2013_load(et_face_dataset *ds, const char *path, const char *usage, int limit)
{
    memset(ds, 0, sizeof *ds);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    char *line = malloc(FER_LINE_MAX);
    int capacity = 0, row = -1, rc = ET_OK;
    if (!line) {
        gzclose(f);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    while (gzgets(f, line, FER_LINE_MAX)) {
        size_t len = strlen(line);
        if (len == FER_LINE_MAX - 1 && line[len - 1] != '\n') {
            rc = et_error_set(ET_ERR_FORMAT, "%s: line %d is too long for a FER2013 row", path, row + 2);
            break;
        }
        if (row++ < 0) {
            if (strncmp(line, "emotion,pixels", 14) != 0) {
                rc = et_error_set(ET_ERR_FORMAT, "%s: header is not 'emotion,pixels,Usage'", path);
                break;
            }
            continue;
        }
        if (ds->count == capacity && et_face_dataset_grow(ds, &capacity) != ET_OK) {
            rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory at row %d", path, row);
            break;
        }
        int label;
        char *row_usage;
        if (!parse_row(line, ds->pixels + (size_t)ds->count * FER_PIXELS, &label, &row_usage)) {
            rc = et_error_set(ET_ERR_FORMAT, "%s: line %d is not 'label,2304 pixels,Usage'", path, row + 1);
            break;
        }
        if (usage && strcmp(usage, row_usage) != 0)
            continue;
        ds->labels[ds->count] = label;
        ds->rows[ds->count] = row;
        ds->count++;
        if (limit > 0 && ds->count >= limit)
            break;
    }
    int errnum = 0;
    const char *zmsg = gzerror(f, &errnum);
    if (rc == ET_OK && errnum != Z_OK && errnum != Z_STREAM_END)
        rc = et_error_set(ET_ERR_FORMAT, "%s: %s", path, zmsg);
    gzclose(f);
    free(line);
    if (rc == ET_OK && ds->count == 0)
        rc = et_error_set(ET_ERR_FORMAT, "%s: no rows%s%s", path, usage ? " with Usage " : "", usage ? usage : "");
    if (rc != ET_OK)
        et_face_dataset_free(ds);
    return rc;
}
