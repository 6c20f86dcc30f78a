/* depth_to_space: gradient check and a forward pass checked by hand
 * against TensorFlow's DEPTH_TO_SPACE (DCR) order. */
#include "emotrace/error.h"
#include "emotrace/nn.h"
#include "gradcheck.h"
#include "test.h"

TEST(grad_depth_to_space)
{
    double rel = gradcheck_net("{\"format\":\"emotrace-net-1\",\"input\":[8,3,2],\"layers\":["
                               "{\"name\":\"d\",\"type\":\"depth_to_space\",\"block\":2}],\"outputs\":[\"d\"]}",
                               2, 1, 1, 5, 200);
    CHECK_MSG(rel >= 0.0 && rel < 1e-3, "relative gradient error %.3g", rel);
}

TEST(depth_to_space_forward_by_hand)
{
    et_net *net = NULL;
    REQUIRE(et_net_create(&net, "{\"format\":\"emotrace-net-1\",\"input\":[8,1,2],\"layers\":["
                                "{\"name\":\"d\",\"type\":\"depth_to_space\"}],\"outputs\":[\"d\"]}",
                          1) == ET_OK);
    REQUIRE(et_net_prepare(net, 1, 1) == ET_OK);
    CHECK_EQ_INT(et_net_layer_shape(net, 0).c, 2);
    CHECK_EQ_INT(et_net_layer_shape(net, 0).h, 2);
    CHECK_EQ_INT(et_net_layer_shape(net, 0).w, 4);
    /* Input channel k, pixel x holds 10 k + x. In NHWC the 8 channels of a
     * pixel are (block row, block column, channel): k = (dy * 2 + dx) * 2 + c. */
    for (int k = 0; k < 8; k++)
        for (int x = 0; x < 2; x++)
            et_net_input(net)->data[k * 2 + x] = (float)(10 * k + x);
    REQUIRE(et_net_forward(net, 0) == ET_OK);
    const float *y = et_net_output(net, 0)->data;
    for (int c = 0; c < 2; c++)
        for (int oy = 0; oy < 2; oy++)
            for (int ox = 0; ox < 4; ox++) {
                int k = ((oy % 2) * 2 + ox % 2) * 2 + c;
                CHECK_NEAR(y[(c * 2 + oy) * 4 + ox], 10 * k + ox / 2, 0);
            }
    /* Spelled out for channel 0: rows 0 20 1 21 / 40 60 41 61. */
    const float row0[8] = {0, 20, 1, 21, 40, 60, 41, 61};
    for (int i = 0; i < 8; i++)
        CHECK_NEAR(y[i], row0[i], 0);
    et_net_free(net);
    /* Channels must divide by block^2. */
    CHECK(et_net_create(&net, "{\"format\":\"emotrace-net-1\",\"input\":[6,2,2],\"layers\":["
                              "{\"name\":\"d\",\"type\":\"depth_to_space\"}],\"outputs\":[\"d\"]}",
                        1) == ET_ERR_FORMAT);
}
