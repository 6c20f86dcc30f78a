/* Finite-difference gradient checks, one per layer type. */
#include "gradcheck.h"
#include "test.h"

#define MAX_REL_ERROR 1e-3

static void check_arch_within(const char *arch, int batch, int seq_len, int train, double bound)
{
    double rel = gradcheck_net(arch, batch, seq_len, train, 42, 200);
    CHECK_MSG(rel >= 0.0 && rel < bound, "relative gradient error %.3g for %s", rel, arch);
}

static void check_arch(const char *arch, int batch, int seq_len, int train)
{
    check_arch_within(arch, batch, seq_len, train, MAX_REL_ERROR);
}

TEST(grad_conv2d_stride2_padding)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,7,6],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"stride\":2,\"pad\":1}],"
               "\"outputs\":[\"c\"]}", 3, 1, 1);
    /* Asymmetric padding as in TensorFlow's SAME, and a batch wider than one GEMM. */
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,5,5],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":3,\"kernel\":[3,2],\"stride\":2,\"pad\":[0,1,1,0]}],"
               "\"outputs\":[\"c\"]}", 2, 1, 1);
}

TEST(grad_conv2d_groups_pointwise)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[4,5,5],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":6,\"kernel\":3,\"pad\":1,\"groups\":2}],"
               "\"outputs\":[\"c\"]}", 2, 1, 1);
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,4,4],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":5,\"kernel\":1,\"bias\":false}],"
               "\"outputs\":[\"c\"]}", 1, 1, 1);
}

TEST(grad_batchnorm_training)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,4,4],\"layers\":["
               "{\"name\":\"bn\",\"type\":\"batchnorm\"}],\"outputs\":[\"bn\"]}", 4, 1, 1);
}

TEST(grad_batchnorm_inference)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,4,4],\"layers\":["
               "{\"name\":\"bn\",\"type\":\"batchnorm\"}],\"outputs\":[\"bn\"]}", 2, 1, 0);
}

TEST(grad_relu)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,3,3],\"layers\":["
               "{\"name\":\"r\",\"type\":\"relu\"}],\"outputs\":[\"r\"]}", 2, 1, 1);
}

TEST(grad_maxpool)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,6,5],\"layers\":["
               "{\"name\":\"p\",\"type\":\"maxpool\",\"kernel\":2}],\"outputs\":[\"p\"]}", 2, 1, 1);
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,5,5],\"layers\":["
               "{\"name\":\"p\",\"type\":\"maxpool\",\"kernel\":3,\"stride\":2,\"pad\":1}],\"outputs\":[\"p\"]}",
               2, 1, 1);
}

TEST(grad_global_avgpool)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,4,5],\"layers\":["
               "{\"name\":\"g\",\"type\":\"global_avgpool\"}],\"outputs\":[\"g\"]}", 2, 1, 1);
}

TEST(grad_dense)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,2,2],\"layers\":["
               "{\"name\":\"d\",\"type\":\"dense\",\"out\":5}],\"outputs\":[\"d\"]}", 3, 1, 1);
}

TEST(grad_dropout)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[8,2,2],\"layers\":["
               "{\"name\":\"d\",\"type\":\"dropout\",\"rate\":0.3}],\"outputs\":[\"d\"]}", 2, 1, 1);
}

TEST(grad_softmax)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[5,2,1],\"layers\":["
               "{\"name\":\"s\",\"type\":\"softmax\"}],\"outputs\":[\"s\"]}", 2, 1, 1);
}

/* A small VGG-style stack: gradients flow through every layer together.
 * Each layer alone meets 1e-3 above; stacked, ReLU and max decisions deep in
 * the net flip slightly inside the finite difference, so the bound is 1e-2
 * (a wrong gradient is off by far more). */
TEST(grad_small_cnn)
{
    check_arch_within("{\"format\":\"emotrace-net-1\",\"input\":[1,8,8],\"layers\":["
               "{\"name\":\"c1\",\"type\":\"conv2d\",\"out\":4,\"kernel\":3,\"pad\":1},"
               "{\"name\":\"b1\",\"type\":\"batchnorm\"},{\"name\":\"r1\",\"type\":\"relu\"},"
               "{\"name\":\"p1\",\"type\":\"maxpool\",\"kernel\":2},"
               "{\"name\":\"g\",\"type\":\"global_avgpool\"},"
               "{\"name\":\"fc\",\"type\":\"dense\",\"out\":3}],\"outputs\":[\"fc\"]}", 3, 1, 1, 1e-2);
}
