#include "emotrace/teacher.h"

#include <stdlib.h>
#include <string.h>

#include "emotrace/emotion_classifier.h"
#include "emotrace/error.h"

int et_teacher_probabilities(const et_face_dataset *ds, const char *const *paths, int count, int flip,
                             float *out)
{
    enum { BATCH = 256 };
    float *p = malloc((size_t)BATCH * ET_EMOTIONS * sizeof(float));
    if (!p)
        return et_error_set(ET_ERR_NOMEM, "teacher: out of memory");
    memset(out, 0, (size_t)ds->count * ET_EMOTIONS * sizeof(float));
    int rc = ET_OK;
    for (int t = 0; t < count && rc == ET_OK; t++) {
        et_emotion_classifier c;
        if ((rc = et_emotion_classifier_load(&c, paths[t])) != ET_OK)
            break;
        c.flip_tta = flip;
        for (int start = 0; start < ds->count && rc == ET_OK; start += BATCH) {
            int n = ds->count - start < BATCH ? ds->count - start : BATCH;
            rc = et_emotion_classifier_run(&c, ds->pixels + (size_t)start * ET_FACE_SIZE * ET_FACE_SIZE, n, p, NULL);
            for (int i = 0; rc == ET_OK && i < n * ET_EMOTIONS; i++)
                out[(size_t)start * ET_EMOTIONS + i] += p[i] / (float)count;
        }
        et_emotion_classifier_free(&c);
    }
    free(p);
    return rc;
}

void et_teacher_metrics(const et_face_dataset *ds, const float *probabilities, et_metrics *m)
{
    et_metrics_init(m);
    for (int i = 0; i < ds->count; i++)
        et_metrics_add(m, ds->labels[i], et_argmax(probabilities + (size_t)i * ET_EMOTIONS, ET_EMOTIONS));
    et_metrics_finish(m);
}

int et_teacher_attach(et_face_dataset *ds, const float *probabilities, float weight)
{
    if (!ds->soft) {
        ds->soft = calloc((size_t)ds->count * ET_EMOTIONS, sizeof(float));
        if (!ds->soft)
            return et_error_set(ET_ERR_NOMEM, "teacher: out of memory");
        for (int i = 0; i < ds->count; i++)
            ds->soft[(size_t)i * ET_EMOTIONS + ds->labels[i]] = 1.0f;
    }
    for (size_t i = 0; i < (size_t)ds->count * ET_EMOTIONS; i++)
        ds->soft[i] = weight * probabilities[i] + (1.0f - weight) * ds->soft[i];
    return ET_OK;
}
