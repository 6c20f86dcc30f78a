/* Planning synthetic face tracks: segments, transitions, perturbation
 * trajectories and gaps (the design is described in track_synth.h). */
#include "emotrace/track_synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/rng.h"

#define NEUTRAL 6
/* Seconds over which pose and lighting drift decorrelate. */
#define POSE_TAU 1.5
#define LIGHT_TAU 3.0

void et_track_synth_defaults(et_track_synth_options *o)
{
    o->min_fps = 10.0f;
    o->max_fps = 30.0f;
    o->min_duration = 2.0f;
    o->max_duration = 12.0f;
    o->min_segment = 0.3f;
    o->max_segment = 5.0f;
    o->min_transition = 0.1f;
    o->max_transition = 0.6f;
    o->neutral_probability = 0.5f;
    o->perturbation = 1.0f;
    o->max_drop = 0.08f;
    o->lost_rate = 0.06f;
    o->occlusion_rate = 0.08f;
}

void et_track_synth_describe(const et_track_synth_options *o, char *out, size_t size)
{
    snprintf(out, size,
             "synth-%d fps=%g:%g duration=%g:%g segment=%g:%g transition=%g:%g neutral=%g perturbation=%g drop=%g "
             "lost=%g occlusion=%g",
             ET_TRACK_SYNTH_VERSION, o->min_fps, o->max_fps, o->min_duration, o->max_duration, o->min_segment,
             o->max_segment, o->min_transition, o->max_transition, o->neutral_probability, o->perturbation,
             o->max_drop, o->lost_rate, o->occlusion_rate);
}

int et_track_synth_init(et_track_synth *s, const et_face_dataset *ds, const et_track_synth_options *o,
                        uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->ds = ds;
    s->options = *o;
    s->seed = seed;
    if (!(o->min_fps > 0 && o->min_fps <= o->max_fps && o->min_duration > 0 && o->min_duration <= o->max_duration &&
          o->min_segment > 0 && o->min_segment <= o->max_segment && o->min_transition >= 0 &&
          o->min_transition <= o->max_transition && o->max_drop >= 0 && o->max_drop < 1))
        return et_error_set(ET_ERR_USAGE, "track synthesis: inconsistent ranges");
    for (int i = 0; i < ds->count; i++)
        s->counts[ds->labels[i]]++;
    int expressions = 0;
    for (int k = 0; k < ET_EMOTIONS; k++) {
        if (k != NEUTRAL)
            expressions += s->counts[k];
        s->rows[k] = malloc((size_t)(s->counts[k] ? s->counts[k] : 1) * sizeof(int));
        if (!s->rows[k]) {
            et_track_synth_free(s);
            return et_error_set(ET_ERR_NOMEM, "track synthesis: out of memory");
        }
        s->counts[k] = 0;
    }
    for (int i = 0; i < ds->count; i++)
        s->rows[ds->labels[i]][s->counts[ds->labels[i]]++] = i;
    if (!s->counts[NEUTRAL] || !expressions) {
        et_track_synth_free(s);
        return et_error_set(ET_ERR_USAGE, "track synthesis needs neutral and other faces in the dataset");
    }
    return ET_OK;
}

void et_track_synth_free(et_track_synth *s)
{
    if (!s)
        return;
    for (int k = 0; k < ET_EMOTIONS; k++)
        free(s->rows[k]);
    memset(s, 0, sizeof *s);
}

void et_synth_track_free(et_synth_track *t)
{
    if (!t)
        return;
    free(t->frames);
    memset(t, 0, sizeof *t);
}

static uint64_t mix64(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b14915ULL + (a << 6) + (a >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    return z ^ (z >> 31);
}

static double uniform(et_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * et_rng_uniform(rng);
}

static double smoothstep(double x)
{
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    return x * x * (3.0 - 2.0 * x);
}

/* Ornstein-Uhlenbeck step over dt: mean 0, stationary deviation sd. */
static double ou_step(double x, double dt, double tau, double sd, et_rng *rng)
{
    double a = exp(-dt / tau);
    return x * a + sd * sqrt(1.0 - a * a) * et_rng_normal(rng);
}

typedef struct {
    double start, end, transition; /* transition: cross-fade length at start */
    int label, row;
} segment;

/* An expression (not neutral, not avoid) drawn by dataset frequency;
 * -1 if none is left. */
static int draw_expression(const et_track_synth *s, int avoid, et_rng *rng, int *row)
{
    uint32_t total = 0;
    for (int k = 0; k < ET_EMOTIONS; k++)
        if (k != NEUTRAL && k != avoid)
            total += (uint32_t)s->counts[k];
    if (!total)
        return -1;
    uint32_t r = et_rng_below(rng, total);
    for (int k = 0; k < ET_EMOTIONS; k++) {
        if (k == NEUTRAL || k == avoid)
            continue;
        if (r < (uint32_t)s->counts[k]) {
            *row = s->rows[k][r];
            return k;
        }
        r -= (uint32_t)s->counts[k];
    }
    return -1;
}

static int plan_segments(const et_track_synth *s, double duration, et_rng *rng, segment **out, int *count)
{
    const et_track_synth_options *o = &s->options;
    int neutral_row = s->rows[NEUTRAL][et_rng_below(rng, (uint32_t)s->counts[NEUTRAL])];
    int capacity = 8, n = 0, prev = -1;
    segment *seg = malloc((size_t)capacity * sizeof *seg);
    if (!seg)
        return ET_ERR_NOMEM;
    for (double t = 0.0; t < duration;) {
        if (n == capacity) {
            segment *more = realloc(seg, (size_t)(capacity *= 2) * sizeof *seg);
            if (!more) {
                free(seg);
                return ET_ERR_NOMEM;
            }
            seg = more;
        }
        /* Tracks mostly start neutral or expressive alike; after an
         * expression the face often relaxes to neutral. */
        double p_neutral = prev < 0 ? 0.4 : prev == NEUTRAL ? 0.0 : o->neutral_probability;
        int row = neutral_row, label = NEUTRAL;
        if (et_rng_uniform(rng) >= p_neutral) {
            label = draw_expression(s, prev, rng, &row);
            if (label < 0) {
                label = NEUTRAL;
                row = neutral_row;
            }
        }
        if (label == prev) /* only neutral after neutral is possible here */
            break;
        double length = exp(uniform(rng, log(o->min_segment), log(o->max_segment)));
        seg[n] = (segment){t, t + length, 0.0, label, row};
        if (n > 0) {
            double shorter = fmin(seg[n - 1].end - seg[n - 1].start, length);
            seg[n].transition = fmin(uniform(rng, o->min_transition, o->max_transition), 0.8 * shorter);
        }
        n++;
        prev = label;
        t += length;
    }
    *out = seg;
    *count = n;
    return ET_OK;
}

/* What the frame at time shows: the segment's crop, or a blend across the
 * nearest boundary inside a transition. */
static void frame_content(const segment *seg, int n, double time, et_synth_frame *f)
{
    int k = 0;
    while (k + 1 < n && time >= seg[k + 1].start)
        k++;
    f->label = seg[k].label;
    f->image_a = f->image_b = seg[k].row;
    f->mix = 0.0f;
    if (k > 0 && time < seg[k].start + seg[k].transition / 2) {
        f->image_a = seg[k - 1].row;
        f->mix = (float)smoothstep((time - seg[k].start + seg[k].transition / 2) / seg[k].transition);
    } else if (k + 1 < n && time >= seg[k + 1].start - seg[k + 1].transition / 2) {
        f->image_b = seg[k + 1].row;
        f->mix = (float)smoothstep((time - seg[k + 1].start + seg[k + 1].transition / 2) / seg[k + 1].transition);
    }
}

static float clampf(double x, double lo, double hi)
{
    return (float)(x < lo ? lo : x > hi ? hi : x);
}

int et_track_synth_plan(const et_track_synth *s, int index, et_synth_track *track)
{
    memset(track, 0, sizeof *track);
    const et_track_synth_options *o = &s->options;
    const double p = o->perturbation;
    uint64_t track_seed = mix64(s->seed, (uint64_t)index);
    et_rng rng;
    et_rng_seed(&rng, track_seed);
    /* Rounded to float so that track->fps is exactly the rate used. */
    double fps = (float)uniform(&rng, o->min_fps, o->max_fps);
    double duration = uniform(&rng, o->min_duration, o->max_duration);
    int ticks = (int)(duration * fps) + 1;
    segment *seg = NULL;
    int segments = 0;
    if (plan_segments(s, duration, &rng, &seg, &segments) != ET_OK ||
        !(track->frames = malloc((size_t)ticks * sizeof *track->frames))) {
        free(seg);
        return et_error_set(ET_ERR_NOMEM, "track synthesis: out of memory");
    }
    track->fps = (float)fps;

    /* Per track: camera and subject. */
    int flip = et_rng_uniform(&rng) < 0.5;
    double noise = uniform(&rng, 0.0, 6.0) * p, camera_blur = uniform(&rng, 0.0, 1.0) * p;
    double base_score = uniform(&rng, 0.7, 0.97), drop = uniform(&rng, 0.0, o->max_drop);
    /* Drifting pose and lighting, started from their stationary spread. */
    double angle = 5.0 * p * et_rng_normal(&rng), sx = 0.03 * p * et_rng_normal(&rng);
    double sy = 0.03 * p * et_rng_normal(&rng), log_scale = 0.04 * p * et_rng_normal(&rng);
    double bright = 0.08 * p * et_rng_normal(&rng), log_contrast = 0.15 * p * et_rng_normal(&rng);
    double log_gamma = 0.15 * p * et_rng_normal(&rng);
    double occ_left = 0.0, occ_start = 0.0, occ_cx = 0, occ_cy = 0, occ_w = 0, occ_h = 0, occ_vx = 0, occ_vy = 0;
    double lost_left = 0.0;
    int occ_value = 0;
    const double dt = 1.0 / fps;
    for (int j = 0; j < ticks; j++) {
        double time = j * dt;
        if (j > 0) {
            angle = ou_step(angle, dt, POSE_TAU, 5.0 * p, &rng);
            sx = ou_step(sx, dt, POSE_TAU, 0.03 * p, &rng);
            sy = ou_step(sy, dt, POSE_TAU, 0.03 * p, &rng);
            log_scale = ou_step(log_scale, dt, POSE_TAU, 0.04 * p, &rng);
            bright = ou_step(bright, dt, LIGHT_TAU, 0.08 * p, &rng);
            log_contrast = ou_step(log_contrast, dt, LIGHT_TAU, 0.15 * p, &rng);
            log_gamma = ou_step(log_gamma, dt, LIGHT_TAU, 0.15 * p, &rng);
            occ_left -= dt;
            lost_left -= dt;
        }
        /* Episodes start as Poisson events. */
        if (occ_left <= 0.0 && et_rng_uniform(&rng) < o->occlusion_rate * dt) {
            occ_left = uniform(&rng, 0.3, 1.5);
            occ_start = time;
            double area = uniform(&rng, 0.08, 0.3), aspect = exp(uniform(&rng, log(0.5), log(2.0)));
            occ_w = fmin(sqrt(area * aspect), 0.9);
            occ_h = fmin(sqrt(area / aspect), 0.9);
            occ_cx = uniform(&rng, 0.1, 0.9);
            occ_cy = uniform(&rng, 0.1, 0.9);
            occ_vx = 0.1 * et_rng_normal(&rng);
            occ_vy = 0.1 * et_rng_normal(&rng);
            occ_value = (int)et_rng_below(&rng, 256);
        }
        if (j > 0 && lost_left <= 0.0 && et_rng_uniform(&rng) < o->lost_rate * dt)
            lost_left = uniform(&rng, 0.2, 1.5);
        /* Per-frame draws happen whether or not the frame is observed, so a
         * frame's look does not depend on which earlier frames were dropped. */
        double jitter_angle = 1.0 * p * et_rng_normal(&rng), jitter_x = 0.012 * p * et_rng_normal(&rng);
        double jitter_y = 0.012 * p * et_rng_normal(&rng), jitter_scale = 0.015 * p * et_rng_normal(&rng);
        double motion_blur = et_rng_uniform(&rng) < 0.1 ? uniform(&rng, 0.5, 1.5) * p : 0.0;
        double score_noise = 0.03 * et_rng_normal(&rng);
        int dropped = et_rng_uniform(&rng) < drop;
        if (j > 0 && (lost_left > 0.0 || dropped))
            continue;
        et_synth_frame *f = &track->frames[track->count++];
        memset(f, 0, sizeof *f);
        f->time = time;
        frame_content(seg, segments, time, f);
        f->angle_deg = (float)(angle + jitter_angle);
        f->scale = (float)exp(log_scale + jitter_scale);
        f->shift_x = (float)(sx + jitter_x);
        f->shift_y = (float)(sy + jitter_y);
        f->flip = flip;
        f->brightness = (float)bright;
        f->contrast = (float)exp(log_contrast);
        f->gamma = (float)exp(log_gamma);
        f->blur_sigma = (float)(camera_blur + motion_blur);
        f->noise_sigma = (float)noise;
        double occluded_area = 0.0;
        if (occ_left > 0.0) {
            double cx = occ_cx + occ_vx * (time - occ_start), cy = occ_cy + occ_vy * (time - occ_start);
            f->occluded = 1;
            f->occ_x0 = clampf(cx - occ_w / 2, 0, 1);
            f->occ_x1 = clampf(cx + occ_w / 2, 0, 1);
            f->occ_y0 = clampf(cy - occ_h / 2, 0, 1);
            f->occ_y1 = clampf(cy + occ_h / 2, 0, 1);
            f->occ_value = (uint8_t)occ_value;
            occluded_area = (double)(f->occ_x1 - f->occ_x0) * (f->occ_y1 - f->occ_y0);
        }
        /* The detector is less sure of occluded or blurred faces; below
         * about 0.5 it would not report the face at all. */
        f->detector_score = clampf(base_score + score_noise - 0.7 * occluded_area - 0.05 * motion_blur, 0.5, 0.999);
        f->noise_seed = mix64(track_seed, (uint64_t)j + 1);
    }
    free(seg);
    return ET_OK;
}
