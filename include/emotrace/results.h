/* Reading analysis results back (SQLite, CSV or JSON Lines, as written by
 * `analyze`) and summarising them per face track: the common input of the
 * summary, plot and report commands.
 *
 *   et_results r = {0};
 *   if (et_results_load(&r, "study.sqlite") != ET_OK) ...
 *   for each r.media[i]: et_track_stats_compute(&r.media[i], &stats, &n) ...
 *   et_results_free(&r);
 */
#ifndef EMOTRACE_RESULTS_H
#define EMOTRACE_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "emotrace/store.h"

/* One media file with its observations, sorted by track, then time. */
typedef struct {
    char *path;
    double duration, fps;     /* 0 when unknown (always for CSV and JSON Lines) */
    int width, height;        /* 0 when unknown */
    /* Persons: linked per file or across the files of one run (SQLite's
     * persons.scope and media.run_id; text files say neither: persons
     * found in their rows count as per file). */
    et_persons_scope persons;
    int64_t run;              /* 0 when unknown */
    et_observation *obs;
    size_t count, capacity;
} et_result_media;

/* Media in the order of the file (SQLite: by path). A SQLite file lists
 * every media row with status done, also those without faces; failed rows
 * are left out. */
typedef struct {
    et_result_media *media;
    size_t count, capacity;
} et_results;

/* Reads path: .sqlite/.sqlite3/.db, .csv or .jsonl (by extension; "-" is
 * CSV on standard input). Errors name the file (and line). r must be zeroed
 * or freed; on error it is left empty. */
int et_results_load(et_results *r, const char *path);
void et_results_free(et_results *r);

typedef struct {
    double t, p;              /* time in seconds and probability */
} et_moment;

/* One track of one media file. Each observation stands for the time until
 * the track's next one, at most two sampling steps (a lost face counts no
 * longer); the last one counts one step. The step is the shortest positive
 * time between observations of a track in the file (1/fps when no track has
 * two, 0 if that is unknown too). This is the README's SQL query. */
typedef struct {
    int track;
    int person;               /* of its first observation; 0: not linked */
    size_t first, count;      /* the track's observations: obs[first .. first+count) */
    double first_t, last_t;
    double on_screen;         /* seconds: the sum of its observations' times */
    int dominant;             /* emotion labelled for the longest time (ties: higher mean) */
    double seconds[ET_EMOTIONS]; /* time labelled with each emotion */
    double share[ET_EMOTIONS];   /* seconds / on_screen (0 when on_screen is 0) */
    double mean[ET_EMOTIONS];    /* mean probability over the observations */
    et_moment peak[ET_EMOTIONS]; /* strongest moment: highest probability (earliest on ties) */
} et_track_stats;

/* Statistics of every track of m, in track order (caller frees *out; NULL
 * and 0 when m has no observations). */
int et_track_stats_compute(const et_result_media *m, et_track_stats **out, int *count);
/* One person of one media file: its tracks' statistics added up (seconds
 * and time on screen summed, means weighted by observations, the strongest
 * moments the strongest of its tracks'). */
typedef struct {
    int person;
    int tracks;               /* how many */
    int first_track;          /* index of its first track in the track statistics */
    size_t count;             /* observations */
    double first_t, last_t, on_screen;
    int dominant;
    double seconds[ET_EMOTIONS], share[ET_EMOTIONS], mean[ET_EMOTIONS];
    et_moment peak[ET_EMOTIONS];
} et_person_stats;

/* Persons of the n track statistics of one media file (from
 * et_track_stats_compute), in order of person number; tracks without a
 * person are left out. Caller frees *out (NULL and 0 when none). */
int et_person_stats_compute(const et_track_stats *tracks, int n, et_person_stats **out, int *count);
/* The tracks of person p, in track order, as indices into tracks (up to
 * max); returns how many there are. */
int et_person_tracks(const et_track_stats *tracks, int n, int person, int *index, int max);

/* The sampling step of m as used above, in seconds (0 if unknown). */
double et_result_media_step(const et_result_media *m);

/* "mm:ss" or "h:mm:ss" with decimals digits of seconds (0..3), for axes and
 * tables. */
void et_format_clock(char *out, size_t size, double seconds, int decimals);

#endif
