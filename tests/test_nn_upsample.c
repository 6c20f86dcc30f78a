/* upsample_bilinear: gradient check and a forward pass checked by hand
 * against TensorFlow's half-pixel-centre rule. */
#include "emotrace/error.h"
#include "emotrace/nn.h"
#include "gradcheck.h"
#include "test.h"

TEST(grad_upsample_bilinear)
{
    const char *arch = "{\"format\":\"emotrace-net-1\",\"input\":[2,3,4],\"layers\":["
                       "{\"name\":\"u\",\"type\":\"upsample_bilinear\",\"scale\":2}],\"outputs\":[\"u\"]}";
    double rel = gradcheck_net(arch, 2, 1, 1, 3, 200);
    CHECK_MSG(rel >= 0.0 && rel < 1e-3, "relative gradient error %.3g", rel);
    arch = "{\"format\":\"emotrace-net-1\",\"input\":[1,2,3],\"layers\":["
           "{\"name\":\"u\",\"type\":\"upsample_bilinear\",\"scale\":3}],\"outputs\":[\"u\"]}";
    rel = gradcheck_net(arch, 1, 1, 1, 3, 200);
    CHECK_MSG(rel >= 0.0 && rel < 1e-3, "relative gradient error %.3g", rel);
}

TEST(upsample_bilinear_forward_by_hand)
{
    et_net *net = NULL;
    REQUIRE(et_net_create(&net, "{\"format\":\"emotrace-net-1\",\"input\":[1,1,3],\"layers\":["
                                "{\"name\":\"u\",\"type\":\"upsample_bilinear\"}],\"outputs\":[\"u\"]}",
                          1) == ET_OK);
    REQUIRE(et_net_prepare(net, 1, 1) == ET_OK);
    CHECK_EQ_INT(et_net_layer_shape(net, 0).h, 2);
    CHECK_EQ_INT(et_net_layer_shape(net, 0).w, 6);
    et_net_input(net)->data[0] = 0.0f;
    et_net_input(net)->data[1] = 4.0f;
    et_net_input(net)->data[2] = 8.0f;
    REQUIRE(et_net_forward(net, 0) == ET_OK);
    /* Output x samples (x + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25,
     * 0.75, 1.25, 1.75, 2.25 (clamped to 2); both rows equal. */
    const float expect[6] = {0.0f, 1.0f, 3.0f, 5.0f, 7.0f, 8.0f};
    const float *y = et_net_output(net, 0)->data;
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(y[i], expect[i], 1e-6);
        CHECK_NEAR(y[6 + i], expect[i], 1e-6);
    }
    et_net_free(net);
}
