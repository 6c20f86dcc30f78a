/* Folding batch norm into the preceding conv2d/dense keeps inference outputs. */
#include <string.h>

#include "../src/nn/nn_internal.h"
#include "emotrace/error.h"
#include "emotrace/nn_train.h"
#include "emotrace/rng.h"
#include "test.h"

/* b1 follows a conv without bias, b2 a conv with one (and its own eps), b3 a
 * dense layer; bx follows a conv that also feeds a shortcut, so it stays.
 * The ReLUs after c1 (through b1) and after the residual add s fold in. */
static const char *ARCH =
    "{\"format\":\"emotrace-net-1\",\"input\":[3,8,8],\"layers\":["
    "{\"name\":\"c1\",\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"pad\":1,\"bias\":false},"
    "{\"name\":\"b1\",\"type\":\"batchnorm\"},"
    "{\"name\":\"r1\",\"type\":\"relu\"},"
    "{\"name\":\"c2\",\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"stride\":2,\"pad\":1,\"groups\":2},"
    "{\"name\":\"b2\",\"type\":\"batchnorm\",\"eps\":0.01},"
    "{\"name\":\"cx\",\"type\":\"conv2d\",\"out\":4,\"kernel\":1},"
    "{\"name\":\"bx\",\"type\":\"batchnorm\"},"
    "{\"name\":\"s\",\"type\":\"add\",\"in\":[\"bx\",\"cx\"]},"
    "{\"name\":\"rs\",\"type\":\"relu\"},"
    "{\"name\":\"g\",\"type\":\"global_avgpool\"},"
    "{\"name\":\"d\",\"type\":\"dense\",\"out\":5},"
    "{\"name\":\"b3\",\"type\":\"batchnorm\"}],\"outputs\":[\"b3\"]}";

typedef struct {
    et_net *net;
    et_rng rng;
} randomise_ctx;

static int randomise(const et_param_ref *param, void *ctx)
{
    randomise_ctx *r = ctx;
    const et_layer *layer = &r->net->layers[et_net_find_layer(r->net, param->layer)];
    for (size_t i = 0; i < et_tensor_count(param->value); i++) {
        double v = et_rng_normal(&r->rng);
        if (!strcmp(param->name, "running_var"))
            v = 0.2 + fabs(v);
        else if (!strcmp(param->name, "weight") && layer->type == et_layer_type_find("batchnorm"))
            v = 1.0 + 0.5 * v;
        param->value->data[i] = (float)v;
    }
    return ET_OK;
}

TEST(fold_batchnorm_keeps_outputs)
{
    et_net *net = NULL;
    REQUIRE(et_net_create(&net, ARCH, 5) == ET_OK);
    randomise_ctx r = {.net = net};
    et_rng_seed(&r.rng, 11);
    et_net_visit_params(net, randomise, &r);
    et_rng rng = r.rng;
    enum { BATCH = 3 };
    REQUIRE(et_net_prepare(net, BATCH, 1) == ET_OK);
    size_t in_count = et_tensor_count(&net->input);
    for (size_t i = 0; i < in_count; i++)
        net->input.data[i] = (float)et_rng_normal(&rng);
    REQUIRE(et_net_forward(net, 0) == ET_OK);
    float ref[BATCH * 5];
    memcpy(ref, et_net_output(net, 0)->data, sizeof ref);

    int c1 = et_net_find_layer(net, "c1");
    CHECK_EQ_INT(net->layers[c1].param_count, 1);
    REQUIRE(et_net_fold_batchnorm(net) == ET_OK);
    CHECK(net->layers[et_net_find_layer(net, "b1")].identity);
    CHECK(net->layers[et_net_find_layer(net, "b2")].identity);
    CHECK(net->layers[et_net_find_layer(net, "b3")].identity);
    CHECK(!net->layers[et_net_find_layer(net, "bx")].identity);
    CHECK(net->layers[et_net_find_layer(net, "r1")].identity && net->layers[c1].fused_relu);
    CHECK(net->layers[et_net_find_layer(net, "rs")].identity && net->layers[et_net_find_layer(net, "s")].fused_relu);
    CHECK_EQ_INT(net->layers[c1].param_count, 2); /* gained a bias */
    CHECK(!strcmp(net->layers[c1].params[1].name, "bias"));

    /* Folding again changes nothing. */
    REQUIRE(et_net_fold_batchnorm(net) == ET_OK);
    REQUIRE(et_net_forward(net, 0) == ET_OK);
    const float *out = et_net_output(net, 0)->data;
    double worst = 0.0;
    for (int i = 0; i < BATCH * 5; i++) {
        double rel = fabs(out[i] - ref[i]) / (fabs(ref[i]) > 1e-2 ? fabs(ref[i]) : 1e-2);
        if (rel > worst)
            worst = rel;
    }
    CHECK_MSG(worst < 1e-5, "folded output differs by %.3g relative", worst);

    /* A folded net is for inference only. */
    char path[512];
    snprintf(path, sizeof path, "%s/folded.safetensors", test_tmpdir());
    CHECK(et_net_save(net, path, NULL) == ET_ERR_USAGE);
    et_net_free(net);
}
