/* The detector's input: the frame, with an optional border, scaled to fit
 * the model input with its aspect ratio kept (MediaPipe's ImageToTensor with
 * keep_aspect_ratio and BORDER_ZERO: black bars), RGB in [-1, 1], CHW. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/cpu_dispatch.h"
#include "emotrace/error.h"
#include "emotrace/face_detector.h"

/* Source taps of one output row or column; valid 0 when it lies outside the frame. */
typedef struct {
    int lo, hi, valid;
    float t;
} tap;

static void make_taps(tap *taps, int count, int size, float scale, float offset)
{
    for (int o = 0; o < count; o++) {
        /* Output pixel centre back in frame pixel-index space. */
        float src = ((float)o + 0.5f - offset) / scale - 0.5f;
        taps[o].valid = src >= -0.5f && src <= (float)size - 0.5f;
        if (src < 0.0f)
            src = 0.0f;
        if (src > (float)(size - 1))
            src = (float)(size - 1);
        int lo = (int)floorf(src);
        taps[o].lo = lo;
        taps[o].hi = lo + 1 < size ? lo + 1 : lo;
        taps[o].t = src - (float)lo;
    }
}

/* Enlarging (and for tiny images): bilinear between pixel centres. */
static int resample_bilinear(const uint8_t *rgb, int width, int height, int stride, const et_letterbox *lb,
                             float *input, int input_width, int input_height)
{
    tap *cols = malloc((size_t)(input_width + input_height) * sizeof *cols);
    size_t plane = (size_t)input_width * input_height;
    if (!cols)
        return et_error_set(ET_ERR_NOMEM, "face detector: out of memory");
    tap *rows = cols + input_width;
    make_taps(cols, input_width, width, lb->scale, lb->offset_x);
    make_taps(rows, input_height, height, lb->scale, lb->offset_y);
    const float to_unit = 1.0f / 127.5f;
    for (int v = 0; v < input_height; v++) {
        tap r = rows[v];
        float *dst_r = input + (size_t)v * input_width, *dst_g = dst_r + plane, *dst_b = dst_g + plane;
        const uint8_t *top = rgb + (size_t)r.lo * stride, *bottom = rgb + (size_t)r.hi * stride;
        for (int u = 0; u < input_width; u++) {
            tap c = cols[u];
            if (!r.valid || !c.valid) {
                dst_r[u] = dst_g[u] = dst_b[u] = -1.0f;
                continue;
            }
            const uint8_t *p00 = top + 3 * c.lo, *p01 = top + 3 * c.hi;
            const uint8_t *p10 = bottom + 3 * c.lo, *p11 = bottom + 3 * c.hi;
            float w00 = (1.0f - r.t) * (1.0f - c.t), w01 = (1.0f - r.t) * c.t;
            float w10 = r.t * (1.0f - c.t), w11 = r.t * c.t;
            float out[3];
            for (int ch = 0; ch < 3; ch++)
                out[ch] = w00 * p00[ch] + w01 * p01[ch] + w10 * p10[ch] + w11 * p11[ch];
            dst_r[u] = out[0] * to_unit - 1.0f;
            dst_g[u] = out[1] * to_unit - 1.0f;
            dst_b[u] = out[2] * to_unit - 1.0f;
        }
    }
    free(cols);
    return ET_OK;
}

/* Source pixels covered by one output pixel, with their coverage. */
typedef struct {
    int first, count;
} span;

/* Output pixel o covers the source interval [(o - offset) / scale,
 * (o + 1 - offset) / scale); source pixel i weighs its overlap with it
 * times scale, so inside the image the weights add up to 1 (and the part
 * of the interval outside the image is black). */
static void make_spans(span *spans, float *weights, int taps, int count, int size, float scale, float offset)
{
    for (int o = 0; o < count; o++) {
        float a = ((float)o - offset) / scale, b = ((float)o + 1.0f - offset) / scale;
        a = a > 0.0f ? a : 0.0f;
        b = b < (float)size ? b : (float)size;
        spans[o].first = (int)floorf(a);
        spans[o].count = 0;
        for (int i = spans[o].first; (float)i < b && spans[o].count < taps; i++) {
            float lo = a > (float)i ? a : (float)i, hi = b < (float)(i + 1) ? b : (float)(i + 1);
            weights[o * taps + spans[o].count++] = (hi - lo) * scale;
        }
    }
}

/* Four floats as one vector: a pixel's three channels (and one more). */
typedef float rgbx __attribute__((vector_size(16)));

/* Model row v from the weighted sum of its frame rows, row (3 floats a
 * pixel, and one more float to read): each model pixel's three channels
 * summed together in one vector, tap by tap, which gives each channel the
 * sums of a loop per channel. */
ET_VECTOR_INLINE static void area_row_across(const float *row, const span *cols, const float *col_w, int taps,
                                             float *dst, size_t plane, int input_width)
{
    for (int u = 0; u < input_width; u++) {
        rgbx sum = {0.0f, 0.0f, 0.0f, 0.0f}, p;
        const float *src = row + 3 * (size_t)cols[u].first;
        const float *wx = col_w + u * taps;
        for (int j = 0; j < cols[u].count; j++, src += 3) {
            memcpy(&p, src, sizeof p);
            sum += wx[j] * p;
        }
        for (int ch = 0; ch < 3; ch++)
            dst[ch * plane + u] = sum[ch] / 127.5f - 1.0f;
    }
}

/* Shrinking: each model pixel averages the frame area it covers, so that
 * the detail BlazeFace looks for survives (plain bilinear sampling aliases
 * at the 3-5x reductions of video frames, and measurably lowers scores).
 * Per model row, the frame rows it covers are first summed with their
 * weights into one float row (long contiguous loops that vectorise), then
 * that row is summed across, per model pixel. Rows of the black bars are
 * written black at once (their sums are 0). */
ET_VECTOR_CLONES static int resample_area(const uint8_t *rgb, int width, int stride, int height,
                                          const et_letterbox *lb, float *input, int input_width, int input_height)
{
    int taps = (int)ceilf(1.0f / lb->scale) + 2;
    span *cols = malloc((size_t)(input_width + input_height) * sizeof *cols);
    float *weights = malloc((size_t)(input_width + input_height) * taps * sizeof(float));
    float *row = malloc(((size_t)width * 3 + 1) * sizeof(float));
    if (!cols || !weights || !row) {
        free(cols);
        free(weights);
        free(row);
        return et_error_set(ET_ERR_NOMEM, "face detector: out of memory");
    }
    span *rows = cols + input_width;
    float *col_w = weights, *row_w = weights + (size_t)input_width * taps;
    make_spans(cols, col_w, taps, input_width, width, lb->scale, lb->offset_x);
    make_spans(rows, row_w, taps, input_height, height, lb->scale, lb->offset_y);
    size_t plane = (size_t)input_width * input_height, n = (size_t)width * 3;
    row[n] = 0.0f; /* read as the 4th float of the last pixel, never used */
    for (int v = 0; v < input_height; v++) {
        float *dst = input + (size_t)v * input_width;
        if (rows[v].count == 0) {
            for (int ch = 0; ch < 3; ch++)
                for (int u = 0; u < input_width; u++)
                    dst[ch * plane + u] = -1.0f;
            continue;
        }
        for (size_t i = 0; i < n; i++)
            row[i] = 0.0f;
        for (int k = 0; k < rows[v].count; k++) {
            const uint8_t *restrict src = rgb + (size_t)(rows[v].first + k) * stride;
            float wy = row_w[v * taps + k];
            for (size_t i = 0; i < n; i++)
                row[i] += wy * (float)src[i];
        }
        area_row_across(row, cols, col_w, taps, dst, plane, input_width);
    }
    free(cols);
    free(weights);
    free(row);
    return ET_OK;
}

int et_face_letterbox(const uint8_t *rgb, int width, int height, int stride, float margin, float *input,
                      int input_width, int input_height, et_letterbox *out)
{
    if (width < 1 || height < 1 || stride < 3 * width || input_width < 1 || input_height < 1)
        return et_error_set(ET_ERR_USAGE, "face detector: bad image size %dx%d (stride %d)", width, height, stride);
    float border = margin > 0.0f ? margin * (float)(width > height ? width : height) : 0.0f;
    float canvas_w = (float)width + 2.0f * border, canvas_h = (float)height + 2.0f * border;
    float sx = (float)input_width / canvas_w, sy = (float)input_height / canvas_h;
    et_letterbox lb;
    lb.scale = sx < sy ? sx : sy;
    lb.offset_x = ((float)input_width - canvas_w * lb.scale) * 0.5f + border * lb.scale;
    lb.offset_y = ((float)input_height - canvas_h * lb.scale) * 0.5f + border * lb.scale;
    int rc = lb.scale < 1.0f ? resample_area(rgb, width, stride, height, &lb, input, input_width, input_height)
                             : resample_bilinear(rgb, width, height, stride, &lb, input, input_width, input_height);
    if (rc == ET_OK)
        *out = lb;
    return rc;
}
