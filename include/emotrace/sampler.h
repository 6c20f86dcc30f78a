/* The --fps rule: which frames of a sequence are analysed when at most fps
 * frames a second are. A frame is kept once its time reaches the next slot;
 * the slot after a kept frame is one period later, or one period after the
 * frame when the frame came late (a gap in the source). The analyzer keeps
 * frames by it, and the video decoder uses the same rule to know which
 * frames need pixels at all (et_video_sample).
 *
 *   et_sampler s;
 *   et_sampler_init(&s, start, 5.0);
 *   for each frame in presentation order: if (et_sampler_keep(&s, f.t)) analyse(&f);
 */
#ifndef EMOTRACE_SAMPLER_H
#define EMOTRACE_SAMPLER_H

typedef struct {
    double start;  /* frames before this (seconds) are never kept */
    double period; /* 1 / fps */
    double next;   /* time of the next slot */
} et_sampler;

/* Frames from start seconds on, at most fps a second (fps > 0). */
void et_sampler_init(et_sampler *s, double start, double fps);
/* 1 if the frame at t seconds is kept (the sampler then moves to the next
 * slot), 0 if it is dropped. Frames must come in time order. */
int et_sampler_keep(et_sampler *s, double t);

#endif
