#include "emotrace/persons.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"

float et_face_id_geometry(const et_face *face)
{
    const float *re = face->keypoints[ET_FACE_RIGHT_EYE], *le = face->keypoints[ET_FACE_LEFT_EYE];
    const float *nose = face->keypoints[ET_FACE_NOSE_TIP];
    float ex = le[0] - re[0], ey = le[1] - re[1], eyes = sqrtf(ex * ex + ey * ey);
    if (eyes < 1e-3f)
        return 0;
    /* Where the nose tip falls along the eye line: 0.5 (midway) when the
     * face looks at the camera, towards 0 or 1 as it turns. */
    float along = ((nose[0] - re[0]) * ex + (nose[1] - re[1]) * ey) / (eyes * eyes);
    float frontal = 1.0f - 2.0f * fabsf(along - 0.5f);
    float side = face->x1 - face->x0;
    float size = side >= ET_FACE_CHIP_SIZE ? 1.0f : side / ET_FACE_CHIP_SIZE;
    return frontal > 0 && size > 0 ? frontal * size : 0;
}

/* Mean squared Laplacian of an n x n image whose pixels are step bytes
 * apart (the channel read is the one px points at), squashed to 0..1. */
static float laplacian_sharpness(const uint8_t *px, int n, int step)
{
    double sum = 0;
    for (int y = 1; y < n - 1; y++)
        for (int x = 1; x < n - 1; x++) {
            const uint8_t *p = px + ((size_t)y * n + x) * step;
            int lap = 4 * p[0] - p[-step] - p[step] - p[-step * n] - p[step * n];
            sum += (double)lap * lap;
        }
    double energy = sum / ((double)(n - 2) * (n - 2));
    /* A sharp 150-pixel face has an energy of several hundred; an
     * upscaled 30-pixel one a few tens. */
    return (float)(energy / (energy + 100.0));
}

float et_face_chip_sharpness(const uint8_t *chip)
{
    return laplacian_sharpness(chip + 1, ET_FACE_CHIP_SIZE, 3);
}

float et_face_gray_sharpness(const uint8_t *gray, int size)
{
    return size >= 3 ? laplacian_sharpness(gray, size, 1) : 0;
}

/* Index of the worst kept chip (count < ET_PERSON_CHIPS: a free slot). */
static int worst_slot(const et_person_chips *c)
{
    if (c->count < ET_PERSON_CHIPS)
        return c->count;
    int worst = 0;
    for (int i = 1; i < c->count; i++)
        if (c->quality[i] < c->quality[worst])
            worst = i;
    return worst;
}

int et_person_chips_wants(const et_person_chips *c, float geometry)
{
    /* Sharpness is at most 1, so a face whose geometry alone does not beat
     * the worst kept quality cannot enter. */
    return geometry > 0 && (c->count < ET_PERSON_CHIPS || geometry > c->quality[worst_slot(c)]);
}

int et_person_chips_beats(const et_person_chips *c, float quality)
{
    return quality > 0 && (c->count < ET_PERSON_CHIPS || quality > c->quality[worst_slot(c)]);
}

void et_person_chips_offer(et_person_chips *c, const uint8_t *chip, float geometry)
{
    et_person_chips_keep(c, chip, geometry * et_face_chip_sharpness(chip));
}

void et_person_chips_keep(et_person_chips *c, const uint8_t *chip, float quality)
{
    int slot = worst_slot(c);
    if (slot < c->count && quality <= c->quality[slot])
        return;
    memcpy(c->chips[slot], chip, sizeof c->chips[slot]);
    c->quality[slot] = quality;
    if (slot == c->count)
        c->count++;
}

int et_person_track_embed(et_person_track *t, et_face_embedder *e, const et_person_chips *c)
{
    t->has_descriptor = 0;
    if (c->count == 0)
        return ET_OK;
    float d[ET_PERSON_CHIPS][ET_FACE_EMBED_DIM];
    int rc = et_face_embed(e, c->chips[0], c->count, d[0]);
    if (rc != ET_OK)
        return rc;
    for (int k = 0; k < ET_FACE_EMBED_DIM; k++) {
        float sum = 0;
        for (int i = 0; i < c->count; i++)
            sum += d[i][k];
        t->descriptor[k] = sum / c->count;
    }
    t->has_descriptor = 1;
    return ET_OK;
}

static int overlaps(const et_person_track *a, const et_person_track *b)
{
    return a->first_t <= b->last_t && b->first_t <= a->last_t;
}

/* order[] = track indices by first appearance (stable; insertion sort:
 * a recording has tens of tracks, and qsort would need a global). */
static void order_by_first_t(const et_person_track *tracks, int count, int *order)
{
    for (int i = 0; i < count; i++) {
        int k = i;
        while (k > 0 && tracks[order[k - 1]].first_t > tracks[i].first_t) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
}

int et_persons_link(const et_person_track *tracks, int count, float threshold, int *person)
{
    if (count < 1)
        return 0;
    int *order = malloc((size_t)count * sizeof *order);
    if (!order)
        return et_error_set(ET_ERR_NOMEM, "persons: out of memory");
    order_by_first_t(tracks, count, order);
    int persons = 0;
    for (int oi = 0; oi < count; oi++) {
        int i = order[oi], best = 0;
        float best_distance = threshold;
        /* Persons that share screen time with track i are ruled out. */
        for (int p = 1; tracks[i].has_descriptor && p <= persons; p++) {
            float nearest = INFINITY;
            int clash = 0;
            for (int oj = 0; oj < oi && !clash; oj++) {
                int j = order[oj];
                if (person[j] != p)
                    continue;
                clash = overlaps(&tracks[i], &tracks[j]);
                if (tracks[j].has_descriptor) {
                    float d = et_face_embed_distance(tracks[i].descriptor, tracks[j].descriptor);
                    nearest = d < nearest ? d : nearest;
                }
            }
            if (!clash && nearest < best_distance) {
                best_distance = nearest;
                best = p;
            }
        }
        person[i] = best ? best : ++persons;
    }
    free(order);
    return persons;
}
