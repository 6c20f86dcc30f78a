/* float32 NCHW tensors with 64-byte aligned storage. */
#ifndef EMOTRACE_TENSOR_H
#define EMOTRACE_TENSOR_H

#include <stddef.h>

typedef struct {
    int n, c, h, w;
    float *data;
    size_t capacity; /* floats allocated; storage only grows */
} et_tensor;

/* Aligned allocation of count floats (zeroed); NULL on failure. */
float *et_floats_alloc(size_t count);
void et_floats_free(float *p);

/* Sets the shape, growing storage if needed (contents then undefined). */
int et_tensor_resize(et_tensor *t, int n, int c, int h, int w);
/* Same as resize, then zero-fills. */
int et_tensor_zeros(et_tensor *t, int n, int c, int h, int w);
void et_tensor_free(et_tensor *t);

static inline size_t et_tensor_count(const et_tensor *t)
{
    return (size_t)t->n * t->c * t->h * t->w;
}
/* Elements per sample (c*h*w). */
static inline size_t et_tensor_sample_count(const et_tensor *t)
{
    return (size_t)t->c * t->h * t->w;
}

#endif
