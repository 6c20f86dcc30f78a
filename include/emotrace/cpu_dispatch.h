/* ET_VECTOR_CLONES before a hot loop's function compiles it twice, for
 * x86-64-v3 (AVX2: 8 floats per instruction) and for the baseline x86-64
 * (SSE2: 4), and picks one when the program loads: the build stays
 * portable (no -march=native) and recent CPUs get the wider vectors.
 * Results may differ from the baseline's in the last bits (sums in another
 * order), as OpenBLAS's per-CPU kernels already do. */
#ifndef EMOTRACE_CPU_DISPATCH_H
#define EMOTRACE_CPU_DISPATCH_H

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__)
#define ET_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ET_VECTOR_CLONES
#endif

/* For the helpers such a function calls: inlined into each clone, so that
 * they are compiled for its CPU too (a call would run the baseline code). */
#if defined(__GNUC__)
#define ET_VECTOR_INLINE __attribute__((always_inline)) inline
#else
#define ET_VECTOR_INLINE inline
#endif

#endif
