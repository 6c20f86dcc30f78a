/* Finite-difference gradient checks for the layer types beyond the first
 * set: activations with slopes, average pooling, graph joins and the LSTM. */
#include "gradcheck.h"
#include "test.h"

#define MAX_REL_ERROR 1e-3

static void check_arch(const char *arch, int batch, int seq_len, int train)
{
    double rel = gradcheck_net(arch, batch, seq_len, train, 7, 200);
    CHECK_MSG(rel >= 0.0 && rel < MAX_REL_ERROR, "relative gradient error %.3g for %s", rel, arch);
}

TEST(grad_leaky_relu)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,3,3],\"layers\":["
               "{\"name\":\"r\",\"type\":\"leaky_relu\",\"slope\":0.2}],\"outputs\":[\"r\"]}", 2, 1, 1);
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,3,3],\"layers\":["
               "{\"name\":\"r\",\"type\":\"leaky_relu\"}],\"outputs\":[\"r\"]}", 2, 1, 1);
}

TEST(grad_prelu)
{
    /* Through a conv so the slope sees both signs in every channel. */
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,4,4],\"layers\":["
               "{\"name\":\"p\",\"type\":\"prelu\"}],\"outputs\":[\"p\"]}", 2, 1, 1);
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[6,1,1],\"layers\":["
               "{\"name\":\"d\",\"type\":\"dense\",\"out\":4},"
               "{\"name\":\"p\",\"type\":\"prelu\"}],\"outputs\":[\"p\"]}", 3, 1, 1);
}

TEST(grad_avgpool)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,6,5],\"layers\":["
               "{\"name\":\"p\",\"type\":\"avgpool\",\"kernel\":2}],\"outputs\":[\"p\"]}", 2, 1, 1);
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,5,5],\"layers\":["
               "{\"name\":\"p\",\"type\":\"avgpool\",\"kernel\":3,\"stride\":2,\"pad\":1}],\"outputs\":[\"p\"]}",
               2, 1, 1);
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[1,5,4],\"layers\":["
               "{\"name\":\"p\",\"type\":\"avgpool\",\"kernel\":[3,2],\"stride\":1,\"pad\":[1,0,2,1]}],"
               "\"outputs\":[\"p\"]}", 2, 1, 1);
}

TEST(grad_add)
{
    /* A residual block: the input reaches the sum directly and through a conv. */
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,4,4],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":2,\"kernel\":3,\"pad\":1},"
               "{\"name\":\"a\",\"type\":\"add\",\"in\":[\"input\",\"c\"]}],\"outputs\":[\"a\"]}", 2, 1, 1);
    /* Three inputs, one of them twice. */
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,2,2],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":3,\"kernel\":1},"
               "{\"name\":\"a\",\"type\":\"add\",\"in\":[\"c\",\"input\",\"c\"]}],\"outputs\":[\"a\"]}", 2, 1, 1);
}

TEST(grad_concat)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,3,3],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":3,\"kernel\":3,\"pad\":1},"
               "{\"name\":\"k\",\"type\":\"concat\",\"in\":[\"input\",\"c\",\"input\"]},"
               "{\"name\":\"d\",\"type\":\"conv2d\",\"out\":2,\"kernel\":1}],\"outputs\":[\"d\"]}", 2, 1, 1);
}

TEST(grad_channel_pad)
{
    /* The BlazeFace shortcut: pad the input to the branch's width and add. */
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,3,3],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":5,\"kernel\":3,\"pad\":1},"
               "{\"name\":\"p\",\"type\":\"channel_pad\",\"out\":5,\"in\":\"input\"},"
               "{\"name\":\"a\",\"type\":\"add\",\"in\":[\"c\",\"p\"]}],\"outputs\":[\"a\"]}", 2, 1, 1);
}

TEST(grad_zero_pad)
{
    /* The residualDown of face-api's ResNet: a strided branch padded to the pooled shortcut. */
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,4,4],\"layers\":["
               "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":3,\"kernel\":3,\"stride\":2},"
               "{\"name\":\"z\",\"type\":\"zero_pad\",\"pad\":[0,0,1,1]},"
               "{\"name\":\"p\",\"type\":\"avgpool\",\"kernel\":2,\"in\":\"input\"},"
               "{\"name\":\"w\",\"type\":\"channel_pad\",\"out\":3},"
               "{\"name\":\"a\",\"type\":\"add\",\"in\":[\"z\",\"w\"]}],\"outputs\":[\"a\"]}", 2, 1, 1);
}

TEST(grad_lstm)
{
    /* 6 steps of 2 sequences; the input is a [3, 2, 1] sample flattened to 6. */
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,2,1],\"layers\":["
               "{\"name\":\"l\",\"type\":\"lstm\",\"hidden\":4}],\"outputs\":[\"l\"]}", 2, 6, 1);
    /* One step, one sequence: the no-recurrence edge. */
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[2,1,1],\"layers\":["
               "{\"name\":\"l\",\"type\":\"lstm\",\"hidden\":3}],\"outputs\":[\"l\"]}", 1, 1, 1);
}

TEST(grad_lstm_stacked)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[3,1,1],\"layers\":["
               "{\"name\":\"l1\",\"type\":\"lstm\",\"hidden\":4},"
               "{\"name\":\"l2\",\"type\":\"lstm\",\"hidden\":3}],\"outputs\":[\"l2\"]}", 2, 5, 1);
}

TEST(grad_lstm_dense_head)
{
    check_arch("{\"format\":\"emotrace-net-1\",\"input\":[4,1,1],\"layers\":["
               "{\"name\":\"l1\",\"type\":\"lstm\",\"hidden\":5},"
               "{\"name\":\"l2\",\"type\":\"lstm\",\"hidden\":4},"
               "{\"name\":\"fc\",\"type\":\"dense\",\"out\":3}],\"outputs\":[\"fc\"]}", 2, 5, 1);
}
