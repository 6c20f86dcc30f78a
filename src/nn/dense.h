/* The dense layer: what its forward pass (dense.c) and its backward pass
 * (training/dense_backward.c) share. Private to src/nn. */
#ifndef EMOTRACE_NN_DENSE_H
#define EMOTRACE_NN_DENSE_H

#include "nn_internal.h"

/* Below this many multiply-adds a GEMM is not worth splitting. */
#define DENSE_PARALLEL_MIN (1 << 20)

typedef struct {
    et_layer *layer;
    const float *x, *dy;
    float *dx;
    int rows, features, out, relu, assign;
} dense_job;

/* Threads take columns of the output (a multiple of 16 each). */
static inline void split16(int count, int t, int threads, int *begin, int *end)
{
    int blocks = (count + 15) / 16;
    size_t b, e;
    et_parallel_range((size_t)blocks, t, threads, &b, &e);
    *begin = (int)b * 16 < count ? (int)b * 16 : count;
    *end = (int)e * 16 < count ? (int)e * 16 : count;
}

#endif
