/* A small results file whose summary is known by hand, written through the
 * real result stores (et_sink) in any of the three formats. */
#ifndef EMOTRACE_RESULTS_FIXTURE_H
#define EMOTRACE_RESULTS_FIXTURE_H

/* The media paths (the second needs CSV quoting and HTML escaping). */
#define FIXTURE_A "a.mp4"
#define FIXTURE_B "b&c, d.mp4"
#define FIXTURE_EMPTY "empty.mp4"

/* Writes to path (.sqlite, .csv or .jsonl); returns 0 on success.
 *
 * a.mp4 (10 fps, so a step of 0.1 s):
 *   track 1 at 0.0 .. 0.9 s and again at 2.0, 2.1 s (lost in between):
 *     happy 0.0-0.3 (0.9 at 0.2 s, else 0.6), sad 0.4-0.9 (0.75 at 0.7 s),
 *     surprise 2.0-2.1 (0.8 at 2.1 s). Seconds: happy 0.4, sad 0.5 + 0.2
 *     (the gap counts two steps) = 0.7, surprise 0.1 + 0.1 (last: one step)
 *     = 0.2; on screen 1.3 s, dominant sad.
 *   track 2 once at 0.5 s, neutral 0.6: 0.1 s on screen.
 * b&c, d.mp4: track 1 at 0.0 (angry), 0.1 and 0.2 s (fear): 0.1 + 0.2 s.
 * empty.mp4 (SQLite only: text files cannot hold a file without faces). */
int results_fixture_write(const char *path);

#endif
