/* The --fps rule (sampler.h). */
#include "emotrace/sampler.h"

/* A frame this close before its slot still takes it, so that exact
 * multiples (30 fps -> 10 fps) stay regular despite rounding in t. */
#define SLOT_TOLERANCE 1e-6
/* Frames this close before start are still before it. */
#define START_TOLERANCE 1e-9

void et_sampler_init(et_sampler *s, double start, double fps)
{
    s->start = start;
    s->period = 1.0 / fps;
    s->next = start;
}

int et_sampler_keep(et_sampler *s, double t)
{
    if (t < s->start - START_TOLERANCE || t < s->next - SLOT_TOLERANCE)
        return 0;
    s->next += s->period;
    if (s->next < t)
        s->next = t + s->period;
    return 1;
}
