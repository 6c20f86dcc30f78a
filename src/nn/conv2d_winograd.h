/* conv2d's Winograd F(m x m, 3x3) path (m = 2 or 4) for 3x3 stride-1
 * convolutions without groups (conv2d_winograd.c), used at inference by
 * frozen nets. */
#ifndef EMOTRACE_CONV2D_WINOGRAD_H
#define EMOTRACE_CONV2D_WINOGRAD_H

#include <stddef.h>

typedef struct {
    int m;                  /* output tile side: 2 or 4 */
    const float *in;
    int n, c, h, w, pt, pl; /* input, NCHW, and the top and left padding */
    float *out;
    int oc, oh, ow;
    const float *u;         /* transformed kernels, [(m + 2)^2][oc][c] */
    const float *bias;      /* NULL: none */
    int relu;
    int th, tw;             /* tiles per image: ceil(oh / m) rows, ceil(ow / m) columns */
} et_winograd;

/* The (m + 2)^2 transformed kernels of weight [oc][c][3][3] into
 * u [(m + 2)^2][oc][c]. */
void et_winograd_kernels(int m, const float *weight, int oc, int c, float *u);
/* Tiles per chunk, and workspace floats et_winograd_forward needs. */
size_t et_winograd_chunk_tiles(const et_winograd *g);
size_t et_winograd_work_floats(const et_winograd *g);
/* The output of tile rows [unit_begin, unit_end), unit = image * th + row. */
void et_winograd_forward(const et_winograd *g, int unit_begin, int unit_end, float *work);

#endif
