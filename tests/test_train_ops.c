/* The loss (finite-difference gradient and hand-computed values), the
 * optimizers' update rules and the learning-rate schedules. */
#include <math.h>
#include <string.h>

#include "emotrace/train_ops.h"
#include "test.h"

/* d(loss)/d(logits) against central differences, for hard labels, soft
 * distributions and label smoothing. */
static void check_loss_gradient(const float *targets, float smoothing)
{
    et_tensor logits = {0}, grad = {0};
    REQUIRE(et_tensor_resize(&logits, 3, 5, 1, 1) == 0);
    et_rng rng;
    et_rng_seed(&rng, 11);
    for (int i = 0; i < 15; i++)
        logits.data[i] = (float)et_rng_normal(&rng) * 2.0f;
    double loss;
    REQUIRE(et_loss_softmax_cross_entropy(&logits, targets, smoothing, &grad, &loss) == 0);
    double diff = 0, norm = 0;
    for (int i = 0; i < 15; i++) {
        float saved = logits.data[i];
        double plus, minus;
        logits.data[i] = saved + 1e-3f;
        et_loss_softmax_cross_entropy(&logits, targets, smoothing, NULL, &plus);
        logits.data[i] = saved - 1e-3f;
        et_loss_softmax_cross_entropy(&logits, targets, smoothing, NULL, &minus);
        logits.data[i] = saved;
        double numeric = (plus - minus) / (2e-3);
        diff += (numeric - grad.data[i]) * (numeric - grad.data[i]);
        norm += numeric * numeric;
    }
    CHECK_MSG(sqrt(diff) / sqrt(norm) < 1e-3, "relative gradient error %.3g", sqrt(diff) / sqrt(norm));
    et_tensor_free(&logits);
    et_tensor_free(&grad);
}

TEST(loss_gradient_hard_soft_smoothed)
{
    float hard[15];
    const int labels[3] = {0, 4, 2};
    et_targets_one_hot(labels, 3, 5, hard);
    check_loss_gradient(hard, 0.0f);
    check_loss_gradient(hard, 0.1f);
    const float soft[15] = {0.5f, 0.5f, 0, 0, 0, 0.1f, 0.2f, 0.3f, 0.4f, 0, 0.2f, 0.2f, 0.2f, 0.2f, 0.2f};
    check_loss_gradient(soft, 0.0f);
}

TEST(loss_known_values)
{
    et_tensor logits = {0};
    REQUIRE(et_tensor_resize(&logits, 1, 3, 1, 1) == 0);
    const float z[3] = {1, 0, 0};
    memcpy(logits.data, z, sizeof z);
    float target[3] = {1, 0, 0};
    double loss;
    /* softmax(1,0,0)[0] = e/(e+2); loss = -ln of it = ln(1 + 2/e) = 0.551444714. */
    REQUIRE(et_loss_softmax_cross_entropy(&logits, target, 0.0f, NULL, &loss) == 0);
    CHECK_NEAR(loss, 0.551444714, 1e-6);
    /* Smoothing 0.3: target (0.8, 0.1, 0.1); loss = 0.8*0.5514 + 0.2*(1 + 0.5514). */
    REQUIRE(et_loss_softmax_cross_entropy(&logits, target, 0.3f, NULL, &loss) == 0);
    CHECK_NEAR(loss, 0.8 * 0.551444714 + 0.2 * 1.551444714, 1e-6);
    et_tensor_free(&logits);
}

TEST(sgd_update_rules)
{
    float w = 1.0f, g = 0.5f, buf = 0.0f;
    /* Plain momentum: buf = 0.5, w = 1 - 0.1*0.5; then buf = 0.9*0.5 + 0.5. */
    et_sgd_update(&w, &g, &buf, 1, 0.1f, 0.9f, 0, 0.0f);
    CHECK_NEAR(w, 0.95, 1e-7);
    et_sgd_update(&w, &g, &buf, 1, 0.1f, 0.9f, 0, 0.0f);
    CHECK_NEAR(buf, 0.95, 1e-7);
    CHECK_NEAR(w, 0.855, 1e-6);
    /* Nesterov with weight decay 0.1: g' = 0.5 + 0.1 = 0.6, buf = 0.6,
     * step g' + 0.9 buf = 1.14, w = 1 - 0.114. */
    w = 1.0f;
    buf = 0.0f;
    et_sgd_update(&w, &g, &buf, 1, 0.1f, 0.9f, 1, 0.1f);
    CHECK_NEAR(w, 0.886, 1e-6);
}

TEST(adamw_update_rule)
{
    float w = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f;
    /* First step: bias-corrected m = g, v = g^2, so the step is lr * (1 + wd*w). */
    et_adamw_update(&w, &g, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1);
    CHECK_NEAR(w, 1.0 - 0.1 * (1.0 + 0.01), 1e-6);
    CHECK_NEAR(m, 0.05, 1e-7);
    CHECK_NEAR(v, 0.00025, 1e-8); /* (1 - 0.999) * 0.25, in float */
}

TEST(learning_rate_schedules)
{
    CHECK_NEAR(et_lr_cosine(1.0f, 0.0f, 0, 110, 10), 0.1, 1e-6);   /* warm-up step 1 of 10 */
    CHECK_NEAR(et_lr_cosine(1.0f, 0.0f, 10, 110, 10), 1.0, 1e-6);  /* peak */
    CHECK_NEAR(et_lr_cosine(1.0f, 0.2f, 60, 110, 10), 0.6, 1e-6);  /* half way: mean of peak and floor */
    CHECK_NEAR(et_lr_cosine(1.0f, 0.2f, 110, 110, 10), 0.2, 1e-6); /* end */
    CHECK_NEAR(et_lr_step(0.1f, 0, 10, 0.5f), 0.1, 1e-7);
    CHECK_NEAR(et_lr_step(0.1f, 25, 10, 0.5f), 0.025, 1e-7);
}

/* A net with one trainable layer and one batch norm, for the two tests below. */
static const char *dense_bn_arch =
    "{\"format\":\"emotrace-net-1\",\"name\":\"t\",\"input\":[2,1,1],\"layers\":["
    "{\"name\":\"fc\",\"type\":\"dense\",\"out\":3},{\"name\":\"bn\",\"type\":\"batchnorm\"}],"
    "\"outputs\":[\"bn\"]}";

static void fill_trainable(et_net *net, float value)
{
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++) {
            et_param *param = &net->layers[l].params[p];
            if (param->trainable)
                for (size_t i = 0; i < et_tensor_count(&param->value); i++)
                    param->value.data[i] = value + (float)i;
        }
}

TEST(weight_average_is_mean_of_snapshots)
{
    et_net *net = NULL;
    REQUIRE(et_net_create(&net, dense_bn_arch, 1) == 0);
    et_optimizer opt;
    REQUIRE(et_optimizer_init(&opt, net, ET_OPTIMIZER_SGD) == 0);
    CHECK(et_optimizer_average_add(&opt, net) != 0); /* not enabled */
    REQUIRE(et_optimizer_average_enable(&opt) == 0);
    CHECK(et_optimizer_average_apply(&opt, net) != 0); /* no snapshot yet */
    float snapshots[3] = {1.0f, 2.0f, 6.0f};
    for (int k = 0; k < 3; k++) {
        fill_trainable(net, snapshots[k]);
        REQUIRE(et_optimizer_average_add(&opt, net) == 0);
    }
    CHECK_EQ_INT((int)opt.averaged, 3);
    /* Batch-norm statistics are not averaged: they stay as they are. */
    et_param *running_mean = &net->layers[1].params[2];
    REQUIRE(strcmp(running_mean->name, "running_mean") == 0);
    running_mean->value.data[0] = 7.0f;
    fill_trainable(net, -100.0f);
    REQUIRE(et_optimizer_average_apply(&opt, net) == 0);
    for (int l = 0; l < net->layer_count; l++)
        for (int p = 0; p < net->layers[l].param_count; p++) {
            et_param *param = &net->layers[l].params[p];
            if (param->trainable)
                for (size_t i = 0; i < et_tensor_count(&param->value); i++)
                    CHECK_NEAR(param->value.data[i], 3.0 + (double)i, 1e-6);
        }
    CHECK_NEAR(running_mean->value.data[0], 7.0, 0);
    et_optimizer_free(&opt);
    et_net_free(net);
}

TEST(batchnorm_momentum_one_over_k_gives_mean)
{
    et_net *net = NULL;
    REQUIRE(et_net_create(&net, dense_bn_arch, 1) == 0);
    et_layer *bn = &net->layers[1];
    const et_tensor *mean = &bn->params[2].value, *var = &bn->params[3].value;
    /* Three training passes of 4 rows, momentum 1/k for pass k: the running
     * statistics become the plain mean of the three batch statistics. */
    double want_mean[3] = {0}, want_var[3] = {0};
    et_rng rng;
    et_rng_seed(&rng, 5);
    for (int pass = 1; pass <= 3; pass++) {
        REQUIRE(et_net_prepare(net, 4, 1) == 0);
        for (int i = 0; i < 8; i++)
            net->input.data[i] = (float)et_rng_normal(&rng) * (float)pass + (float)pass;
        et_net_set_batchnorm_momentum(net, 1.0f / (float)pass);
        REQUIRE(et_net_forward(net, 1) == 0);
        const float *z = net->layers[0].out.data; /* the dense output, [4 rows, 3] */
        for (int c = 0; c < 3; c++) {
            double m = 0, v = 0;
            for (int r = 0; r < 4; r++)
                m += z[r * 3 + c] / 4.0;
            for (int r = 0; r < 4; r++)
                v += (z[r * 3 + c] - m) * (z[r * 3 + c] - m) / 3.0; /* unbiased */
            want_mean[c] += m / 3.0;
            want_var[c] += v / 3.0;
        }
    }
    for (int c = 0; c < 3; c++) {
        CHECK_NEAR(mean->data[c], want_mean[c], 1e-5);
        CHECK_NEAR(var->data[c], want_var[c], 1e-5 * (1.0 + want_var[c]));
    }
    et_net_free(net);
}
