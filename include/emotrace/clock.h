/* The one clock for durations, timeouts and progress: monotonic seconds
 * (unaffected by changes to the wall clock), from an arbitrary origin. */
#ifndef EMOTRACE_CLOCK_H
#define EMOTRACE_CLOCK_H

double et_now_seconds(void);

#endif
