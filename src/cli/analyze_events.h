/* analyze --events: one JSON line each time a track's emotion changes, for
 * scripts that react to changes while a (live) analysis runs. */
#ifndef EMOTRACE_ANALYZE_EVENTS_H
#define EMOTRACE_ANALYZE_EVENTS_H

#include "emotrace/analyzer.h"

typedef struct analyze_events analyze_events;

/* Opens path for the events ("-": standard output); prints the message and
 * returns non-zero on failure. */
int analyze_events_open(analyze_events **out, const char *path);
/* Starts a new input: its tracks are new tracks. */
void analyze_events_begin(analyze_events *e, const char *source);
/* The et_analyzer_options.on_frame observer (ctx: the analyze_events). */
int analyze_events_on_frame(const et_frame_result *r, void *ctx);
/* Closes; returns non-zero if writing failed. NULL is fine. */
int analyze_events_close(analyze_events *e);

#endif
