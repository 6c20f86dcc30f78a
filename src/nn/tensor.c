#include "emotrace/tensor.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"

/* Zeroed by calloc, which takes fresh pages from the system as they are
 * (zero) instead of writing them: a large buffer costs nothing until its
 * pages are used. The 64-byte aligned block starts up to 64 bytes into
 * calloc's, whose address is kept just before it for et_floats_free. */
float *et_floats_alloc(size_t count)
{
    size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    if (bytes == 0)
        bytes = 64;
    if (bytes > SIZE_MAX - 64)
        return NULL;
    unsigned char *block = calloc(1, bytes + 64);
    if (!block)
        return NULL;
    unsigned char *p = block + 64 - (uintptr_t)block % 64; /* 16 to 64 bytes in: room for the address */
    memcpy(p - sizeof block, &block, sizeof block);
    return (float *)p;
}

void et_floats_free(float *p)
{
    if (!p)
        return;
    unsigned char *block;
    memcpy(&block, (unsigned char *)p - sizeof block, sizeof block);
    free(block);
}

int et_tensor_resize(et_tensor *t, int n, int c, int h, int w)
{
    if (n < 0 || c < 0 || h < 0 || w < 0)
        return et_error_set(ET_ERR_USAGE, "tensor: negative dimension %dx%dx%dx%d", n, c, h, w);
    /* The product is checked step by step: dimensions from a hostile file
     * could overflow size_t. */
    const size_t limit = (size_t)1 << 28; /* floats: 1 GB, far above any real layer */
    size_t count = 1;
    const int dims[4] = {n, c, h, w};
    for (int i = 0; i < 4; i++) {
        if (dims[i] && count > limit / (size_t)dims[i])
            return et_error_set(ET_ERR_NOMEM, "tensor: %dx%dx%dx%d is too large", n, c, h, w);
        count *= (size_t)dims[i];
    }
    if (count > t->capacity) {
        float *p = et_floats_alloc(count);
        if (!p)
            return et_error_set(ET_ERR_NOMEM, "tensor: out of memory for %zu floats", count);
        et_floats_free(t->data);
        t->data = p;
        t->capacity = count;
    }
    t->n = n;
    t->c = c;
    t->h = h;
    t->w = w;
    return ET_OK;
}

int et_tensor_zeros(et_tensor *t, int n, int c, int h, int w)
{
    const float *before = t->data;
    int rc = et_tensor_resize(t, n, c, h, w);
    /* New storage is zero already, and untouched (a gradient an inference
     * never uses stays out of memory). */
    if (rc == ET_OK && t->data && t->data == before)
        memset(t->data, 0, et_tensor_count(t) * sizeof(float));
    return rc;
}

void et_tensor_free(et_tensor *t)
{
    if (!t)
        return;
    et_floats_free(t->data);
    memset(t, 0, sizeof *t);
}
