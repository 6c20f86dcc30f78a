/* 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016): each 2x2 block of output (a tile) comes from a 4x4 block of input
 * through 16 element-wise products instead of 36 multiplications, so the
 * GEMMs do 2.25 times less work than im2col's. Per chunk of tiles: the
 * input tiles transformed (V = Bt d B) into 16 matrices [c, tiles], 16
 * GEMMs with the transformed kernels (U = G g Gt, [16][oc][c], made once
 * per frozen net), and the 16 products folded back (Y = At M A). Floats
 * are summed in another order than im2col's: results agree to about 1e-6
 * relative. */
#include <cblas.h>
#include <string.h>

#include "conv2d_winograd.h"
#include "emotrace/cpu_dispatch.h"

/* Workspace budget per chunk (floats of V and M): 1 MB, the L2 of one
 * core of the machines measured, so V and M stay in cache from the
 * transform to the GEMM and back (a quarter or 4 times as much measured
 * 5-25% slower on the emotion CNN). */
#define CHUNK_FLOATS (256 * 1024)

void et_winograd_kernels(const float *weight, int oc, int c, float *u)
{
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
    size_t tiles = CHUNK_FLOATS / (16 * (size_t)(g->c + g->oc));
    size_t row = (size_t)g->tw;
    /* Whole tile rows, at least one. */
    return tiles < row ? row : tiles / row * row;
}

size_t et_winograd_work_floats(const et_winograd *g)
{
    /* V, M, then the transforms' rows: 16 per tile of the chunk and one
     * input row in, 4 per tile out. */
    size_t tiles = et_winograd_chunk_tiles(g), in = 16 * tiles + 2 * (size_t)g->tw + 2, out = 4 * tiles;
    return 16 * (size_t)(g->c + g->oc) * tiles + (in > out ? in : out);
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
        float a = s00 + s01 + s02 + bias, b = s01 - s02 - s03 + bias;
        float c = s10 + s11 + s12 + bias, d = s11 - s12 - s13 + bias;
        if (relu) {
            a = a > 0.0f ? a : 0.0f;
            b = b > 0.0f ? b : 0.0f;
            c = c > 0.0f ? c : 0.0f;
            d = d > 0.0f ? d : 0.0f;
        }
        y00[t] = a;
        y01[t] = b;
        y10[t] = c;
        y11[t] = d;
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

void et_winograd_forward(const et_winograd *g, int unit_begin, int unit_end, float *work)
{
    size_t chunk = et_winograd_chunk_tiles(g);
    int chunk_units = (int)(chunk / (size_t)g->tw);
    float *v = work, *m = work + 16 * (size_t)g->c * chunk, *rows = m + 16 * (size_t)g->oc * chunk;
    for (int u0 = unit_begin; u0 < unit_end; u0 += chunk_units) {
        int units = unit_end - u0 < chunk_units ? unit_end - u0 : chunk_units;
        size_t tiles = (size_t)units * g->tw;
        input_transform(g, u0, units, v, tiles, rows);
        for (int e = 0; e < 16; e++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->oc, (int)tiles, g->c, 1.0f,
                        g->u + (size_t)e * g->oc * g->c, g->c, v + (size_t)e * g->c * tiles, (int)tiles, 0.0f,
                        m + (size_t)e * g->oc * tiles, (int)tiles);
        output_transform(g, u0, units, m, tiles, rows);
    }
}
