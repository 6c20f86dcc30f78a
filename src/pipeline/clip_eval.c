/* Summarising what the analyzer reported along a clip's main track. */
#include "emotrace/clip_eval.h"

#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/emotion_scores.h"

int et_clip_label_from_name(const char *path)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    const char *dot = strrchr(name, '.'), *end = dot ? dot : name + strlen(name);
    const char *word = NULL;
    for (const char *p = name; p < end; p++)
        if (*p == '_')
            word = p + 1;
    char buffer[32];
    if (!word || end - word >= (long)sizeof buffer)
        return -1;
    memcpy(buffer, word, (size_t)(end - word));
    buffer[end - word] = '\0';
    return et_emotion_from_name(buffer);
}

int et_clip_record_on_frame(const et_frame_result *r, void *ctx)
{
    et_clip_record *record = ctx;
    if (record->count + r->count > record->capacity) {
        int capacity = record->capacity ? record->capacity : 1024;
        while (capacity < record->count + r->count)
            capacity *= 2;
        et_clip_observation *items = realloc(record->items, (size_t)capacity * sizeof *items);
        if (!items)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory for the clip's observations", r->media->path);
        record->items = items;
        record->capacity = capacity;
    }
    for (int i = 0; i < r->count; i++) {
        const et_observation *o = &r->observations[i];
        et_clip_observation *c = &record->items[record->count++];
        c->track = o->track;
        c->emotion = o->emotion;
        c->t = o->t;
        for (int k = 0; k < ET_EMOTIONS; k++)
            c->prob[k] = (float)o->prob[k];
    }
    return ET_OK;
}

void et_clip_record_free(et_clip_record *r)
{
    if (!r)
        return;
    free(r->items);
    memset(r, 0, sizeof *r);
}

/* The track with the most observations (the lowest number on a tie); -1
 * without observations, -2 out of memory. */
static int main_track(const et_clip_record *r)
{
    int top = 0, best = -1;
    for (int i = 0; i < r->count; i++)
        top = r->items[i].track > top ? r->items[i].track : top;
    long *counts = calloc((size_t)top + 1, sizeof *counts);
    if (!counts)
        return -2;
    for (int i = 0; i < r->count; i++)
        if (r->items[i].track >= 0)
            counts[r->items[i].track]++;
    for (int track = 0; track <= top; track++)
        if (counts[track] && (best < 0 || counts[track] > counts[best]))
            best = track;
    free(counts);
    return best;
}

int et_clip_summarize(const et_clip_record *r, int label, et_clip_summary *s)
{
    memset(s, 0, sizeof *s);
    s->label = label;
    s->mean_label = -1;
    if ((s->main_track = main_track(r)) == -2)
        return et_error_set(ET_ERR_NOMEM, "clip summary: out of memory");
    const et_clip_observation *previous = NULL;
    double first_t = 0.0;
    for (int i = 0; i < r->count; i++) {
        const et_clip_observation *o = &r->items[i];
        if (o->track != s->main_track)
            continue;
        if (!previous)
            first_t = o->t;
        else if (o->emotion != previous->emotion)
            s->changes++;
        s->seconds = o->t - first_t;
        s->frames++;
        s->frames_right += o->emotion == label;
        if (o->emotion >= 0 && o->emotion < ET_EMOTIONS)
            s->per_emotion[o->emotion]++;
        for (int k = 0; k < ET_EMOTIONS; k++)
            s->mean_prob[k] += o->prob[k];
        previous = o;
    }
    if (!s->frames)
        return ET_OK;
    float mean[ET_EMOTIONS];
    for (int k = 0; k < ET_EMOTIONS; k++)
        mean[k] = (float)(s->mean_prob[k] /= (double)s->frames);
    s->mean_label = et_argmax(mean, ET_EMOTIONS);
    return ET_OK;
}
