/* depthwise_conv2d: gradient checks (stride 1 and 2, TensorFlow SAME-style
 * asymmetric padding, channel multiplier) and a forward pass checked by hand. */
#include <stdio.h>
#include <string.h>

#include "../src/nn/nn_internal.h"
#include "emotrace/error.h"
#include "emotrace/nn_train.h"
#include "gradcheck.h"
#include "test.h"

#define MAX_REL_ERROR 1e-3

static void check_grad(const char *arch, int batch)
{
    double rel = gradcheck_net(arch, batch, 1, 1, 7, 200);
    CHECK_MSG(rel >= 0.0 && rel < MAX_REL_ERROR, "relative gradient error %.3g for %s", rel, arch);
}

TEST(grad_depthwise_stride1)
{
    /* 3x3 SAME at stride 1: one pixel on every side. Width 11 covers a full
     * vector block plus a tail. */
    check_grad("{\"format\":\"emotrace-net-1\",\"input\":[3,5,11],\"layers\":["
               "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":3,\"pad\":1}],"
               "\"outputs\":[\"d\"]}", 2);
    /* 5x5 SAME, no bias, channel multiplier 2. */
    check_grad("{\"format\":\"emotrace-net-1\",\"input\":[2,6,6],\"layers\":["
               "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":5,\"pad\":2,\"multiplier\":2,"
               "\"bias\":false}],\"outputs\":[\"d\"]}", 2);
}

TEST(grad_depthwise_stride2_same_padding)
{
    /* TensorFlow SAME at stride 2 on an even size pads only bottom/right:
     * 3x3 on 8x20 -> 4x10 with pad [0,0,1,1]. */
    check_grad("{\"format\":\"emotrace-net-1\",\"input\":[3,8,20],\"layers\":["
               "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":3,\"stride\":2,\"pad\":[0,0,1,1]}],"
               "\"outputs\":[\"d\"]}", 2);
    /* Odd size, non-square kernel, uneven pads, stacked after a conv so the
     * input gradient flows through. */
    check_grad("{\"format\":\"emotrace-net-1\",\"input\":[2,7,9],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":2,\"kernel\":3,\"pad\":1},"
               "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":[3,5],\"stride\":2,\"pad\":[1,2,1,2]}],"
               "\"outputs\":[\"d\"]}", 1);
}

static et_net *make_net(const char *arch)
{
    et_net *net = NULL;
    if (et_net_create(&net, arch, 1) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s", et_error_message());
        return NULL;
    }
    if (et_net_prepare(net, 1, 1) != ET_OK) {
        test_fail(__FILE__, __LINE__, "prepare: %s", et_error_message());
        et_net_free(net);
        return NULL;
    }
    return net;
}

TEST(depthwise_forward_by_hand)
{
    et_net *net = make_net("{\"format\":\"emotrace-net-1\",\"input\":[2,3,3],\"layers\":["
                           "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":3,\"pad\":1}],"
                           "\"outputs\":[\"d\"]}");
    REQUIRE(net);
    /* Channel 0: 1..9 with an all-ones kernel and bias 0.5 (sums of the
     * 3x3 neighbourhoods). Channel 1: the same image, a kernel that picks
     * the right-hand neighbour, bias -1: each channel uses only its own. */
    for (int i = 0; i < 9; i++) {
        net->input.data[i] = (float)(i + 1);
        net->input.data[9 + i] = (float)(i + 1);
    }
    float *w = net->layers[0].params[0].value.data, *b = net->layers[0].params[1].value.data;
    for (int i = 0; i < 9; i++)
        w[i] = 1.0f;
    memset(w + 9, 0, 9 * sizeof(float));
    w[9 + 5] = 1.0f; /* (ky=1, kx=2) */
    b[0] = 0.5f;
    b[1] = -1.0f;
    REQUIRE(et_net_forward(net, 0) == ET_OK);
    const float *y = et_net_output(net, 0)->data;
    const float sums[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
    const float right[9] = {2, 3, 0, 5, 6, 0, 8, 9, 0};
    for (int i = 0; i < 9; i++) {
        CHECK_NEAR(y[i], sums[i] + 0.5f, 1e-5);
        CHECK_NEAR(y[9 + i], right[i] - 1.0f, 1e-5);
    }
    et_net_free(net);

    /* Stride 2 with SAME padding [0,0,1,1] on 4x4: outputs sample the
     * top-left of each 2x2 cell and run past the bottom/right edge. */
    net = make_net("{\"format\":\"emotrace-net-1\",\"input\":[1,4,4],\"layers\":["
                   "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":3,\"stride\":2,\"pad\":[0,0,1,1],"
                   "\"bias\":false}],\"outputs\":[\"d\"]}");
    REQUIRE(net);
    REQUIRE(net->layers[0].out_shape.h == 2 && net->layers[0].out_shape.w == 2);
    for (int i = 0; i < 16; i++)
        net->input.data[i] = (float)(i + 1);
    w = net->layers[0].params[0].value.data;
    for (int i = 0; i < 9; i++)
        w[i] = (float)(i + 1); /* 1 2 3 / 4 5 6 / 7 8 9 */
    REQUIRE(et_net_forward(net, 0) == ET_OK);
    y = et_net_output(net, 0)->data;
    /* (0,0): rows 0-2, cols 0-2 = 1*1+2*2+3*3 + 5*4+6*5+7*6 + 9*7+10*8+11*9 = 348
     * (0,1): cols 2-4, col 4 is padding = 3+8+0 + 28+40+0 + 77+96+0 = 252
     * (1,0): rows 2-4, row 4 is padding = 9+20+33 + 52+70+90 = 274
     * (1,1): 11+24 + 60+80 = 175 */
    CHECK_NEAR(y[0], 348.0f, 1e-4);
    CHECK_NEAR(y[1], 252.0f, 1e-4);
    CHECK_NEAR(y[2], 274.0f, 1e-4);
    CHECK_NEAR(y[3], 175.0f, 1e-4);
    et_net_free(net);
}

/* The forward pass against the defining sum, over shapes that exercise
 * every path: 3x3 kernels (rows summed at once) and others (tap by tap),
 * strides 1-3, symmetric and one-sided pads, planes narrower than the
 * kernel, one-pixel planes, a channel multiplier. */
static void check_forward_shape(int c, int h, int w, int kh, int kw, int sh, int sw, const int pad[4], int mult)
{
    char arch[512];
    snprintf(arch, sizeof arch,
             "{\"format\":\"emotrace-net-1\",\"input\":[%d,%d,%d],\"layers\":["
             "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":[%d,%d],\"stride\":[%d,%d],"
             "\"pad\":[%d,%d,%d,%d],\"multiplier\":%d}],\"outputs\":[\"d\"]}",
             c, h, w, kh, kw, sh, sw, pad[0], pad[1], pad[2], pad[3], mult);
    if (h + pad[0] + pad[2] < kh || w + pad[1] + pad[3] < kw) {
        /* No output pixel: the layer must refuse the shape, naming itself. */
        et_net *net = NULL;
        CHECK_MSG(et_net_create(&net, arch, 1) != ET_OK && strstr(et_error_message(), "'d'"),
                  "%s accepted: %s", arch, et_error_message());
        et_net_free(net);
        return;
    }
    et_net *net = make_net(arch);
    if (!net)
        return;
    et_layer *d = &net->layers[0];
    float *x = net->input.data, *k = d->params[0].value.data, *bias = d->params[1].value.data;
    for (size_t i = 0; i < et_tensor_count(&net->input); i++)
        x[i] = (float)((i * 2654435761u) % 997) / 498.5f - 1.0f;
    for (int i = 0; i < c * mult * kh * kw; i++)
        k[i] = (float)((i * 40503u) % 17) / 8.0f - 1.0f;
    for (int o = 0; o < c * mult; o++)
        bias[o] = 0.25f * (float)o - 0.5f;
    if (et_net_forward(net, 0) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s: %s", arch, et_error_message());
        et_net_free(net);
        return;
    }
    const et_tensor *y = et_net_output(net, 0);
    double worst = 0.0;
    for (int o = 0; o < c * mult; o++)
        for (int oy = 0; oy < y->h; oy++)
            for (int ox = 0; ox < y->w; ox++) {
                double sum = bias[o];
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++) {
                        int iy = oy * sh + ky - pad[0], ix = ox * sw + kx - pad[1];
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            sum += (double)k[(o * kh + ky) * kw + kx] * x[((size_t)(o / mult) * h + iy) * w + ix];
                    }
                double err = sum - y->data[((size_t)o * y->h + oy) * y->w + ox];
                worst = err * err > worst * worst ? (err < 0 ? -err : err) : worst;
            }
    CHECK_MSG(worst < 1e-5, "largest error %.3g for %s", worst, arch);
    et_net_free(net);
}

TEST(depthwise_forward_matches_direct_sum)
{
    static const int same[4] = {1, 1, 1, 1}, tf_same[4] = {0, 0, 1, 1}, none[4] = {0, 0, 0, 0},
                     uneven[4] = {2, 0, 1, 2};
    const int widths[] = {1, 2, 3, 4, 9, 17, 40};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
        int w = widths[i];
        check_forward_shape(2, 5, w, 3, 3, 1, 1, same, 1);
        check_forward_shape(2, 6, w, 3, 3, 2, 2, tf_same, 1);
        check_forward_shape(1, 4, w, 3, 3, 1, 3, none, 2);
        check_forward_shape(2, 7, w, 3, 3, 2, 1, uneven, 1);
        check_forward_shape(2, 5, w, 5, 5, 1, 1, (const int[4]){2, 2, 2, 2}, 1);
        check_forward_shape(1, 6, w, 3, 4, 2, 2, uneven, 2);
    }
    check_forward_shape(3, 1, 1, 3, 3, 1, 1, same, 1);
}

TEST(depthwise_rejects_bad_settings)
{
    et_net *net = NULL;
    CHECK(et_net_create(&net, "{\"format\":\"emotrace-net-1\",\"input\":[2,4,4],\"layers\":["
                              "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":3,\"multiplier\":0}],"
                              "\"outputs\":[\"d\"]}", 1) != ET_OK);
    CHECK(strstr(et_error_message(), "'d'") != NULL);
    CHECK(et_net_create(&net, "{\"format\":\"emotrace-net-1\",\"input\":[2,4,4],\"layers\":["
                              "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":3,\"pad\":3}],"
                              "\"outputs\":[\"d\"]}", 1) != ET_OK);
    CHECK(net == NULL);
}

/* Forward and backward on a layer large enough to be split over threads:
 * the same numbers with one thread and with two. */
static void run_pass(int threads, float *out, float *dweight, float *din)
{
    et_nn_set_threads(threads);
    et_net *net = make_net("{\"format\":\"emotrace-net-1\",\"input\":[8,64,66],\"layers\":["
                           "{\"name\":\"d\",\"type\":\"depthwise_conv2d\",\"kernel\":3,\"stride\":[1,2],"
                           "\"pad\":[0,0,1,1],\"multiplier\":2}],\"outputs\":[\"d\"]}");
    if (!net)
        return;
    net->need_input_grad = 1;
    for (size_t i = 0; i < et_tensor_count(&net->input); i++)
        net->input.data[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    float *w = net->layers[0].params[0].value.data;
    for (int i = 0; i < 16 * 9; i++)
        w[i] = (float)(i % 7) - 3.0f;
    et_tensor *y = et_net_output(net, 0);
    if (et_net_forward(net, 1) == ET_OK) {
        et_layer *d = &net->layers[0];
        et_tensor_resize(&d->dout, y->n, y->c, y->h, y->w);
        for (size_t i = 0; i < et_tensor_count(y); i++)
            d->dout.data[i] = (float)(i % 13) - 6.0f;
        et_net_zero_grad(net);
        if (et_net_backward(net) == ET_OK) {
            memcpy(out, y->data, et_tensor_count(y) * sizeof(float));
            memcpy(dweight, d->params[0].grad.data, 16 * 9 * sizeof(float));
            memcpy(din, net->dinput.data, et_tensor_count(&net->dinput) * sizeof(float));
        } else {
            test_fail(__FILE__, __LINE__, "%s", et_error_message());
        }
    } else {
        test_fail(__FILE__, __LINE__, "%s", et_error_message());
    }
    et_net_free(net);
}

TEST(depthwise_threads_same_result)
{
    enum { OUT = 16 * 63 * 33, IN = 8 * 64 * 66 };
    static float out1[OUT], out2[OUT], dw1[144], dw2[144], din1[IN], din2[IN];
    memset(out2, 0xff, sizeof out2);
    run_pass(1, out1, dw1, din1);
    run_pass(2, out2, dw2, din2);
    et_nn_set_threads(0); /* back to the default: follow OpenBLAS */
    for (int i = 0; i < OUT; i++)
        if (out1[i] != out2[i]) {
            CHECK_MSG(0, "output %d: %g with one thread, %g with two", i, out1[i], out2[i]);
            break;
        }
    CHECK(memcmp(dw1, dw2, sizeof dw1) == 0);
    CHECK(memcmp(din1, din2, sizeof din1) == 0);
}
