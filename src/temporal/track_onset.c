/* Planning fast posed onsets (see track_onset.h). */
#include "emotrace/track_onset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/rng.h"

#define MIN_FPS 25.0
#define MAX_FPS 30.0
#define MIN_LEAD 1.0 /* seconds of neutral before the onset */
#define MAX_LEAD 2.0
#define NOISE_SIGMA 2.0f
#define DETECTOR_SCORE 0.9f

int et_track_onset_plan(const et_track_synth *s, int index, et_synth_track *track)
{
    memset(track, 0, sizeof *track);
    const int neutral = ET_EMOTIONS - 1;
    int expressions[ET_EMOTIONS], n = 0;
    for (int k = 0; k < neutral; k++)
        if (s->counts[k])
            expressions[n++] = k;
    if (!s->counts[neutral] || !n)
        return et_error_set(ET_ERR_USAGE, "onsets need neutral crops and crops of an expression");
    et_rng rng;
    et_rng_seed(&rng, s->seed + 0x9e3779b97f4a7c15ULL * ((uint64_t)index + 1));
    float fps = (float)(MIN_FPS + (MAX_FPS - MIN_FPS) * et_rng_uniform(&rng));
    double lead = MIN_LEAD + (MAX_LEAD - MIN_LEAD) * et_rng_uniform(&rng);
    int target = expressions[et_rng_below(&rng, (uint32_t)n)];
    int from = s->rows[neutral][et_rng_below(&rng, (uint32_t)s->counts[neutral])];
    int to = s->rows[target][et_rng_below(&rng, (uint32_t)s->counts[target])];
    int flip = et_rng_uniform(&rng) < 0.5;
    /* The last frame falls exactly on the end of the onset. */
    int last = (int)ceil((lead + ET_ONSET_SECONDS) * fps);
    double onset_start = last / (double)fps - ET_ONSET_SECONDS;
    if (!(track->frames = calloc((size_t)last + 1, sizeof *track->frames)))
        return et_error_set(ET_ERR_NOMEM, "onset synthesis: out of memory");
    track->fps = fps;
    track->count = last + 1;
    for (int j = 0; j <= last; j++) {
        et_synth_frame *f = &track->frames[j];
        double x = (j / (double)fps - onset_start) / ET_ONSET_SECONDS;
        x = j == last ? 1.0 : x < 0 ? 0 : x > 1 ? 1 : x;
        f->time = j / (double)fps;
        f->image_a = from;
        f->image_b = to;
        f->mix = (float)(x * x * (3.0 - 2.0 * x));
        f->label = x >= 0.5 ? target : neutral;
        f->scale = 1.0f;
        f->flip = flip;
        f->contrast = 1.0f;
        f->gamma = 1.0f;
        f->noise_sigma = NOISE_SIGMA;
        f->noise_seed = et_rng_next(&rng);
        f->detector_score = DETECTOR_SCORE;
    }
    return ET_OK;
}
