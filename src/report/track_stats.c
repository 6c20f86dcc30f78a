/* Per-track time accounting: how long each face was on screen and how long
 * it carried each label, with the same rule as the README's SQL query, so
 * `emotrace summary` and the query give the same seconds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/results.h"

double et_result_media_step(const et_result_media *m)
{
    double step = 0;
    for (size_t i = 1; i < m->count; i++) {
        double dt = m->obs[i].t - m->obs[i - 1].t;
        if (m->obs[i].track == m->obs[i - 1].track && dt > 0 && (step == 0 || dt < step))
            step = dt;
    }
    if (step == 0 && m->fps > 0)
        step = 1.0 / m->fps;
    return step;
}

static void track_finish(et_track_stats *s, const et_observation *obs, double step)
{
    s->first_t = obs[s->first].t;
    s->last_t = obs[s->first + s->count - 1].t;
    for (int k = 0; k < ET_EMOTIONS; k++)
        s->peak[k].p = -1;
    for (size_t i = s->first; i < s->first + s->count; i++) {
        const et_observation *o = &obs[i];
        double dt = i + 1 < s->first + s->count ? obs[i + 1].t - o->t : step;
        if (dt > 2 * step)
            dt = 2 * step;
        s->on_screen += dt;
        if (o->emotion >= 0 && o->emotion < ET_EMOTIONS)
            s->seconds[o->emotion] += dt;
        for (int k = 0; k < ET_EMOTIONS; k++) {
            s->mean[k] += o->prob[k];
            if (o->prob[k] > s->peak[k].p) {
                s->peak[k].p = o->prob[k];
                s->peak[k].t = o->t;
            }
        }
    }
    s->dominant = 0;
    for (int k = 0; k < ET_EMOTIONS; k++) {
        s->mean[k] /= (double)s->count;
        s->share[k] = s->on_screen > 0 ? s->seconds[k] / s->on_screen : 0;
    }
    for (int k = 1; k < ET_EMOTIONS; k++)
        if (s->seconds[k] > s->seconds[s->dominant] ||
            (s->seconds[k] == s->seconds[s->dominant] && s->mean[k] > s->mean[s->dominant]))
            s->dominant = k;
}

int et_track_stats_compute(const et_result_media *m, et_track_stats **out, int *count)
{
    *out = NULL;
    *count = 0;
    if (m->count == 0)
        return ET_OK;
    int tracks = 1;
    for (size_t i = 1; i < m->count; i++)
        tracks += m->obs[i].track != m->obs[i - 1].track;
    et_track_stats *stats = calloc((size_t)tracks, sizeof *stats);
    if (!stats)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory for %d tracks", m->path, tracks);
    double step = et_result_media_step(m);
    int n = 0;
    for (size_t i = 0; i < m->count; i++) {
        if (i == 0 || m->obs[i].track != m->obs[i - 1].track) {
            stats[n].track = m->obs[i].track;
            stats[n].person = m->obs[i].person;
            stats[n].first = i;
            n++;
        }
        stats[n - 1].count++;
    }
    for (int j = 0; j < n; j++)
        track_finish(&stats[j], m->obs, step);
    *out = stats;
    *count = n;
    return ET_OK;
}

static void dominant_of(double *seconds, const double *mean, int *dominant)
{
    *dominant = 0;
    for (int k = 1; k < ET_EMOTIONS; k++)
        if (seconds[k] > seconds[*dominant] || (seconds[k] == seconds[*dominant] && mean[k] > mean[*dominant]))
            *dominant = k;
}

static void person_add_track(et_person_stats *p, const et_track_stats *t, int index)
{
    if (p->tracks == 0) {
        p->person = t->person;
        p->first_track = index;
        p->first_t = t->first_t;
        p->last_t = t->last_t;
        for (int k = 0; k < ET_EMOTIONS; k++)
            p->peak[k].p = -1;
    }
    p->tracks++;
    p->first_t = t->first_t < p->first_t ? t->first_t : p->first_t;
    p->last_t = t->last_t > p->last_t ? t->last_t : p->last_t;
    p->on_screen += t->on_screen;
    for (int k = 0; k < ET_EMOTIONS; k++) {
        p->seconds[k] += t->seconds[k];
        p->mean[k] += t->mean[k] * (double)t->count; /* a sum until the end */
        if (t->peak[k].p > p->peak[k].p || (t->peak[k].p == p->peak[k].p && t->peak[k].t < p->peak[k].t))
            p->peak[k] = t->peak[k];
    }
    p->count += t->count;
}

int et_person_stats_compute(const et_track_stats *tracks, int n, et_person_stats **out, int *count)
{
    *out = NULL;
    *count = 0;
    int highest = 0;
    for (int i = 0; i < n; i++)
        highest = tracks[i].person > highest ? tracks[i].person : highest;
    if (highest == 0)
        return ET_OK;
    /* Person numbers can be large and sparse (--persons-across): one slot
     * per distinct number, found by a scan (tens of persons per file). */
    et_person_stats *p = calloc((size_t)n, sizeof *p);
    if (!p)
        return et_error_set(ET_ERR_NOMEM, "out of memory for %d persons", n);
    int persons = 0;
    for (int number = 1; number <= highest && persons < n; number++) {
        for (int i = 0; i < n; i++)
            if (tracks[i].person == number)
                person_add_track(&p[persons], &tracks[i], i);
        if (p[persons].tracks == 0)
            continue;
        et_person_stats *q = &p[persons++];
        for (int k = 0; k < ET_EMOTIONS; k++) {
            q->mean[k] /= (double)q->count;
            q->share[k] = q->on_screen > 0 ? q->seconds[k] / q->on_screen : 0;
        }
        dominant_of(q->seconds, q->mean, &q->dominant);
    }
    *out = p;
    *count = persons;
    return ET_OK;
}

int et_person_tracks(const et_track_stats *tracks, int n, int person, int *index, int max)
{
    int found = 0;
    for (int i = 0; i < n; i++)
        if (tracks[i].person == person) {
            if (found < max)
                index[found] = i;
            found++;
        }
    return found;
}

void et_format_clock(char *out, size_t size, double seconds, int decimals)
{
    if (decimals < 0)
        decimals = 0;
    if (decimals > 3)
        decimals = 3;
    if (!isfinite(seconds) || seconds < 0)
        seconds = 0;
    double scale = pow(10, decimals);
    long long units = llround(seconds * scale);
    long long whole = units / (long long)scale, frac = units % (long long)scale;
    long long h = whole / 3600, m = whole / 60 % 60, s = whole % 60;
    char tail[8] = "";
    if (decimals > 0)
        snprintf(tail, sizeof tail, ".%0*lld", decimals, frac);
    if (h > 0)
        snprintf(out, size, "%lld:%02lld:%02lld%s", h, m, s, tail);
    else
        snprintf(out, size, "%02lld:%02lld%s", m, s, tail);
}
