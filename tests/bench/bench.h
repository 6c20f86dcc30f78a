/* Benchmark harness: BENCH(name) registers a benchmark; results are printed
 * as machine-readable lines "name: value" (units in the name). */
#ifndef EMOTRACE_BENCH_H
#define EMOTRACE_BENCH_H

typedef void (*bench_fn)(void);
void bench_register(const char *name, bench_fn fn);
double bench_now(void);
void bench_report(const char *name, double value);

#define BENCH(name)                                                       \
    static void name(void);                                               \
    __attribute__((constructor)) static void register_##name(void)        \
    {                                                                     \
        bench_register(#name, name);                                      \
    }                                                                     \
    static void name(void)

#endif
