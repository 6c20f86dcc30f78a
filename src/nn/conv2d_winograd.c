/* 3x3 stride-1 convolution by Winograd's minimal filtering F(m x m, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016), m = 2 or 4: each m x m block of output (a tile) comes from an
 * (m + 2)^2 block of input through (m + 2)^2 element-wise products instead
 * of 9 m^2 multiplications, so the GEMMs do 2.25 (m = 2) or 4 (m = 4)
 * times less work than im2col's. Per chunk of tiles: the input tiles
 * transformed (V = Bt d B) into (m + 2)^2 matrices [c, tiles], as many
 * GEMMs with the transformed kernels (U = G g Gt, [(m + 2)^2][oc][c], made
 * once per frozen net), and the products folded back (Y = At M A). The
 * transforms run along whole rows of tiles (vectorised). Floats are summed
 * in another order than im2col's: results agree to about 1e-6 relative
 * with m = 2 and 1e-5 with m = 4 (its transforms weigh terms up to 8). */
#include <cblas.h>
#include <string.h>

#include "conv2d_winograd.h"
#include "emotrace/cpu_dispatch.h"

/* Workspace budget per chunk (floats of V and M): 1 MB, the L2 of one
 * core of the machines measured, so V and M stay in cache from the
 * transform to the GEMM and back (a quarter or 4 times as much measured
 * 5-25% slower on the emotion CNN). */
#define CHUNK_FLOATS (256 * 1024)

/* G for F(4x4, 3x3), the points 0, 1, -1, 2, -2 (Lavin and Gray). */
static const float g4[6][3] = {{1.0f / 4, 0, 0},
                               {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                               {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                               {1.0f / 24, 1.0f / 12, 1.0f / 6},
                               {1.0f / 24, -1.0f / 12, 1.0f / 6},
                               {0, 0, 1}};

static void kernels4(const float *weight, int oc, int c, float *u)
{
    size_t plane = (size_t)oc * c;
    for (int o = 0; o < oc; o++)
        for (int ci = 0; ci < c; ci++) {
            const float *g = weight + ((size_t)o * c + ci) * 9;
            float gg[6][3]; /* G g */
            for (int i = 0; i < 6; i++)
                for (int x = 0; x < 3; x++)
                    gg[i][x] = g4[i][0] * g[x] + g4[i][1] * g[3 + x] + g4[i][2] * g[6 + x];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                    u[(size_t)(i * 6 + j) * plane + (size_t)o * c + ci] =
                        gg[i][0] * g4[j][0] + gg[i][1] * g4[j][1] + gg[i][2] * g4[j][2];
        }
}

void et_winograd_kernels(int m, const float *weight, int oc, int c, float *u)
{
    if (m == 4) {
        kernels4(weight, oc, c, u);
        return;
    }
    size_t plane = (size_t)oc * c;
    for (int o = 0; o < oc; o++)
        for (int ci = 0; ci < c; ci++) {
            const float *g = weight + ((size_t)o * c + ci) * 9;
            float gg[4][3]; /* G g: rows of g combined */
            for (int x = 0; x < 3; x++) {
                gg[0][x] = g[x];
                gg[1][x] = 0.5f * (g[x] + g[3 + x] + g[6 + x]);
                gg[2][x] = 0.5f * (g[x] - g[3 + x] + g[6 + x]);
                gg[3][x] = g[6 + x];
            }
            for (int i = 0; i < 4; i++) {
                float a = gg[i][0], b = gg[i][1], d = gg[i][2];
                float row[4] = {a, 0.5f * (a + b + d), 0.5f * (a - b + d), d};
                for (int j = 0; j < 4; j++)
                    u[(size_t)(i * 4 + j) * plane + (size_t)o * c + ci] = row[j];
            }
        }
}

size_t et_winograd_chunk_tiles(const et_winograd *g)
{
    size_t a = (size_t)g->m + 2, tiles = CHUNK_FLOATS / (a * a * (size_t)(g->c + g->oc));
    size_t row = (size_t)g->tw;
    /* Whole tile rows, at least one. */
    return tiles < row ? row : tiles / row * row;
}

size_t et_winograd_work_floats(const et_winograd *g)
{
    /* V, M, then the transforms' rows: a^2 per tile of the chunk and one
     * input row in; m^2 per tile out (m = 4: and 24 more). */
    size_t a = (size_t)g->m + 2, tiles = et_winograd_chunk_tiles(g);
    size_t in = a * a * tiles + (size_t)g->m * g->tw + 2, out = (g->m == 4 ? 40 : 4) * tiles;
    return a * a * (size_t)(g->c + g->oc) * tiles + (in > out ? in : out);
}

/* B along the columns of input rows 2 ty - pt + r (r = 0..3) of tile
 * row ty: h[(j * 4 + r) * ldh + tx] for the tile's columns 2 tx .. 2 tx + 3.
 * line: scratch of 2 tw + 2 floats. */
ET_VECTOR_CLONES static void combine_columns(const et_winograd *g, const float *plane, int ty, float *restrict h,
                                             size_t ldh, float *restrict line)
{
    int tw = g->tw, len = 2 * tw + 2; /* input columns -pl .. 2 tw + 1 - pl */
    int lo = g->pl < len ? g->pl : len, hi = g->w + g->pl < len ? g->w + g->pl : len;
    for (int r = 0; r < 4; r++) {
        int y = 2 * ty - g->pt + r;
        float *h0 = h + (size_t)r * ldh, *h1 = h + (size_t)(4 + r) * ldh, *h2 = h + (size_t)(8 + r) * ldh,
              *h3 = h + (size_t)(12 + r) * ldh;
        if (y < 0 || y >= g->h || hi <= lo) {
            memset(h0, 0, (size_t)tw * sizeof(float));
            memset(h1, 0, (size_t)tw * sizeof(float));
            memset(h2, 0, (size_t)tw * sizeof(float));
            memset(h3, 0, (size_t)tw * sizeof(float));
            continue;
        }
        memset(line, 0, (size_t)lo * sizeof(float));
        memcpy(line + lo, plane + (size_t)y * g->w + (lo - g->pl), (size_t)(hi - lo) * sizeof(float));
        memset(line + hi, 0, (size_t)(len - hi) * sizeof(float));
        for (int tx = 0; tx < tw; tx++) {
            const float *q = line + 2 * tx;
            h0[tx] = q[0] - q[2];
            h1[tx] = q[1] + q[2];
            h2[tx] = q[2] - q[1];
            h3[tx] = q[1] - q[3];
        }
    }
}

/* Bt down the rows, along all the chunk's tiles at once: row i of V for
 * column j from h_j's four rows. */
ET_VECTOR_CLONES static void combine_rows(const float *restrict h, size_t tiles, float *restrict v0,
                                          float *restrict v1, float *restrict v2, float *restrict v3)
{
    const float *restrict r0 = h, *restrict r1 = h + tiles, *restrict r2 = h + 2 * tiles, *restrict r3 = h + 3 * tiles;
    for (size_t t = 0; t < tiles; t++) {
        v0[t] = r0[t] - r2[t];
        v1[t] = r1[t] + r2[t];
        v2[t] = r2[t] - r1[t];
        v3[t] = r1[t] - r3[t];
    }
}

/* V for tile rows [unit0, unit0 + units) (unit = image * th + tile row):
 * v[(e * c + ci) * ldv + tile], e = i * 4 + j. rows: scratch of 16 ldv +
 * 2 tw + 2 floats. */
static void input_transform(const et_winograd *g, int unit0, int units, float *v, size_t ldv, float *rows)
{
    float *h = rows, *line = rows + 16 * ldv;
    for (int ci = 0; ci < g->c; ci++) {
        for (int k = 0; k < units; k++) {
            int unit = unit0 + k, img = unit / g->th, ty = unit % g->th;
            const float *plane = g->in + ((size_t)img * g->c + ci) * g->h * g->w;
            combine_columns(g, plane, ty, h + (size_t)k * g->tw, ldv, line);
        }
        for (int j = 0; j < 4; j++)
            combine_rows(h + (size_t)j * 4 * ldv, ldv, v + ((size_t)(0 * 4 + j) * g->c + ci) * ldv,
                         v + ((size_t)(1 * 4 + j) * g->c + ci) * ldv, v + ((size_t)(2 * 4 + j) * g->c + ci) * ldv,
                         v + ((size_t)(3 * 4 + j) * g->c + ci) * ldv);
    }
}

/* A tile row's four outputs at t: plus the bias, clamped at 0 with relu,
 * into y0..y3. The last step of both sizes' output transforms. */
static inline void store_outputs(float o0, float o1, float o2, float o3, float bias, int relu, float *restrict y0,
                                 float *restrict y1, float *restrict y2, float *restrict y3, size_t t)
{
    o0 += bias;
    o1 += bias;
    o2 += bias;
    o3 += bias;
    if (relu) {
        o0 = o0 > 0.0f ? o0 : 0.0f;
        o1 = o1 > 0.0f ? o1 : 0.0f;
        o2 = o2 > 0.0f ? o2 : 0.0f;
        o3 = o3 > 0.0f ? o3 : 0.0f;
    }
    y0[t] = o0;
    y1[t] = o1;
    y2[t] = o2;
    y3[t] = o3;
}

/* Y = At M A for the chunk's tiles, bias and ReLU, into y00..y11 (one
 * float per tile each: the tile's 2x2 outputs), along all the chunk's
 * tiles at once so that it vectorises. */
ET_VECTOR_CLONES static void fold_tiles(const float *mat, size_t estride, size_t tiles, float bias, int relu,
                                        float *restrict y00, float *restrict y01, float *restrict y10,
                                        float *restrict y11)
{
    const float *restrict m0 = mat, *restrict m1 = mat + estride, *restrict m2 = mat + 2 * estride,
                          *restrict m3 = mat + 3 * estride, *restrict m4 = mat + 4 * estride,
                          *restrict m5 = mat + 5 * estride, *restrict m6 = mat + 6 * estride,
                          *restrict m7 = mat + 7 * estride, *restrict m8 = mat + 8 * estride,
                          *restrict m9 = mat + 9 * estride, *restrict m10 = mat + 10 * estride,
                          *restrict m11 = mat + 11 * estride, *restrict m12 = mat + 12 * estride,
                          *restrict m13 = mat + 13 * estride, *restrict m14 = mat + 14 * estride,
                          *restrict m15 = mat + 15 * estride;
    for (size_t t = 0; t < tiles; t++) {
        /* At down the columns (rows 0-3 of M are e = 0-3, 4-7, ...) ... */
        float s00 = m0[t] + m4[t] + m8[t], s01 = m1[t] + m5[t] + m9[t];
        float s02 = m2[t] + m6[t] + m10[t], s03 = m3[t] + m7[t] + m11[t];
        float s10 = m4[t] - m8[t] - m12[t], s11 = m5[t] - m9[t] - m13[t];
        float s12 = m6[t] - m10[t] - m14[t], s13 = m7[t] - m11[t] - m15[t];
        /* ... then A along the rows. */
        store_outputs(s00 + s01 + s02, s01 - s02 - s03, s10 + s11 + s12, s11 - s12 - s13, bias, relu, y00, y01, y10,
                      y11, t);
    }
}

/* The chunk's outputs of tile rows [unit0, unit0 + units) into the output
 * (the last row or column of a tile dropped past an odd edge). rows:
 * scratch of 4 tiles floats. */
static void output_transform(const et_winograd *g, int unit0, int units, const float *m, size_t ldm, float *rows)
{
    size_t plane = (size_t)g->oh * g->ow, tiles = (size_t)units * g->tw;
    float *y00 = rows, *y01 = rows + tiles, *y10 = rows + 2 * tiles, *y11 = rows + 3 * tiles;
    int tw = g->tw, full = g->ow / 2; /* tiles whose two columns are both inside */
    for (int o = 0; o < g->oc; o++) {
        fold_tiles(m + (size_t)o * ldm, (size_t)g->oc * ldm, tiles, g->bias ? g->bias[o] : 0.0f, g->relu, y00,
                   y01, y10, y11);
        for (int k = 0; k < units; k++) {
            int unit = unit0 + k, img = unit / g->th, ty = unit % g->th;
            float *dst = g->out + ((size_t)img * g->oc + o) * plane + (size_t)(2 * ty) * g->ow;
            size_t base = (size_t)k * tw;
            for (int tx = 0; tx < full; tx++) {
                dst[2 * tx] = y00[base + tx];
                dst[2 * tx + 1] = y01[base + tx];
            }
            if (full < tw)
                dst[2 * full] = y00[base + full];
            if (2 * ty + 1 < g->oh) {
                dst += g->ow;
                for (int tx = 0; tx < full; tx++) {
                    dst[2 * tx] = y10[base + tx];
                    dst[2 * tx + 1] = y11[base + tx];
                }
                if (full < tw)
                    dst[2 * full] = y10[base + full];
            }
        }
    }
}

/* --- F(4x4, 3x3): 6x6 input tiles at stride 4, 36 products --- */

/* Bt applied to 6 values (the rows of Bt for the points 0, 1, -1, 2, -2). */
#define BT6(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5) \
    do {                                                   \
        o0 = 4.0f * (d0) - 5.0f * (d2) + (d4);             \
        o1 = -4.0f * ((d1) + (d2)) + (d3) + (d4);          \
        o2 = 4.0f * ((d1) - (d2)) - (d3) + (d4);           \
        o3 = 2.0f * ((d3) - (d1)) - (d2) + (d4);           \
        o4 = 2.0f * ((d1) - (d3)) - (d2) + (d4);           \
        o5 = 4.0f * (d1) - 5.0f * (d3) + (d5);             \
    } while (0)

/* B along the columns of input rows 4 ty - pt + r (r = 0..5) of tile row
 * ty: h[(j * 6 + r) * ldh + tx]. line: scratch of 4 tw + 2 floats. */
ET_VECTOR_CLONES static void combine_columns4(const et_winograd *g, const float *plane, int ty, float *restrict h,
                                              size_t ldh, float *restrict line)
{
    int tw = g->tw, len = 4 * tw + 2;
    int lo = g->pl < len ? g->pl : len, hi = g->w + g->pl < len ? g->w + g->pl : len;
    for (int r = 0; r < 6; r++) {
        int y = 4 * ty - g->pt + r;
        float *hr[6];
        for (int j = 0; j < 6; j++)
            hr[j] = h + (size_t)(j * 6 + r) * ldh;
        if (y < 0 || y >= g->h || hi <= lo) {
            for (int j = 0; j < 6; j++)
                memset(hr[j], 0, (size_t)tw * sizeof(float));
            continue;
        }
        memset(line, 0, (size_t)lo * sizeof(float));
        memcpy(line + lo, plane + (size_t)y * g->w + (lo - g->pl), (size_t)(hi - lo) * sizeof(float));
        memset(line + hi, 0, (size_t)(len - hi) * sizeof(float));
        float *restrict h0 = hr[0], *restrict h1 = hr[1], *restrict h2 = hr[2], *restrict h3 = hr[3],
                        *restrict h4 = hr[4], *restrict h5 = hr[5];
        for (int tx = 0; tx < tw; tx++) {
            const float *q = line + 4 * tx;
            BT6(q[0], q[1], q[2], q[3], q[4], q[5], h0[tx], h1[tx], h2[tx], h3[tx], h4[tx], h5[tx]);
        }
    }
}

/* Bt down the rows along all the chunk's tiles: from h_j's 6 rows, the 6
 * rows i of V for column j (v_i = v + i * vstride). */
ET_VECTOR_CLONES static void combine_rows4(const float *restrict h, size_t tiles, float *restrict v, size_t vstride)
{
    const float *restrict r0 = h, *restrict r1 = h + tiles, *restrict r2 = h + 2 * tiles, *restrict r3 = h + 3 * tiles,
                          *restrict r4 = h + 4 * tiles, *restrict r5 = h + 5 * tiles;
    float *restrict v0 = v, *restrict v1 = v + vstride, *restrict v2 = v + 2 * vstride, *restrict v3 = v + 3 * vstride,
                    *restrict v4 = v + 4 * vstride, *restrict v5 = v + 5 * vstride;
    for (size_t t = 0; t < tiles; t++)
        BT6(r0[t], r1[t], r2[t], r3[t], r4[t], r5[t], v0[t], v1[t], v2[t], v3[t], v4[t], v5[t]);
}

static void input_transform4(const et_winograd *g, int unit0, int units, float *v, size_t ldv, float *rows)
{
    float *h = rows, *line = rows + 36 * ldv;
    size_t vstride = (size_t)6 * g->c * ldv; /* from row i to row i + 1 of V: e += 6 */
    for (int ci = 0; ci < g->c; ci++) {
        for (int k = 0; k < units; k++) {
            int unit = unit0 + k, img = unit / g->th, ty = unit % g->th;
            const float *plane = g->in + ((size_t)img * g->c + ci) * g->h * g->w;
            combine_columns4(g, plane, ty, h + (size_t)k * g->tw, ldv, line);
        }
        for (int j = 0; j < 6; j++)
            combine_rows4(h + (size_t)j * 6 * ldv, ldv, v + ((size_t)j * g->c + ci) * ldv, vstride);
    }
}

/* At applied to 6 values. */
#define AT6(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)         \
    do {                                                   \
        float p_ = (m1) + (m2), q_ = (m1) - (m2);          \
        float r_ = (m3) + (m4), s_ = (m3) - (m4);          \
        o0 = (m0) + p_ + r_;                               \
        o1 = q_ + 2.0f * s_;                               \
        o2 = p_ + 4.0f * r_;                               \
        o3 = q_ + 8.0f * s_ + (m5);                        \
    } while (0)

/* At down the columns for one column j of the 6x6 products: from M rows
 * e = i * 6 + j (i = 0..5, estride apart) into s rows j, 6 + j, 12 + j,
 * 18 + j (tiles apart). */
ET_VECTOR_CLONES static void fold_columns4(const float *restrict mat, size_t estride, size_t tiles, float *restrict s)
{
    const float *restrict m0 = mat, *restrict m1 = mat + 6 * estride, *restrict m2 = mat + 12 * estride,
                          *restrict m3 = mat + 18 * estride, *restrict m4 = mat + 24 * estride,
                          *restrict m5 = mat + 30 * estride;
    float *restrict s0 = s, *restrict s1 = s + 6 * tiles, *restrict s2 = s + 12 * tiles, *restrict s3 = s + 18 * tiles;
    for (size_t t = 0; t < tiles; t++)
        AT6(m0[t], m1[t], m2[t], m3[t], m4[t], m5[t], s0[t], s1[t], s2[t], s3[t]);
}

/* ... then along the rows: output row i's 4 columns from s rows i * 6 ..
 * i * 6 + 5, bias and ReLU, into y rows i * 4 .. i * 4 + 3. */
ET_VECTOR_CLONES static void fold_rows4(const float *restrict s, size_t tiles, float bias, int relu, float *restrict y)
{
    const float *restrict a0 = s, *restrict a1 = s + tiles, *restrict a2 = s + 2 * tiles, *restrict a3 = s + 3 * tiles,
                          *restrict a4 = s + 4 * tiles, *restrict a5 = s + 5 * tiles;
    float *restrict y0 = y, *restrict y1 = y + tiles, *restrict y2 = y + 2 * tiles, *restrict y3 = y + 3 * tiles;
    for (size_t t = 0; t < tiles; t++) {
        float o0, o1, o2, o3;
        AT6(a0[t], a1[t], a2[t], a3[t], a4[t], a5[t], o0, o1, o2, o3);
        store_outputs(o0, o1, o2, o3, bias, relu, y0, y1, y2, y3, t);
    }
}

static void output_transform4(const et_winograd *g, int unit0, int units, const float *m, size_t ldm, float *rows)
{
    size_t plane = (size_t)g->oh * g->ow, tiles = (size_t)units * g->tw, estride = (size_t)g->oc * ldm;
    float *s = rows, *y = rows + 24 * tiles;
    int tw = g->tw;
    for (int o = 0; o < g->oc; o++) {
        const float *mo = m + (size_t)o * ldm;
        for (int j = 0; j < 6; j++)
            fold_columns4(mo + (size_t)j * estride, estride, tiles, s + (size_t)j * tiles);
        for (int i = 0; i < 4; i++)
            fold_rows4(s + (size_t)i * 6 * tiles, tiles, g->bias ? g->bias[o] : 0.0f, g->relu,
                       y + (size_t)i * 4 * tiles);
        for (int k = 0; k < units; k++) {
            int unit = unit0 + k, img = unit / g->th, ty = unit % g->th;
            size_t base = (size_t)k * tw;
            for (int i = 0; i < 4 && 4 * ty + i < g->oh; i++) {
                float *dst = g->out + ((size_t)img * g->oc + o) * plane + (size_t)(4 * ty + i) * g->ow;
                for (int jj = 0; jj < 4; jj++) {
                    const float *yij = y + (size_t)(i * 4 + jj) * tiles + base;
                    for (int tx = 0; tx < tw && 4 * tx + jj < g->ow; tx++)
                        dst[4 * tx + jj] = yij[tx];
                }
            }
        }
    }
}

void et_winograd_forward(const et_winograd *g, int unit_begin, int unit_end, float *work)
{
    size_t chunk = et_winograd_chunk_tiles(g);
    int chunk_units = (int)(chunk / (size_t)g->tw), a = g->m + 2, products = a * a;
    float *v = work, *m = work + (size_t)products * g->c * chunk, *rows = m + (size_t)products * g->oc * chunk;
    for (int u0 = unit_begin; u0 < unit_end; u0 += chunk_units) {
        int units = unit_end - u0 < chunk_units ? unit_end - u0 : chunk_units;
        size_t tiles = (size_t)units * g->tw;
        if (g->m == 4)
            input_transform4(g, u0, units, v, tiles, rows);
        else
            input_transform(g, u0, units, v, tiles, rows);
        for (int e = 0; e < products; e++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->oc, (int)tiles, g->c, 1.0f,
                        g->u + (size_t)e * g->oc * g->c, g->c, v + (size_t)e * g->c * tiles, (int)tiles, 0.0f,
                        m + (size_t)e * g->oc * tiles, (int)tiles);
        if (g->m == 4)
            output_transform4(g, u0, units, m, tiles, rows);
        else
            output_transform(g, u0, units, m, tiles, rows);
    }
}
