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
    size_t tiles = et_winograd_chunk_tiles(g);
    return 16 * (size_t)(g->c + g->oc) * tiles + 8 * ((size_t)g->tw * 2 + 2);
}

/* V for tile rows [unit0, unit0 + units) (unit = image * th + tile row):
 * v[(e * c + ci) * ldv + tile]. rows: scratch of 8 * (2 tw + 2) floats. */
ET_VECTOR_CLONES static void input_transform(const et_winograd *g, int unit0, int units, float *v, size_t ldv,
                                             float *rows)
{
    int len = 2 * g->tw + 2; /* input columns -pl .. 2 tw + 1 - pl */
    float *r[4], *t[4];
    for (int i = 0; i < 4; i++) {
        r[i] = rows + (size_t)i * len;
        t[i] = rows + (size_t)(4 + i) * len;
    }
    for (int ci = 0; ci < g->c; ci++)
        for (int k = 0; k < units; k++) {
            int unit = unit0 + k, img = unit / g->th, ty = unit % g->th;
            const float *plane = g->in + ((size_t)img * g->c + ci) * g->h * g->w;
            for (int i = 0; i < 4; i++) {
                int y = 2 * ty - g->pt + i;
                if (y < 0 || y >= g->h) {
                    memset(r[i], 0, (size_t)len * sizeof(float));
                    continue;
                }
                const float *src = plane + (size_t)y * g->w;
                for (int x = 0; x < len; x++) {
                    int sx = x - g->pl;
                    r[i][x] = sx >= 0 && sx < g->w ? src[sx] : 0.0f;
                }
            }
            /* Bt down the columns, for the whole row of tiles at once. */
            for (int x = 0; x < len; x++) {
                t[0][x] = r[0][x] - r[2][x];
                t[1][x] = r[1][x] + r[2][x];
                t[2][x] = r[2][x] - r[1][x];
                t[3][x] = r[1][x] - r[3][x];
            }
            /* ... then B along each tile's 4 columns. */
            size_t base = (size_t)k * g->tw;
            for (int i = 0; i < 4; i++) {
                float *v0 = v + ((size_t)(i * 4 + 0) * g->c + ci) * ldv + base;
                float *v1 = v + ((size_t)(i * 4 + 1) * g->c + ci) * ldv + base;
                float *v2 = v + ((size_t)(i * 4 + 2) * g->c + ci) * ldv + base;
                float *v3 = v + ((size_t)(i * 4 + 3) * g->c + ci) * ldv + base;
                const float *s = t[i];
                for (int tx = 0; tx < g->tw; tx++) {
                    const float *q = s + 2 * tx;
                    v0[tx] = q[0] - q[2];
                    v1[tx] = q[1] + q[2];
                    v2[tx] = q[2] - q[1];
                    v3[tx] = q[1] - q[3];
                }
            }
        }
}

/* Y = At M A for tile rows [unit0, unit0 + units), bias and ReLU, into the
 * output (the last row or column of a tile dropped past an odd edge). */
ET_VECTOR_CLONES static void output_transform(const et_winograd *g, int unit0, int units, const float *m,
                                              size_t ldm)
{
    size_t plane = (size_t)g->oh * g->ow;
    for (int o = 0; o < g->oc; o++) {
        float bias = g->bias ? g->bias[o] : 0.0f;
        for (int k = 0; k < units; k++) {
            int unit = unit0 + k, img = unit / g->th, ty = unit % g->th;
            float *dst = g->out + ((size_t)img * g->oc + o) * plane + (size_t)(2 * ty) * g->ow;
            int two_rows = 2 * ty + 1 < g->oh;
            const float *me[16];
            for (int e = 0; e < 16; e++)
                me[e] = m + ((size_t)e * g->oc + o) * ldm + (size_t)k * g->tw;
            for (int tx = 0; tx < g->tw; tx++) {
                float s[2][4];
                for (int j = 0; j < 4; j++) {
                    s[0][j] = me[j][tx] + me[4 + j][tx] + me[8 + j][tx];
                    s[1][j] = me[4 + j][tx] - me[8 + j][tx] - me[12 + j][tx];
                }
                float y[2][2];
                for (int i = 0; i < 2; i++) {
                    y[i][0] = s[i][0] + s[i][1] + s[i][2] + bias;
                    y[i][1] = s[i][1] - s[i][2] - s[i][3] + bias;
                    if (g->relu) {
                        y[i][0] = y[i][0] > 0.0f ? y[i][0] : 0.0f;
                        y[i][1] = y[i][1] > 0.0f ? y[i][1] : 0.0f;
                    }
                }
                int x = 2 * tx;
                dst[x] = y[0][0];
                if (two_rows)
                    dst[g->ow + x] = y[1][0];
                if (x + 1 < g->ow) {
                    dst[x + 1] = y[0][1];
                    if (two_rows)
                        dst[g->ow + x + 1] = y[1][1];
                }
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
        output_transform(g, u0, units, m, tiles);
    }
}
