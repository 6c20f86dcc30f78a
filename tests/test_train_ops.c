/* The loss (finite-difference gradient and hand-computed values), the
 * optimizers' update rules, the learning-rate schedules, weight averaging and
 * CutMix. */
#include <math.h>
#include <string.h>

#include "emotrace/augment.h"
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

/* Sets element i of every trainable parameter to *value + i. */
static int fill_trainable(const et_param_ref *param, void *value)
{
    if (param->trainable)
        for (size_t i = 0; i < et_tensor_count(param->value); i++)
            param->value->data[i] = *(float *)value + (float)i;
    return 0;
}

/* Checks element i of every trainable parameter is *value + i. */
static int check_trainable(const et_param_ref *param, void *value)
{
    if (param->trainable)
        for (size_t i = 0; i < et_tensor_count(param->value); i++)
            CHECK_NEAR(param->value->data[i], *(float *)value + (double)i, 1e-6);
    return 0;
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
        et_net_visit_params(net, fill_trainable, &snapshots[k]);
        REQUIRE(et_optimizer_average_add(&opt, net) == 0);
    }
    CHECK_EQ_INT((int)opt.averaged, 3);
    /* Batch-norm statistics are not averaged: they stay as they are. */
    et_tensor *running_mean = et_net_find_param(net, "bn", "running_mean");
    REQUIRE(running_mean);
    running_mean->data[0] = 7.0f;
    float away = -100.0f, mean = 3.0f;
    et_net_visit_params(net, fill_trainable, &away);
    REQUIRE(et_optimizer_average_apply(&opt, net) == 0);
    et_net_visit_params(net, check_trainable, &mean);
    CHECK_NEAR(running_mean->data[0], 7.0, 0);
    et_optimizer_free(&opt);
    et_net_free(net);
}

TEST(batchnorm_momentum_one_over_k_gives_mean)
{
    et_net *net = NULL;
    REQUIRE(et_net_create(&net, dense_bn_arch, 1) == 0);
    const et_tensor *mean = et_net_find_param(net, "bn", "running_mean");
    const et_tensor *var = et_net_find_param(net, "bn", "running_var");
    REQUIRE(mean && var);
    /* Three training passes of 4 rows, momentum 1/k for pass k: the running
     * statistics become the plain mean of the three batch statistics. */
    double want_mean[3] = {0}, want_var[3] = {0};
    et_rng rng;
    et_rng_seed(&rng, 5);
    for (int pass = 1; pass <= 3; pass++) {
        REQUIRE(et_net_prepare(net, 4, 1) == 0);
        for (int i = 0; i < 8; i++)
            et_net_input(net)->data[i] = (float)et_rng_normal(&rng) * (float)pass + (float)pass;
        et_net_set_batchnorm_momentum(net, 1.0f / (float)pass);
        REQUIRE(et_net_forward(net, 1) == 0);
        const float *z = et_net_layer_output(net, 0)->data; /* the dense output, [4 rows, 3] */
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

/* CutMix on images of constant value i and one-hot targets on class i: each
 * mixed image shows one rectangle of exactly one other image, and its
 * target weights are the shares of the pixels each image shows. */
TEST(cutmix_targets_are_pixel_shares)
{
    enum { N = 6, SIZE = 12, PIXELS = SIZE * SIZE, CLASSES = 7, ROUNDS = 200 };
    float images[N * PIXELS], targets[N * CLASSES], original_images[N * PIXELS], original_targets[N * CLASSES];
    et_rng rng;
    et_rng_seed(&rng, 5);
    int mixed = 0;
    double pasted_sum = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < N; i++) {
            for (int p = 0; p < PIXELS; p++)
                images[i * PIXELS + p] = (float)i;
            for (int k = 0; k < CLASSES; k++)
                targets[i * CLASSES + k] = k == i ? 1.0f : 0.0f;
        }
        memcpy(original_images, images, sizeof images);
        memcpy(original_targets, targets, sizeof targets);
        et_cutmix_batch(images, targets, N, SIZE, CLASSES, 0.5f, original_images, original_targets, &rng);
        for (int i = 0; i < N; i++) {
            int count[N] = {0}, x0 = SIZE, y0 = SIZE, x1 = -1, y1 = -1, other = -1;
            for (int y = 0; y < SIZE; y++)
                for (int x = 0; x < SIZE; x++) {
                    int v = (int)images[i * PIXELS + y * SIZE + x];
                    REQUIRE(v >= 0 && v < N);
                    count[v]++;
                    if (v != i) {
                        CHECK(other < 0 || other == v);
                        other = v;
                        x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                        y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
                    }
                }
            double sum = 0;
            for (int k = 0; k < CLASSES; k++) {
                double share = k < N ? (double)count[k] / PIXELS : 0.0;
                CHECK_MSG(fabs(targets[i * CLASSES + k] - share) < 1e-6, "round %d image %d class %d: %g vs %g",
                          round, i, k, targets[i * CLASSES + k], share);
                sum += targets[i * CLASSES + k];
            }
            CHECK(fabs(sum - 1.0) < 1e-6);
            if (other >= 0) {
                CHECK_EQ_INT((x1 - x0 + 1) * (y1 - y0 + 1), count[other]); /* one rectangle */
                mixed++;
                pasted_sum += (double)count[other] / PIXELS;
            }
        }
    }
    /* About half the images mixed (a few boxes clip to nothing); the box
     * area is uniform before clipping, so the mean share is below 0.5. */
    double rate = (double)mixed / (N * ROUNDS);
    CHECK_MSG(rate > 0.40 && rate < 0.55, "mixed rate %.3f", rate);
    CHECK_MSG(pasted_sum / mixed > 0.15 && pasted_sum / mixed < 0.5, "mean pasted share %.3f", pasted_sum / mixed);
}

/* The random stream does not depend on the probability (a resumed run with
 * the same settings draws the same numbers), and probability 0 changes
 * nothing. */
TEST(cutmix_probability_zero_is_identity)
{
    enum { N = 4, SIZE = 8, PIXELS = SIZE * SIZE, CLASSES = 7 };
    float images[N * PIXELS], targets[N * CLASSES], before[N * PIXELS], before_targets[N * CLASSES];
    for (int i = 0; i < N * PIXELS; i++)
        images[i] = (float)i;
    for (int i = 0; i < N * CLASSES; i++)
        targets[i] = (float)(i % CLASSES == i / CLASSES);
    memcpy(before, images, sizeof images);
    memcpy(before_targets, targets, sizeof targets);
    et_rng a, b;
    et_rng_seed(&a, 9);
    et_rng_seed(&b, 9);
    et_cutmix_batch(images, targets, N, SIZE, CLASSES, 0.0f, before, before_targets, &a);
    CHECK(memcmp(images, before, sizeof images) == 0);
    CHECK(memcmp(targets, before_targets, sizeof targets) == 0);
    float other[N * PIXELS], other_targets[N * CLASSES];
    memcpy(other, before, sizeof other);
    memcpy(other_targets, before_targets, sizeof other_targets);
    et_cutmix_batch(other, other_targets, N, SIZE, CLASSES, 1.0f, before, before_targets, &b);
    CHECK(memcmp(other, before, sizeof other) != 0);
    CHECK(et_rng_next(&a) == et_rng_next(&b));
}
