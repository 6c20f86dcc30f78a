/* The conv2d layer: what its forward pass (conv2d.c) and its backward pass
 * (training/conv2d_backward.c) share. Private to src/nn. */
#ifndef EMOTRACE_NN_CONV2D_H
#define EMOTRACE_NN_CONV2D_H

#include "nn_internal.h"

typedef struct {
    et_window win;
    int groups, has_bias;
    float *partial; /* weight/bias gradients of threads 1.. */
    size_t partial_size;
    float *flipped; /* backward: flipped, transposed weights */
    size_t flipped_size;
    float *winograd; /* frozen nets: the kernels transformed for Winograd */
    int winograd_m;  /* ... for F(m x m, 3x3) */
} conv2d_state;

/* One convolution: out = weight (*) in, NCHW, per group a GEMM of the
 * weights [og, kdim] with the input's im2col [kdim, columns]. */
typedef struct {
    et_window win;
    const float *in;
    int n, c, h, w;   /* input */
    float *out;
    int oc, oh, ow;   /* output */
    int groups, cg, og, spatial, kdim;
    int pointwise;    /* 1x1, stride 1, no padding: the input is its own im2col */
    int nb_max;       /* images per tile (1: tiles are bands of band_rows) */
    int band_rows;
    int dw_rows;      /* rows per weight-gradient tile (nb_max 1) */
    const float *weight, *bias;
    int relu;         /* fused ReLU on the output (inference after folding) */
    int accumulate;   /* add into out instead of writing it */
} conv_geom;

/* Columns of a tile of nb images and band rows. */
static inline size_t tile_columns(const conv_geom *p, int nb, int rows)
{
    return nb > 1 ? (size_t)nb * p->spatial : (size_t)rows * p->ow;
}

/* Workspace floats forward_tile needs for tiles up to nb_max images or a band. */
static inline size_t tile_work(const conv_geom *p)
{
    size_t columns = tile_columns(p, p->nb_max, p->band_rows);
    size_t col = p->pointwise && p->nb_max == 1 ? 0 : (size_t)p->kdim * columns;
    return col + (p->nb_max > 1 ? (size_t)p->og * columns : 0);
}

static inline size_t round_floats(size_t count)
{
    return (count + 15) / 16 * 16;
}

/* Sets p up for a convolution of in [n, c, h, w] into out [n, oc, oh, ow]:
 * GEMM sizes, and how the work is cut into tiles and bands. */
void et_conv2d_geom_init(conv_geom *p, const et_window *win, int groups, const float *in, int n, int c, int h,
                         int w, float *out, int oc, int oh, int ow);

/* Unfolds channels [c0, c0+cg) of images [n0, n0+nb), output rows [y0, y1),
 * into col: cg*kh*kw rows of nb*(y1-y0)*ow columns (image b's at
 * b*(y1-y0)*ow). */
void et_conv2d_im2col(const conv_geom *p, int c0, int n0, int nb, int y0, int y1, float *col);

/* Forward over images [begin, end): tiles of nb_max images or row bands. */
void et_conv2d_forward_images(const conv_geom *p, int begin, int end, float *work);

#endif
