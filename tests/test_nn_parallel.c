/* The engine's thread pool and the layers' tiled/threaded paths: conv2d
 * against a direct reference in every tiling (row bands, images side by
 * side, one image split between threads, strides, groups, 1x1), gradients
 * written or added, results deterministic for a thread count and close
 * across thread counts, and the ReLU fused at folding. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "../src/nn/nn_internal.h"
#include "emotrace/error.h"
#include "emotrace/nn_train.h"
#include "emotrace/rng.h"
#include "test.h"

/* --- the pool --- */

typedef struct {
    int hits[64];
    int threads_seen[64];
    int nested_threads;
    double sums[64];
    const double *values;
    size_t count;
} pool_ctx;

static void nested_part(void *ctx, int t, int threads)
{
    (void)t;
    pool_ctx *c = ctx;
    c->nested_threads = threads;
}

static void sum_part(void *ctx, int t, int threads)
{
    pool_ctx *c = ctx;
    size_t begin, end;
    et_parallel_range(c->count, t, threads, &begin, &end);
    double s = 0.0;
    for (size_t i = begin; i < end; i++)
        s += c->values[i];
    c->sums[t] = s;
    c->hits[t]++;
    c->threads_seen[t] = threads;
    if (t == threads - 1)
        et_parallel_run(0, nested_part, ctx); /* runs inline */
}

/* Parts 1 and 2 of 4 fail, each with its own code and message. */
static int failing_part(void *ctx, int t, int threads)
{
    int *ran = ctx;
    ran[t] = threads;
    if (t == 1)
        return et_error_set(ET_ERR_FORMAT, "part %d of %d failed", t, threads);
    if (t == 2)
        return et_error_set(ET_ERR_IO, "part %d of %d failed", t, threads);
    return ET_OK;
}

/* et_parallel_try: every part runs, and the calling thread gets the code
 * and message of the lowest-numbered part that failed (set on another
 * thread), or ET_OK. */
TEST(parallel_try_reports_first_failed_part)
{
    et_nn_set_threads(4);
    for (int rep = 0; rep < 20; rep++) {
        int ran[4] = {0};
        et_error_clear();
        CHECK_EQ_INT(et_parallel_try(0, failing_part, ran), ET_ERR_FORMAT);
        CHECK(!strcmp(et_error_message(), "part 1 of 4 failed"));
        for (int t = 0; t < 4; t++)
            CHECK_EQ_INT(ran[t], 4);
    }
    /* Only part 0 runs: it succeeds. */
    int ran[4] = {0};
    CHECK_EQ_INT(et_parallel_try(1, failing_part, ran), ET_OK);
    CHECK_EQ_INT(ran[0], 1);
    CHECK_EQ_INT(ran[1], 0);
    et_nn_set_threads(0);
}

TEST(parallel_run_covers_every_part)
{
    enum { N = 1000 };
    double values[N];
    for (int i = 0; i < N; i++)
        values[i] = i + 1;
    for (int threads = 1; threads <= 4; threads++) {
        et_nn_set_threads(threads);
        CHECK_EQ_INT(et_nn_threads(), threads);
        for (int rep = 0; rep < 50; rep++) {
            pool_ctx c;
            memset(&c, 0, sizeof c);
            c.values = values;
            c.count = N;
            c.nested_threads = -1;
            int used = et_parallel_run(0, sum_part, &c);
            CHECK_EQ_INT(used, threads);
            double total = 0.0;
            for (int t = 0; t < used; t++) {
                CHECK_EQ_INT(c.hits[t], 1);
                CHECK_EQ_INT(c.threads_seen[t], used);
                total += c.sums[t];
            }
            CHECK_NEAR(total, N * (N + 1) / 2.0, 1e-9);
            CHECK_EQ_INT(c.nested_threads, 1);
        }
        /* A cap below the thread count. */
        pool_ctx c;
        memset(&c, 0, sizeof c);
        c.values = values;
        c.count = N;
        CHECK_EQ_INT(et_parallel_run(1, sum_part, &c), 1);
        CHECK_NEAR(c.sums[0], N * (N + 1) / 2.0, 1e-9);
    }
    /* 0 follows OpenBLAS's setting, which a region leaves as it found it. */
    et_nn_set_threads(0);
    int blas = openblas_get_num_threads();
    CHECK_EQ_INT(et_nn_threads(), blas < 1 ? 1 : blas);
    pool_ctx c;
    memset(&c, 0, sizeof c);
    c.values = values;
    c.count = N;
    et_parallel_run(0, sum_part, &c);
    CHECK_EQ_INT(openblas_get_num_threads(), blas);
    et_nn_set_threads(0);
}

/* --- conv2d against a direct reference --- */

typedef struct {
    int batch, c, h, w, out, kh, kw, sh, sw, pt, pl, pb, pr, groups, bias;
} conv_case;

static void fill(float *v, size_t n, et_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)et_rng_normal(rng);
}

/* Direct loops in double: out, and for dout the gradients. */
static void reference(const conv_case *k, const float *in, const float *wt, const float *bias, int oh, int ow,
                      double *out, const float *dout, double *dw, double *db, double *din)
{
    int cg = k->c / k->groups, og = k->out / k->groups;
    size_t out_count = (size_t)k->batch * k->out * oh * ow;
    if (out)
        memset(out, 0, out_count * sizeof(double));
    if (dout) {
        memset(dw, 0, (size_t)k->out * cg * k->kh * k->kw * sizeof(double));
        memset(db, 0, (size_t)k->out * sizeof(double));
        memset(din, 0, (size_t)k->batch * k->c * k->h * k->w * sizeof(double));
    }
    for (int n = 0; n < k->batch; n++)
        for (int o = 0; o < k->out; o++) {
            int g = o / og;
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    size_t oi = (((size_t)n * k->out + o) * oh + oy) * ow + ox;
                    double acc = bias ? bias[o] : 0.0;
                    double gy = dout ? dout[oi] : 0.0;
                    if (dout)
                        db[o] += gy;
                    for (int c = 0; c < cg; c++)
                        for (int ky = 0; ky < k->kh; ky++)
                            for (int kx = 0; kx < k->kw; kx++) {
                                int iy = oy * k->sh - k->pt + ky, ix = ox * k->sw - k->pl + kx;
                                if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w)
                                    continue;
                                size_t ii = (((size_t)n * k->c + g * cg + c) * k->h + iy) * k->w + ix;
                                size_t wi = (((size_t)o * cg + c) * k->kh + ky) * k->kw + kx;
                                acc += (double)wt[wi] * in[ii];
                                if (dout) {
                                    dw[wi] += gy * in[ii];
                                    din[ii] += gy * wt[wi];
                                }
                            }
                    if (out)
                        out[oi] = acc;
                }
        }
}

static double worst_error(const float *got, const double *want, size_t n)
{
    double scale = 1e-3, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(want[i]) > scale)
            scale = fabs(want[i]);
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / scale;
        if (e > worst)
            worst = e;
    }
    return worst;
}

/* A ReLU in front of the conv makes the conv its input gradient's only
 * consumer (written, not added); with front 0 the gradient goes to the net
 * input (zeroed, added to). */
static void check_conv(const conv_case *k, int threads, int front)
{
    char arch[1024];
    snprintf(arch, sizeof arch,
             "{\"format\":\"emotrace-net-1\",\"input\":[%d,%d,%d],\"layers\":[%s"
             "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":%d,\"kernel\":[%d,%d],\"stride\":[%d,%d],"
             "\"pad\":[%d,%d,%d,%d],\"groups\":%d,\"bias\":%s}],\"outputs\":[\"c\"]}",
             k->c, k->h, k->w, front ? "{\"name\":\"r\",\"type\":\"relu\"}," : "", k->out, k->kh, k->kw, k->sh,
             k->sw, k->pt, k->pl, k->pb, k->pr, k->groups, k->bias ? "true" : "false");
    et_net *net = NULL;
    REQUIRE(et_net_create(&net, arch, 3) == ET_OK);
    et_nn_set_threads(threads);
    REQUIRE(et_net_prepare(net, k->batch, 1) == ET_OK);
    net->need_input_grad = 1;
    et_rng rng;
    et_rng_seed(&rng, 17);
    size_t in_count = et_tensor_count(&net->input);
    fill(net->input.data, in_count, &rng);
    if (front) /* all positive: the ReLU passes values and gradients through */
        for (size_t i = 0; i < in_count; i++)
            net->input.data[i] = fabsf(net->input.data[i]) + 0.1f;
    int ci = et_net_find_layer(net, "c");
    et_layer *conv = &net->layers[ci];
    fill(conv->params[0].value.data, et_tensor_count(&conv->params[0].value), &rng);
    if (k->bias)
        fill(conv->params[1].value.data, et_tensor_count(&conv->params[1].value), &rng);
    REQUIRE(et_net_forward(net, 1) == ET_OK);
    int oh = conv->out.h, ow = conv->out.w;
    size_t out_count = et_tensor_count(&conv->out), w_count = et_tensor_count(&conv->params[0].value);
    double *ref_out = malloc(out_count * sizeof(double)), *dw = malloc(w_count * sizeof(double));
    double *db = malloc((size_t)k->out * sizeof(double)), *din = malloc(in_count * sizeof(double));
    float *dout = malloc(out_count * sizeof(float));
    REQUIRE(ref_out && dw && db && din && dout);
    fill(dout, out_count, &rng);
    reference(k, net->input.data, conv->params[0].value.data, k->bias ? conv->params[1].value.data : NULL, oh, ow,
              ref_out, dout, dw, db, din);
    double e = worst_error(conv->out.data, ref_out, out_count);
    CHECK_MSG(e < 1e-5, "conv forward (batch %d, %dx%dx%d, out %d, k %dx%d, s %d, groups %d, %d threads): error %.3g",
              k->batch, k->c, k->h, k->w, k->out, k->kh, k->kw, k->sh, k->groups, threads, e);
    et_net_zero_grad(net);
    REQUIRE(et_tensor_resize(&conv->dout, conv->out.n, conv->out.c, conv->out.h, conv->out.w) == ET_OK);
    memcpy(conv->dout.data, dout, out_count * sizeof(float));
    /* Gradients that were left over must not leak into written ones. */
    if (front)
        for (size_t i = 0; i < et_tensor_count(&net->layers[0].dout); i++)
            net->layers[0].dout.data[i] = 1e6f;
    REQUIRE(et_net_backward(net) == ET_OK);
    CHECK_EQ_INT(net->layers[0].grad_assign, front);
    e = worst_error(conv->params[0].grad.data, dw, w_count);
    CHECK_MSG(e < 1e-5, "conv weight gradient (batch %d, %dx%dx%d, %d threads): error %.3g", k->batch, k->c, k->h,
              k->w, threads, e);
    if (k->bias) {
        e = worst_error(conv->params[1].grad.data, db, (size_t)k->out);
        CHECK_MSG(e < 1e-5, "conv bias gradient: error %.3g", e);
    }
    e = worst_error(net->dinput.data, din, in_count);
    CHECK_MSG(e < 1e-5, "conv input gradient (batch %d, %dx%dx%d, k %dx%d, s %d, %d threads, front %d): error %.3g",
              k->batch, k->c, k->h, k->w, k->kh, k->kw, k->sh, threads, front, e);
    free(ref_out);
    free(dw);
    free(db);
    free(din);
    free(dout);
    et_net_free(net);
}

TEST(parallel_conv2d_matches_reference)
{
    const conv_case cases[] = {
        /* 3x3 same: row bands (im2col over 2 MB; over 16 MB, also in the
         * weight gradient), whole images, images side by side (small map),
         * one image */
        {3, 8, 96, 90, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0},
        {1, 16, 192, 192, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {5, 3, 40, 36, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0},
        {37, 4, 6, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 2, 64, 64, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        {1, 2, 5, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
        /* stride 2 (col2im), asymmetric padding, wide kernel */
        {3, 3, 9, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
        {30, 2, 5, 5, 3, 3, 2, 2, 2, 0, 1, 1, 0, 1, 0},
        {2, 2, 7, 9, 3, 2, 4, 1, 1, 0, 1, 1, 2, 1, 1},
        /* groups, 1x1, valid (no padding) */
        {4, 4, 10, 10, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1},
        {3, 5, 12, 12, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
        {50, 6, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 2, 0},
        {3, 2, 9, 9, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int threads = 1; threads <= 3; threads++)
            for (int front = 0; front <= 1; front++)
                check_conv(&cases[i], threads, front);
    et_nn_set_threads(0);
}

/* --- whole nets: one training step per thread count --- */

static const char *CNN =
    "{\"format\":\"emotrace-net-1\",\"input\":[1,20,20],\"layers\":["
    "{\"name\":\"c1\",\"type\":\"conv2d\",\"out\":8,\"kernel\":3,\"pad\":1,\"bias\":false},"
    "{\"name\":\"b1\",\"type\":\"batchnorm\"},{\"name\":\"r1\",\"type\":\"relu\"},"
    "{\"name\":\"c2\",\"type\":\"conv2d\",\"out\":8,\"kernel\":3,\"pad\":1,\"bias\":false},"
    "{\"name\":\"b2\",\"type\":\"batchnorm\"},{\"name\":\"r2\",\"type\":\"relu\"},"
    "{\"name\":\"p1\",\"type\":\"maxpool\",\"kernel\":2},"
    "{\"name\":\"c3\",\"type\":\"conv2d\",\"out\":16,\"kernel\":3,\"stride\":2,\"pad\":1},"
    "{\"name\":\"r3\",\"type\":\"relu\"},"
    "{\"name\":\"p2\",\"type\":\"maxpool\",\"kernel\":3,\"stride\":2,\"pad\":1},"
    "{\"name\":\"d0\",\"type\":\"dropout\",\"rate\":0.3},"
    "{\"name\":\"fc\",\"type\":\"dense\",\"out\":48},{\"name\":\"bf\",\"type\":\"batchnorm\"},"
    "{\"name\":\"rf\",\"type\":\"relu\"},"
    "{\"name\":\"logits\",\"type\":\"dense\",\"out\":5}],\"outputs\":[\"logits\"]}";

/* Runs a forward/backward pass; returns all parameter gradients and the
 * logits, concatenated (caller frees). */
static float *train_step(int threads, int batch, size_t *count)
{
    et_nn_set_threads(threads);
    et_net *net = NULL;
    if (et_net_create(&net, CNN, 9) != ET_OK || et_net_prepare(net, batch, 1) != ET_OK)
        return NULL;
    et_rng rng;
    et_rng_seed(&rng, 5);
    fill(net->input.data, et_tensor_count(&net->input), &rng);
    et_rng_seed(&net->rng, 77);
    float *result = NULL;
    if (et_net_forward(net, 1) != ET_OK)
        goto done;
    et_layer *out = &net->layers[net->outputs[0]];
    et_tensor_resize(&out->dout, out->out.n, out->out.c, 1, 1);
    fill(out->dout.data, et_tensor_count(&out->dout), &rng);
    et_net_zero_grad(net);
    if (et_net_backward(net) != ET_OK)
        goto done;
    size_t total = et_tensor_count(&out->out);
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++)
            if (net->layers[l].params[p].trainable)
                total += et_tensor_count(&net->layers[l].params[p].grad);
    result = malloc(total * sizeof(float));
    size_t k = 0;
    memcpy(result, out->out.data, et_tensor_count(&out->out) * sizeof(float));
    k += et_tensor_count(&out->out);
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++)
            if (net->layers[l].params[p].trainable) {
                size_t n = et_tensor_count(&net->layers[l].params[p].grad);
                memcpy(result + k, net->layers[l].params[p].grad.data, n * sizeof(float));
                k += n;
            }
    *count = total;
done:
    et_net_free(net);
    return result;
}

TEST(parallel_training_step_deterministic)
{
    const int batches[] = {1, 3, 24};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        size_t n1 = 0, n2 = 0, n3 = 0;
        float *one = train_step(1, batches[b], &n1);
        REQUIRE(one);
        for (int threads = 2; threads <= 3; threads++) {
            float *a = train_step(threads, batches[b], &n2), *again = train_step(threads, batches[b], &n3);
            REQUIRE(a && again && n2 == n1 && n3 == n1);
            /* Same thread count: the same bits. */
            CHECK(memcmp(a, again, n1 * sizeof(float)) == 0);
            /* Other thread counts: the same up to float rounding. */
            double scale = 1e-3, worst = 0.0;
            for (size_t i = 0; i < n1; i++)
                if (fabs(one[i]) > scale)
                    scale = fabs(one[i]);
            for (size_t i = 0; i < n1; i++)
                if (fabs(a[i] - one[i]) / scale > worst)
                    worst = fabs(a[i] - one[i]) / scale;
            CHECK_MSG(worst < 1e-4, "batch %d: %d threads differ from 1 by %.3g", batches[b], threads, worst);
            free(a);
            free(again);
        }
        free(one);
    }
    et_nn_set_threads(0);
}

/* Folding fuses each ReLU after a conv/dense (and its batch norm) into the
 * conv/dense output; the net's outputs stay, also at batch 1 on 2 threads. */
TEST(parallel_fold_fuses_relu)
{
    for (int threads = 1; threads <= 2; threads++)
        for (int batch = 1; batch <= 5; batch += 4) {
            et_nn_set_threads(threads);
            et_net *net = NULL;
            REQUIRE(et_net_create(&net, CNN, 4) == ET_OK);
            REQUIRE(et_net_prepare(net, batch, 1) == ET_OK);
            et_rng rng;
            et_rng_seed(&rng, 8);
            for (int l = 0; l < net->layer_count; l++)
                for (int p = 0; p < net->layers[l].param_count; p++) {
                    et_param *param = &net->layers[l].params[p];
                    for (size_t i = 0; i < et_tensor_count(&param->value); i++) {
                        double v = et_rng_normal(&rng) * 0.3;
                        param->value.data[i] = (float)(strcmp(param->name, "running_var") ? v : 0.5 + fabs(v));
                    }
                }
            fill(net->input.data, et_tensor_count(&net->input), &rng);
            REQUIRE(et_net_forward(net, 0) == ET_OK);
            int rf = et_net_find_layer(net, "rf");
            size_t n = et_tensor_count(et_net_output(net, 0)), ne = et_tensor_count(&net->layers[rf].out);
            float *ref = malloc(n * sizeof(float)), *emb = malloc(ne * sizeof(float));
            memcpy(ref, et_net_output(net, 0)->data, n * sizeof(float));
            memcpy(emb, net->layers[rf].out.data, ne * sizeof(float));
            REQUIRE(et_net_fold_batchnorm(net) == ET_OK);
            CHECK(net->layers[et_net_find_layer(net, "r1")].identity);
            CHECK(net->layers[et_net_find_layer(net, "c1")].fused_relu);
            CHECK(net->layers[et_net_find_layer(net, "r3")].identity);
            CHECK(net->layers[et_net_find_layer(net, "c3")].fused_relu);
            CHECK(net->layers[et_net_find_layer(net, "fc")].fused_relu);
            for (int rep = 0; rep < 2; rep++) { /* buffers change hands on every pass */
                REQUIRE(et_net_forward(net, 0) == ET_OK);
                for (size_t i = 0; i < n; i++)
                    CHECK_NEAR(et_net_output(net, 0)->data[i], ref[i], 1e-4 * (1 + fabs(ref[i])));
                /* A fused chain's last layer holds its output. */
                for (size_t i = 0; i < ne; i++)
                    CHECK_NEAR(net->layers[rf].out.data[i], emb[i], 1e-4 * (1 + fabs(emb[i])));
            }
            free(ref);
            free(emb);
            et_net_free(net);
        }
    et_nn_set_threads(0);
}

/* In training, a batch norm whose only reader is a ReLU runs the ReLU
 * itself (one pass each way): the same outputs and gradients as when the
 * batch norm has another reader (here: it is also a net output) and the
 * ReLU runs on its own. */
TEST(parallel_batchnorm_relu_fused)
{
    static const char *fmt =
        "{\"format\":\"emotrace-net-1\",\"input\":[2,9,7],\"layers\":["
        "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":5,\"kernel\":3,\"pad\":1},"
        "{\"name\":\"b\",\"type\":\"batchnorm\"},{\"name\":\"r\",\"type\":\"relu\"},"
        "{\"name\":\"d\",\"type\":\"dense\",\"out\":4}],\"outputs\":[%s]}";
    char arch[2][1024];
    snprintf(arch[0], sizeof arch[0], fmt, "\"d\"");
    snprintf(arch[1], sizeof arch[1], fmt, "\"d\",\"b\"");
    et_net *net[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        REQUIRE(et_net_create(&net[k], arch[k], 6) == ET_OK);
        REQUIRE(et_net_prepare(net[k], 3, 1) == ET_OK);
        net[k]->need_input_grad = 1;
        et_rng rng;
        et_rng_seed(&rng, 21);
        fill(net[k]->input.data, et_tensor_count(&net[k]->input), &rng);
        for (int l = 0; l < net[k]->layer_count; l++)
            for (int p = 0; p < net[k]->layers[l].param_count; p++) {
                et_param *param = &net[k]->layers[l].params[p];
                fill(param->value.data, et_tensor_count(&param->value), &rng);
            }
        for (int pass = 0; pass < 2; pass++) { /* buffers change hands on every pass */
            REQUIRE(et_net_forward(net[k], 1) == ET_OK);
            et_layer *d = &net[k]->layers[3], *b = &net[k]->layers[1];
            et_tensor_resize(&d->dout, d->out.n, d->out.c, 1, 1);
            for (size_t i = 0; i < et_tensor_count(&d->dout); i++)
                d->dout.data[i] = (float)(i % 5) - 2.0f;
            if (k == 1) {
                et_tensor_resize(&b->dout, b->out.n, b->out.c, b->out.h, b->out.w);
                memset(b->dout.data, 0, et_tensor_count(&b->dout) * sizeof(float));
            }
            et_net_zero_grad(net[k]);
            REQUIRE(et_net_backward(net[k]) == ET_OK);
        }
    }
    CHECK(net[0]->layers[1].fused_relu);
    CHECK(!net[1]->layers[1].fused_relu);
    size_t n = et_tensor_count(&net[0]->layers[2].out);
    for (size_t i = 0; i < n; i++)
        CHECK_NEAR(net[0]->layers[2].out.data[i], net[1]->layers[2].out.data[i], 1e-6);
    for (int l = 0; l < net[0]->layer_count; l++)
        for (int p = 0; p < net[0]->layers[l].param_count; p++) {
            et_param *a = &net[0]->layers[l].params[p], *b = &net[1]->layers[l].params[p];
            if (!a->trainable)
                continue;
            for (size_t i = 0; i < et_tensor_count(&a->grad); i++)
                CHECK_NEAR(a->grad.data[i], b->grad.data[i], 1e-5 * (1 + fabs(b->grad.data[i])));
        }
    for (size_t i = 0; i < et_tensor_count(&net[0]->dinput); i++)
        CHECK_NEAR(net[0]->dinput.data[i], net[1]->dinput.data[i], 1e-5 * (1 + fabs(net[1]->dinput.data[i])));
    et_net_free(net[0]);
    et_net_free(net[1]);
}
