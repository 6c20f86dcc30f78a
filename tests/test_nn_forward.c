/* Forward passes against values worked out by hand, one small case (or two)
 * per layer type; the comments show the arithmetic. */
#include <string.h>

#include "../src/nn/nn_internal.h"
#include "emotrace/error.h"
#include "emotrace/rng.h"
#include "test.h"

#define TOL 1e-5
#define LN2 0.69314718f
#define LN3 1.09861229f
#define LN5 1.60943791f

#define ARCH(input, layers, outputs)                                                   \
    "{\"format\":\"emotrace-net-1\",\"input\":" input ",\"layers\":[" layers "],"   \
    "\"outputs\":" outputs "}"

static et_net *build(const char *arch, int batch, int seq_len)
{
    et_net *net = NULL;
    if (et_net_create(&net, arch, 1) != ET_OK) {
        test_fail(__FILE__, __LINE__, "et_net_create: %s", et_error_message());
        return NULL;
    }
    if (et_net_prepare(net, batch, seq_len) != ET_OK) {
        test_fail(__FILE__, __LINE__, "et_net_prepare: %s", et_error_message());
        et_net_free(net);
        return NULL;
    }
    return net;
}

static et_param *param_of(et_net *net, const char *layer, const char *name)
{
    int l = et_net_find_layer(net, layer);
    for (int p = 0; l >= 0 && p < net->layers[l].param_count; p++)
        if (!strcmp(net->layers[l].params[p].name, name))
            return &net->layers[l].params[p];
    return NULL;
}

static void set_param(et_net *net, const char *layer, const char *name, const float *values, size_t count)
{
    et_param *p = param_of(net, layer, name);
    CHECK_MSG(p && et_tensor_count(&p->value) == count, "param %s.%s missing or not %zu values", layer, name,
              count);
    if (p && et_tensor_count(&p->value) == count)
        memcpy(p->value.data, values, count * sizeof(float));
}

/* Fills the input and runs inference. */
static void run(et_net *net, const float *input, size_t input_count)
{
    CHECK_EQ_INT(et_tensor_count(&net->input), input_count);
    memcpy(net->input.data, input, input_count * sizeof(float));
    int rc = et_net_forward(net, 0);
    CHECK_MSG(rc == ET_OK, "forward: %s", et_error_message());
}

static void check_output(et_net *net, int out_index, const float *expected, size_t count, const char *what)
{
    et_tensor *out = et_net_output(net, out_index);
    CHECK_MSG(et_tensor_count(out) == count, "%s: %zu outputs, expected %zu", what, et_tensor_count(out), count);
    for (size_t i = 0; i < count && i < et_tensor_count(out); i++)
        CHECK_MSG(fabs(out->data[i] - expected[i]) <= TOL * (1.0 + fabs(expected[i])),
                  "%s: output %zu is %.9g, expected %.9g", what, i, out->data[i], expected[i]);
}

TEST(fwd_conv2d_stride2_padding)
{
    et_net *net = build(ARCH("[1,4,4]", "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":1,\"kernel\":3,\"stride\":2,"
                                        "\"pad\":1}", "[\"c\"]"), 2, 1);
    REQUIRE(net);
    /* Kernel: 1 top-left, 10 centre, 100 bottom-right, so
     * y(oy, ox) = x(2oy-1, 2ox-1) + 10 x(2oy, 2ox) + 100 x(2oy+1, 2ox+1) + 0.5
     * with x = 0 outside the 4x4 image. */
    const float w[9] = {1, 0, 0, 0, 10, 0, 0, 0, 100}, b[1] = {0.5f};
    set_param(net, "c", "weight", w, 9);
    set_param(net, "c", "bias", b, 1);
    /* Image 0 is 1..16 row by row; image 1 is twice that (a batch of two
     * takes the shared-GEMM path). */
    float x[32];
    for (int i = 0; i < 16; i++) {
        x[i] = (float)(i + 1);
        x[16 + i] = 2.0f * (float)(i + 1);
    }
    run(net, x, 32);
    /* (0,0): 0 + 10*1 + 100*6 = 610;   (0,1): 0 + 10*3 + 100*8 = 830;
     * (1,0): 0 + 10*9 + 100*14 = 1490; (1,1): 6 + 10*11 + 100*16 = 1716;
     * each + 0.5; image 1: 2 * (sum) + 0.5. */
    const float expect[8] = {610.5f, 830.5f, 1490.5f, 1716.5f, 1220.5f, 1660.5f, 2980.5f, 3432.5f};
    check_output(net, 0, expect, 8, "conv2d stride 2 pad 1");
    et_net_free(net);
}

TEST(fwd_conv2d_groups)
{
    et_net *net = build(ARCH("[2,2,2]", "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":2,\"kernel\":2,\"groups\":2}",
                             "[\"c\"]"), 1, 1);
    REQUIRE(net);
    /* Output 0 sees only channel 0, output 1 only channel 1. */
    const float w[8] = {1, 2, 3, 4, /* out 0 */ 1, 0, 0, -1 /* out 1 */}, b[2] = {0.5f, -0.5f};
    set_param(net, "c", "weight", w, 8);
    set_param(net, "c", "bias", b, 2);
    const float x[8] = {1, 2, 3, 4, /* channel 0 */ 5, 6, 7, 8 /* channel 1 */};
    run(net, x, 8);
    /* out 0: 1*1 + 2*2 + 3*3 + 4*4 + 0.5 = 30.5; out 1: 5 - 8 - 0.5 = -3.5 */
    const float expect[2] = {30.5f, -3.5f};
    check_output(net, 0, expect, 2, "conv2d groups");
    et_net_free(net);
}

TEST(fwd_batchnorm_inference)
{
    /* eps 0 keeps the arithmetic exact. */
    et_net *net = build(ARCH("[2,1,2]", "{\"name\":\"bn\",\"type\":\"batchnorm\",\"eps\":0}", "[\"bn\"]"), 1, 1);
    REQUIRE(net);
    const float gamma[2] = {3, 0.5f}, beta[2] = {1, -1}, mean[2] = {1, 2}, var[2] = {4, 0.25f};
    set_param(net, "bn", "weight", gamma, 2);
    set_param(net, "bn", "bias", beta, 2);
    set_param(net, "bn", "running_mean", mean, 2);
    set_param(net, "bn", "running_var", var, 2);
    const float x[4] = {3, -1, 2.5f, 1};
    run(net, x, 4);
    /* c0: 3 * (x - 1) / 2 + 1:    3 -> 4,    -1 -> -2
     * c1: 0.5 * (x - 2) / 0.5 - 1: 2.5 -> -0.5, 1 -> -2 */
    const float expect[4] = {4, -2, -0.5f, -2};
    check_output(net, 0, expect, 4, "batchnorm");
    et_net_free(net);
}

TEST(fwd_relu)
{
    et_net *net = build(ARCH("[4,1,1]", "{\"name\":\"r\",\"type\":\"relu\"}", "[\"r\"]"), 1, 1);
    REQUIRE(net);
    const float x[4] = {-1, 0, 2.5f, -3}, expect[4] = {0, 0, 2.5f, 0};
    run(net, x, 4);
    check_output(net, 0, expect, 4, "relu");
    et_net_free(net);
}

TEST(fwd_maxpool)
{
    et_net *net = build(ARCH("[1,4,4]", "{\"name\":\"p\",\"type\":\"maxpool\",\"kernel\":2}", "[\"p\"]"), 1, 1);
    REQUIRE(net);
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    run(net, x, 16);
    /* 2x2 blocks of 1..16: max(1,2,5,6) = 6, max(3,4,7,8) = 8, 14, 16 */
    const float expect[4] = {6, 8, 14, 16};
    check_output(net, 0, expect, 4, "maxpool 2x2");
    et_net_free(net);

    /* Padding never wins, even over negative values. */
    net = build(ARCH("[1,3,3]", "{\"name\":\"p\",\"type\":\"maxpool\",\"kernel\":3,\"stride\":2,\"pad\":1}",
                     "[\"p\"]"), 1, 1);
    REQUIRE(net);
    const float xn[9] = {-1, -2, -3, -4, -5, -6, -7, -8, -9};
    run(net, xn, 9);
    /* (0,0): max(-1,-2,-4,-5) = -1; (0,1): max(-2,-3,-5,-6) = -2;
     * (1,0): max(-4,-5,-7,-8) = -4; (1,1): max(-5,-6,-8,-9) = -5 */
    const float expect_pad[4] = {-1, -2, -4, -5};
    check_output(net, 0, expect_pad, 4, "maxpool padded");
    et_net_free(net);
}

TEST(fwd_global_avgpool)
{
    et_net *net = build(ARCH("[2,2,2]", "{\"name\":\"g\",\"type\":\"global_avgpool\"}", "[\"g\"]"), 1, 1);
    REQUIRE(net);
    const float x[8] = {1, 2, 3, 4, -1, -1, 4, 6};
    run(net, x, 8);
    /* (1+2+3+4)/4 = 2.5; (-1-1+4+6)/4 = 2 */
    const float expect[2] = {2.5f, 2};
    check_output(net, 0, expect, 2, "global_avgpool");
    et_net_free(net);
}

TEST(fwd_dense)
{
    et_net *net = build(ARCH("[3,1,1]", "{\"name\":\"d\",\"type\":\"dense\",\"out\":2}", "[\"d\"]"), 2, 1);
    REQUIRE(net);
    const float w[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f}, b[2] = {0.25f, -1};
    set_param(net, "d", "weight", w, 6);
    set_param(net, "d", "bias", b, 2);
    const float x[6] = {1, 2, 3, 0, 1, 0};
    run(net, x, 6);
    /* row 0: 1 - 3 + 0.25 = -1.75; 0.5*(1+2+3) - 1 = 2
     * row 1: 0 + 0.25 = 0.25;       0.5*1 - 1 = -0.5 */
    const float expect[4] = {-1.75f, 2, 0.25f, -0.5f};
    check_output(net, 0, expect, 4, "dense");
    et_net_free(net);
}

TEST(fwd_dropout_inference)
{
    et_net *net = build(ARCH("[4,1,1]", "{\"name\":\"d\",\"type\":\"dropout\",\"rate\":0.5}", "[\"d\"]"), 1, 1);
    REQUIRE(net);
    const float x[4] = {1, -2, 3, 4};
    run(net, x, 4);
    check_output(net, 0, x, 4, "dropout at inference passes values through");
    et_net_free(net);
}

TEST(fwd_softmax)
{
    et_net *net = build(ARCH("[3,1,1]", "{\"name\":\"s\",\"type\":\"softmax\"}", "[\"s\"]"), 1, 1);
    REQUIRE(net);
    /* exp(0, ln 2, ln 5) = (1, 2, 5), sum 8 */
    const float x[3] = {0, LN2, LN5}, expect[3] = {0.125f, 0.25f, 0.625f};
    run(net, x, 3);
    check_output(net, 0, expect, 3, "softmax");
    et_net_free(net);

    /* Over channels at each position: position 0 has (0, 0), position 1 (ln 3, 0). */
    net = build(ARCH("[2,1,2]", "{\"name\":\"s\",\"type\":\"softmax\"}", "[\"s\"]"), 1, 1);
    REQUIRE(net);
    const float xs[4] = {0, LN3, /* channel 0 */ 0, 0 /* channel 1 */};
    run(net, xs, 4);
    /* position 0: 1/2, 1/2; position 1: 3/4, 1/4 */
    const float expect_s[4] = {0.5f, 0.75f, 0.5f, 0.25f};
    check_output(net, 0, expect_s, 4, "softmax per position");
    et_net_free(net);
}

TEST(fwd_leaky_relu)
{
    et_net *net = build(ARCH("[4,1,1]", "{\"name\":\"a\",\"type\":\"leaky_relu\",\"slope\":0.1},"
                                        "{\"name\":\"b\",\"type\":\"leaky_relu\",\"in\":\"input\"}",
                             "[\"a\",\"b\"]"), 1, 1);
    REQUIRE(net);
    const float x[4] = {-2, 3, 0, -0.5f};
    run(net, x, 4);
    /* slope 0.1: -2 -> -0.2, -0.5 -> -0.05; default 0.01: -2 -> -0.02, -0.5 -> -0.005 */
    const float expect_a[4] = {-0.2f, 3, 0, -0.05f}, expect_b[4] = {-0.02f, 3, 0, -0.005f};
    check_output(net, 0, expect_a, 4, "leaky_relu 0.1");
    check_output(net, 1, expect_b, 4, "leaky_relu default");
    et_net_free(net);
}

TEST(fwd_prelu)
{
    et_net *net = build(ARCH("[2,1,2]", "{\"name\":\"p\",\"type\":\"prelu\"}", "[\"p\"]"), 1, 1);
    REQUIRE(net);
    const float x[4] = {-4, 2, /* channel 0 */ -4, -1 /* channel 1 */};
    /* Fresh slopes are 0.25: -4 -> -1, 2 -> 2, -4 -> -1, -1 -> -0.25 */
    run(net, x, 4);
    const float expect_init[4] = {-1, 2, -1, -0.25f};
    check_output(net, 0, expect_init, 4, "prelu initial slope");
    /* Slopes (0.25, 0.5): channel 1 becomes -2, -0.5 */
    const float slope[2] = {0.25f, 0.5f};
    set_param(net, "p", "slope", slope, 2);
    run(net, x, 4);
    const float expect[4] = {-1, 2, -2, -0.5f};
    check_output(net, 0, expect, 4, "prelu per channel");
    et_net_free(net);
}

TEST(fwd_avgpool)
{
    et_net *net = build(ARCH("[1,4,4]", "{\"name\":\"p\",\"type\":\"avgpool\",\"kernel\":2}", "[\"p\"]"), 1, 1);
    REQUIRE(net);
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    run(net, x, 16);
    /* (1+2+5+6)/4 = 3.5, (3+4+7+8)/4 = 5.5, (9+10+13+14)/4 = 11.5, (11+12+15+16)/4 = 13.5 */
    const float expect[4] = {3.5f, 5.5f, 11.5f, 13.5f};
    check_output(net, 0, expect, 4, "avgpool 2x2");
    et_net_free(net);

    net = build(ARCH("[1,3,3]", "{\"name\":\"p\",\"type\":\"avgpool\",\"kernel\":3,\"stride\":2,\"pad\":1}",
                     "[\"p\"]"), 1, 1);
    REQUIRE(net);
    /* 3x3 of 1..9; each window covers 4 valid values (not 9):
     * (1+2+4+5)/4 = 3, (2+3+5+6)/4 = 4, (4+5+7+8)/4 = 6, (5+6+8+9)/4 = 7 */
    run(net, x, 9);
    const float expect_pad[4] = {3, 4, 6, 7};
    check_output(net, 0, expect_pad, 4, "avgpool padded");
    et_net_free(net);
}

TEST(fwd_add)
{
    et_net *net = build(ARCH("[1,1,2]", "{\"name\":\"r\",\"type\":\"relu\"},"
                                        "{\"name\":\"a\",\"type\":\"add\",\"in\":[\"input\",\"r\"]},"
                                        "{\"name\":\"a3\",\"type\":\"add\",\"in\":[\"input\",\"r\",\"input\"]}",
                             "[\"a\",\"a3\"]"), 1, 1);
    REQUIRE(net);
    const float x[2] = {-1, 2};
    run(net, x, 2);
    /* x + relu(x) = (-1 + 0, 2 + 2); 2x + relu(x) = (-2, 6) */
    const float expect[2] = {-1, 4}, expect3[2] = {-2, 6};
    check_output(net, 0, expect, 2, "add");
    check_output(net, 1, expect3, 2, "add of three");
    et_net_free(net);
}

TEST(fwd_concat)
{
    et_net *net = build(ARCH("[1,1,2]", "{\"name\":\"l\",\"type\":\"leaky_relu\",\"slope\":0.5},"
                                        "{\"name\":\"k\",\"type\":\"concat\",\"in\":[\"input\",\"l\"]}",
                             "[\"k\"]"), 2, 1);
    REQUIRE(net);
    const float x[4] = {-2, 4, 6, -8};
    run(net, x, 4);
    /* Each sample: its input channel, then the leaky one (negatives halved). */
    const float expect[8] = {-2, 4, -1, 4, /* sample 1 */ 6, -8, 6, -4};
    check_output(net, 0, expect, 8, "concat");
    et_net_free(net);
}

TEST(fwd_channel_pad)
{
    et_net *net = build(ARCH("[2,1,2]", "{\"name\":\"p\",\"type\":\"channel_pad\",\"out\":3}", "[\"p\"]"), 2, 1);
    REQUIRE(net);
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    run(net, x, 8);
    const float expect[12] = {1, 2, 3, 4, 0, 0, /* sample 1 */ 5, 6, 7, 8, 0, 0};
    check_output(net, 0, expect, 12, "channel_pad");
    et_net_free(net);
}

/* One zero row below and one zero column right of each 2x2 plane (face-api's
 * residualDown), and a plane framed on all sides. */
TEST(fwd_zero_pad)
{
    et_net *net = build(ARCH("[2,2,2]", "{\"name\":\"p\",\"type\":\"zero_pad\",\"pad\":[0,0,1,1]}", "[\"p\"]"), 1, 1);
    REQUIRE(net);
    CHECK_EQ_INT(net->layers[0].out_shape.h, 3);
    CHECK_EQ_INT(net->layers[0].out_shape.w, 3);
    const float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    run(net, x, 8);
    const float expect[18] = {1, 2, 0, 3, 4, 0, 0, 0, 0, /* channel 1 */ 5, 6, 0, 7, 8, 0, 0, 0, 0};
    check_output(net, 0, expect, 18, "zero_pad");
    et_net_free(net);
    net = build(ARCH("[1,1,2]", "{\"name\":\"p\",\"type\":\"zero_pad\",\"pad\":[1,2,0,1]}", "[\"p\"]"), 1, 1);
    REQUIRE(net);
    run(net, x, 2);
    const float framed[10] = {0, 0, 0, 0, 0, /* row 1 */ 0, 0, 1, 2, 0};
    check_output(net, 0, framed, 10, "zero_pad framed");
    et_net_free(net);
    et_net *bad = NULL;
    CHECK(et_net_create(&bad, ARCH("[1,1,2]", "{\"name\":\"p\",\"type\":\"zero_pad\",\"pad\":-1}", "[\"p\"]"), 1) ==
          ET_ERR_FORMAT);
    CHECK(et_net_create(&bad, ARCH("[1,1,2]", "{\"name\":\"p\",\"type\":\"zero_pad\"}", "[\"p\"]"), 1) ==
          ET_ERR_FORMAT);
}

/* sigmoid(ln 3) = 3/4, sigmoid(0) = 1/2, tanh(ln 3) = (3 - 1/3)/(3 + 1/3) = 4/5. */
TEST(fwd_lstm_two_steps)
{
    et_net *net = build(ARCH("[2,1,1]", "{\"name\":\"l\",\"type\":\"lstm\",\"hidden\":1}", "[\"l\"]"), 1, 2);
    REQUIRE(net);
    /* A fresh layer's forget-gate bias is 1, the others 0. */
    et_param *bias = param_of(net, "l", "bias");
    REQUIRE(bias);
    CHECK(bias->value.data[0] == 0.0f && bias->value.data[1] == 1.0f && bias->value.data[2] == 0.0f &&
          bias->value.data[3] == 0.0f);
    /* weight_ih rows (gate i, f, g, o) by columns (x0, x1); x1's column is
     * zero, so a transposed reading would show. */
    const float w_ih[8] = {LN3, 0, 0, 0, LN3, 0, -LN3, 0};
    const float w_hh[4] = {0, 0, 0, 0};
    const float b[4] = {0, LN3, 0, LN3};
    set_param(net, "l", "weight_ih", w_ih, 8);
    set_param(net, "l", "weight_hh", w_hh, 4);
    set_param(net, "l", "bias", b, 4);
    const float x[4] = {1, 0, /* step 1 */ 0, 7};
    run(net, x, 4);
    /* step 0: i = s(ln 3) = .75, f = s(ln 3) (c_-1 = 0), g = tanh(ln 3) = .8,
     *         o = s(-ln 3 + ln 3) = .5; c = .75 * .8 = .6; h = .5 tanh(.6) = .268524783
     * step 1: i = s(0) = .5, f = s(ln 3) = .75, g = tanh(0) = 0, o = s(ln 3) = .75;
     *         c = .75 * .6 + .5 * 0 = .45; h = .75 tanh(.45) = .316424254 */
    const float expect[2] = {0.268524783f, 0.316424254f};
    check_output(net, 0, expect, 2, "lstm two steps");
    et_net_free(net);
}

TEST(fwd_lstm_recurrent_weights_from_state)
{
    et_net *net = build(ARCH("[1,1,1]", "{\"name\":\"l\",\"type\":\"lstm\",\"hidden\":1}", "[\"l\"]"), 1, 1);
    REQUIRE(net);
    const float w_ih[4] = {0, 0, 0, 0}, w_hh[4] = {LN3, 0, LN3, 0}, b[4] = {0, 0, 0, 0};
    set_param(net, "l", "weight_ih", w_ih, 4);
    set_param(net, "l", "weight_hh", w_hh, 4);
    set_param(net, "l", "bias", b, 4);
    et_net_set_streaming(net, 1);
    CHECK_EQ_INT(et_net_state_size(net), 2);
    const float state[2] = {1, 2}; /* h = 1, c = 2 */
    CHECK(et_net_state_set(net, 0, state) == ET_OK);
    const float x[1] = {5};
    run(net, x, 1);
    /* i = s(ln 3 * 1) = .75, f = s(0) = .5, g = tanh(ln 3) = .8, o = s(0) = .5;
     * c = .5 * 2 + .75 * .8 = 1.6; h = .5 tanh(1.6) = .460834277 */
    const float expect[1] = {0.460834277f};
    check_output(net, 0, expect, 1, "lstm from a set state");
    float after[2];
    CHECK(et_net_state_get(net, 0, after) == ET_OK);
    CHECK_NEAR(after[0], 0.460834277, 1e-6);
    CHECK_NEAR(after[1], 1.6, 1e-6);
    et_net_free(net);
}

/* Architecture numbers from a broken or hostile weights file: refused with a
 * message naming what is wrong, before any shape arithmetic could overflow
 * or a huge allocation start. */
TEST(net_architecture_numbers_out_of_range_rejected)
{
#define X "[\"x\"]"
    static const struct {
        const char *arch, *detail;
    } cases[] = {
        {ARCH("[1,8,8]", "{\"name\":\"x\",\"type\":\"dense\",\"out\":1e300}", X), "\"out\""},
        {ARCH("[1,8,8]", "{\"name\":\"x\",\"type\":\"dense\",\"out\":2.5}", X), "whole numbers"},
        {ARCH("[1,8,8]", "{\"name\":\"x\",\"type\":\"conv2d\",\"out\":4,\"kernel\":1e10}", X), "\"kernel\""},
        {ARCH("[1,8,8]", "{\"name\":\"x\",\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"groups\":-1e19}", X), "\"groups\""},
        {ARCH("[1,8,8]", "{\"name\":\"x\",\"type\":\"maxpool\",\"kernel\":2,\"stride\":[1,-1e30]}", X), "\"stride\""},
        {ARCH("[1,1e9,8]", "{\"name\":\"x\",\"type\":\"relu\"}", X), "\"input\""},
        {ARCH("[1,60000,60000]", "{\"name\":\"x\",\"type\":\"relu\"}", X), "\"input\""},
        {ARCH("[1,48,48]", "{\"name\":\"u\",\"type\":\"upsample_bilinear\",\"scale\":64},"
                           "{\"name\":\"x\",\"type\":\"upsample_bilinear\",\"scale\":64}", X), "layer 'x' gives an output"},
        {ARCH("[1,8,8]", "{\"name\":\"x\",\"type\":\"upsample_bilinear\",\"scale\":1e12}", X), "\"scale\""},
        {ARCH("[1,8,8]", "{\"name\":\"x\",\"type\":\"depth_to_space\",\"block\":-3e9}", X), "\"block\""},
        {ARCH("[4,8,8]", "{\"name\":\"x\",\"type\":\"depthwise_conv2d\",\"kernel\":3,\"multiplier\":1e40}", X),
         "\"multiplier\""},
        /* Sizes each within the limits whose weight would be 2^32 floats: refused
     * before anything is allocated. */
        {ARCH("[65536,1,1]", "{\"name\":\"x\",\"type\":\"dense\",\"out\":65536}", X), "layer 'x': out of memory"},
    };
#undef X
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        et_net *net = NULL;
        et_error_clear();
        int rc = et_net_create(&net, cases[i].arch, 1);
        const char *msg = et_error_message();
        CHECK_MSG(rc != ET_OK && !net, "case %zu accepted: %s", i, cases[i].arch);
        CHECK_MSG(msg && strstr(msg, cases[i].detail), "case %zu: message lacks %s: %s", i, cases[i].detail,
                  msg ? msg : "(none)");
        et_net_free(net);
    }
    /* The limits leave room for real nets: the same layers at sane sizes. */
    et_net *net = NULL;
    CHECK_MSG(et_net_create(&net, "{\"format\":\"emotrace-net-1\",\"input\":[1,48,48],\"layers\":["
                                  "{\"name\":\"u\",\"type\":\"upsample_bilinear\",\"scale\":4},"
                                  "{\"name\":\"x\",\"type\":\"dense\",\"out\":7}],\"outputs\":[\"x\"]}",
                            1) == ET_OK,
              "a sane net: %s", et_error_message());
    et_net_free(net);
}

/* A residual block whose batch norm starts at scale 0 adds nothing, so a
 * trained net grown by such a block (et_net_copy_params by layer name)
 * computes exactly what it did, in training and in inference. */
#define GROW_STEM                                                                                          \
    "{\"name\":\"conv\",\"type\":\"conv2d\",\"out\":2,\"kernel\":3,\"pad\":1,\"bias\":false},"             \
    "{\"name\":\"bn\",\"type\":\"batchnorm\"},{\"name\":\"relu\",\"type\":\"relu\"},"

TEST(net_grown_by_zero_scale_residual_block_keeps_outputs)
{
    const char *small = ARCH("[1,4,4]", GROW_STEM "{\"name\":\"fc\",\"type\":\"dense\",\"out\":3}", "[\"fc\"]");
    const char *grown =
        ARCH("[1,4,4]",
             GROW_STEM "{\"name\":\"conv2\",\"type\":\"conv2d\",\"out\":2,\"kernel\":3,\"pad\":1,\"bias\":false},"
                       "{\"name\":\"bn2\",\"type\":\"batchnorm\",\"scale_init\":0},{\"name\":\"relu2\",\"type\":\"relu\"},"
                       "{\"name\":\"sum\",\"type\":\"add\",\"in\":[\"relu\",\"relu2\"]},"
                       "{\"name\":\"fc\",\"type\":\"dense\",\"out\":3}",
             "[\"fc\"]");
    et_net *a = build(small, 4, 1), *b = build(grown, 4, 1);
    REQUIRE(a && b);
    CHECK(param_of(b, "bn2", "weight")->value.data[1] == 0.0f);
    CHECK(param_of(b, "bn", "weight")->value.data[1] == 1.0f);
    CHECK(param_of(b, "bn2", "running_var")->value.data[0] == 1.0f);
    /* Trained-looking values in the shared layers. */
    et_param *bn_mean = param_of(a, "bn", "running_mean"), *bn_bias = param_of(a, "bn", "bias");
    bn_mean->value.data[0] = 0.3f;
    bn_bias->value.data[1] = -0.2f;
    CHECK_MSG(et_net_copy_params(b, a) == ET_OK, "copy: %s", et_error_message());
    CHECK(param_of(b, "bn", "running_mean")->value.data[0] == 0.3f);
    et_rng rng;
    et_rng_seed(&rng, 5);
    for (int train = 1; train >= 0; train--) {
        for (size_t i = 0; i < et_tensor_count(&a->input); i++)
            a->input.data[i] = b->input.data[i] = (float)et_rng_normal(&rng);
        REQUIRE(et_net_forward(a, train) == ET_OK && et_net_forward(b, train) == ET_OK);
        const et_tensor *ya = et_net_output(a, 0), *yb = et_net_output(b, 0);
        for (size_t i = 0; i < et_tensor_count(ya); i++)
            CHECK_MSG(fabsf(ya->data[i] - yb->data[i]) <= 1e-6f * (1 + fabsf(ya->data[i])),
                      "train %d output %zu: grown %.9g, original %.9g", train, i, yb->data[i], ya->data[i]);
    }
    /* The other way a layer is missing: an error that names it. */
    CHECK(et_net_copy_params(a, b) != ET_OK);
    CHECK_MSG(strstr(et_error_message(), "'conv2'") != NULL, "message: %s", et_error_message());
    et_net_free(a);
    et_net_free(b);
    /* Same name, other kind of layer. */
    const char *other = ARCH("[1,4,4]", GROW_STEM "{\"name\":\"fc\",\"type\":\"relu\"}", "[\"fc\"]");
    a = build(small, 1, 1);
    b = build(other, 1, 1);
    REQUIRE(a && b);
    CHECK(et_net_copy_params(b, a) != ET_OK);
    CHECK_MSG(strstr(et_error_message(), "'fc'") != NULL, "message: %s", et_error_message());
    et_net_free(a);
    et_net_free(b);
}
