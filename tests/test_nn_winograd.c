/* conv2d's Winograd path (frozen nets) against its im2col path on the same
 * parameters and inputs: odd and even output sizes (tiles cut at the
 * edge), symmetric and uneven padding, bias and a fused ReLU, several
 * images, one and two threads; 2x2 tiles (maps under 12) and 4x4. */
#include <math.h>
#include <stdio.h>

#include "../src/nn/nn_internal.h"
#include "emotrace/error.h"
#include "emotrace/rng.h"
#include "test.h"

static et_net *make(const char *arch, int batch)
{
    et_net *net = NULL;
    if (et_net_create(&net, arch, 7) != ET_OK || et_net_fold_batchnorm(net) != ET_OK ||
        et_net_prepare(net, batch, 1) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s", et_error_message());
        et_net_free(net);
        return NULL;
    }
    return net;
}

/* Largest difference between the two nets' outputs, relative to 1 + |value|. */
static double compare(const char *arch, int batch, int threads)
{
    et_net *direct = make(arch, batch), *winograd = make(arch, batch);
    if (!direct || !winograd) {
        et_net_free(direct);
        et_net_free(winograd);
        return INFINITY;
    }
    /* Non-zero biases, so that the epilogue is checked too. */
    for (int l = 0; l < direct->layer_count; l++)
        for (int p = 1; p < direct->layers[l].param_count; p++)
            for (size_t i = 0; i < et_tensor_count(&direct->layers[l].params[p].value); i++)
                direct->layers[l].params[p].value.data[i] = 0.1f * (float)((int)(i % 7) - 3);
    double worst = 0;
    if (et_net_copy_params(winograd, direct) != ET_OK)
        worst = INFINITY;
    et_net_freeze(winograd);
    et_rng rng;
    et_rng_seed(&rng, 11);
    for (size_t i = 0; i < et_tensor_count(&direct->input); i++)
        direct->input.data[i] = winograd->input.data[i] = (float)(2.0 * et_rng_uniform(&rng) - 1.0);
    et_nn_set_threads(threads);
    /* Twice: the second pass reuses the transformed kernels. */
    for (int pass = 0; pass < 2 && isfinite(worst); pass++) {
        if (et_net_forward(direct, 0) != ET_OK || et_net_forward(winograd, 0) != ET_OK) {
            worst = INFINITY;
            break;
        }
        const et_tensor *a = et_net_output(direct, 0), *b = et_net_output(winograd, 0);
        CHECK_EQ_INT(et_tensor_count(a), et_tensor_count(b));
        for (size_t i = 0; i < et_tensor_count(a); i++)
            worst = fmax(worst, fabs(a->data[i] - b->data[i]) / (1.0 + fabs(a->data[i])));
    }
    et_nn_set_threads(0);
    et_net_free(direct);
    et_net_free(winograd);
    return worst;
}

#define NET(input, conv)                                                                                      \
    "{\"format\":\"emotrace-net-1\",\"input\":" input ",\"layers\":[{\"name\":\"c\",\"type\":\"conv2d\"," conv \
    "},{\"name\":\"r\",\"type\":\"relu\"},{\"name\":\"d\",\"type\":\"conv2d\",\"out\":5,\"kernel\":3,"        \
    "\"pad\":1}],\"outputs\":[\"d\"]}"

TEST(nn_winograd_equals_im2col)
{
    static const struct {
        const char *arch;
        int batch;
    } cases[] = {
        /* 7x5 output, pad 1: the last tile row and column half outside. */
        {NET("[16,7,5]", "\"out\":24,\"kernel\":3,\"pad\":1"), 3},
        /* No padding: 6x4 from 8x6. */
        {NET("[20,8,6]", "\"out\":16,\"kernel\":3"), 2},
        /* Uneven padding [top, left, bottom, right]. */
        {NET("[17,9,10]", "\"out\":19,\"kernel\":3,\"pad\":[2,0,1,1]"), 1},
        /* The emotion CNN's widest map and a batch spanning chunks. */
        {NET("[32,48,48]", "\"out\":32,\"kernel\":3,\"pad\":1"), 4},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int threads = 1; threads <= 2; threads++) {
            double worst = compare(cases[k].arch, cases[k].batch, threads);
            /* 4x4 tiles (maps of 12 or more) sum terms weighted up to 8
             * (their transforms' points 2 and -2): about 1e-5 relative,
             * 2x2 tiles about 1e-6. */
            CHECK_MSG(worst < 3e-5, "case %zu, %d threads: Winograd differs from im2col by %g", k, threads, worst);
        }
}
