/* Streaming an LSTM net step by step (one pass per frame, state carried per
 * batch row or kept by the caller) must give what one batched pass over the
 * whole sequences gives. */
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/nn.h"
#include "emotrace/rng.h"
#include "test.h"

#define SEQS 3
#define STEPS 7
#define FEATURES 3
#define OUTS 2
#define TOL 1e-5

static const char *ARCH =
    "{\"format\":\"emotrace-net-1\",\"input\":[3,1,1],\"layers\":["
    "{\"name\":\"l1\",\"type\":\"lstm\",\"hidden\":5},"
    "{\"name\":\"l2\",\"type\":\"lstm\",\"hidden\":4},"
    "{\"name\":\"fc\",\"type\":\"dense\",\"out\":2}],\"outputs\":[\"fc\"]}";

typedef struct {
    et_net *net;
    float x[STEPS][SEQS][FEATURES];
    float ref[STEPS][SEQS][OUTS];      /* one batched pass, zero initial state */
    float ref_state[SEQS][2 * (5 + 4)]; /* state after that pass */
} fixture;

static int setup(fixture *f)
{
    memset(f, 0, sizeof *f);
    if (et_net_create(&f->net, ARCH, 3) != ET_OK) {
        test_fail(__FILE__, __LINE__, "%s", et_error_message());
        return 0;
    }
    et_rng rng;
    et_rng_seed(&rng, 99);
    for (int t = 0; t < STEPS; t++)
        for (int s = 0; s < SEQS; s++)
            for (int k = 0; k < FEATURES; k++)
                f->x[t][s][k] = (float)(2.0 * et_rng_uniform(&rng) - 1.0);
    if (et_net_prepare(f->net, SEQS, STEPS) != ET_OK)
        return 0;
    memcpy(et_net_input(f->net)->data, f->x, sizeof f->x); /* rows t*SEQS + s: time-major */
    if (et_net_forward(f->net, 0) != ET_OK)
        return 0;
    memcpy(f->ref, et_net_output(f->net, 0)->data, sizeof f->ref);
    for (int s = 0; s < SEQS; s++)
        if (et_net_state_get(f->net, s, f->ref_state[s]) != ET_OK)
            return 0;
    return 1;
}

static void check_row(fixture *f, int row, int t, int s, const char *what)
{
    const float *out = et_net_output(f->net, 0)->data + (size_t)row * OUTS;
    for (int k = 0; k < OUTS; k++)
        CHECK_MSG(fabs(out[k] - f->ref[t][s][k]) <= TOL * (1.0 + fabs(f->ref[t][s][k])),
                  "%s: step %d sequence %d output %d is %.9g, batched %.9g", what, t, s, k, out[k],
                  f->ref[t][s][k]);
}

TEST(stream_lstm_equals_batched)
{
    fixture f;
    REQUIRE(setup(&f));
    CHECK_EQ_INT(et_net_state_size(f.net), 2 * (5 + 4));
    et_net_set_streaming(f.net, 1);
    REQUIRE(et_net_prepare(f.net, SEQS, 1) == ET_OK);
    for (int t = 0; t < STEPS; t++) {
        memcpy(et_net_input(f.net)->data, f.x[t], sizeof f.x[t]);
        REQUIRE(et_net_forward(f.net, 0) == ET_OK);
        for (int s = 0; s < SEQS; s++)
            check_row(&f, s, t, s, "streamed");
    }
    /* The carried state is the batched pass's final state. */
    for (int s = 0; s < SEQS; s++) {
        float state[2 * (5 + 4)];
        REQUIRE(et_net_state_get(f.net, s, state) == ET_OK);
        for (int k = 0; k < 2 * (5 + 4); k++)
            CHECK_NEAR(state[k], f.ref_state[s][k], TOL);
    }
    /* Turning streaming off (or on again) restarts from zero: step 0 again. */
    et_net_set_streaming(f.net, 0);
    memcpy(et_net_input(f.net)->data, f.x[0], sizeof f.x[0]);
    REQUIRE(et_net_forward(f.net, 0) == ET_OK);
    for (int s = 0; s < SEQS; s++)
        check_row(&f, s, 0, s, "not streaming");
    et_net_free(f.net);
}

/* Chunks of several steps per pass also continue where the last one ended. */
TEST(stream_lstm_chunks)
{
    fixture f;
    REQUIRE(setup(&f));
    et_net_set_streaming(f.net, 1);
    const int chunks[] = {3, 1, 3};
    for (int c = 0, t0 = 0; c < 3; t0 += chunks[c], c++) {
        REQUIRE(et_net_prepare(f.net, SEQS, chunks[c]) == ET_OK);
        memcpy(et_net_input(f.net)->data, f.x[t0], (size_t)chunks[c] * sizeof f.x[0]);
        REQUIRE(et_net_forward(f.net, 0) == ET_OK);
        for (int t = 0; t < chunks[c]; t++)
            for (int s = 0; s < SEQS; s++)
                check_row(&f, t * SEQS + s, t0 + t, s, "chunked");
    }
    et_net_free(f.net);
}

/* As for face tracks: the caller keeps one state vector per sequence and each
 * step gathers the sequences into batches of varying size and order. */
TEST(stream_lstm_states_moved_between_rows)
{
    fixture f;
    REQUIRE(setup(&f));
    size_t size = et_net_state_size(f.net);
    float states[SEQS][2 * (5 + 4)];
    memset(states, 0, sizeof states);
    et_net_set_streaming(f.net, 1);
    /* Per step: groups of sequences run together, in this row order. */
    static const int groups[2][2][SEQS + 1] = {
        {{2, 2, 0}, {1, 1}},   /* {count, seq...}: rows (2, 0), then (1) */
        {{3, 1, 2, 0}, {0}},   /* all three, reordered */
    };
    for (int t = 0; t < STEPS; t++)
        for (int g = 0; g < 2; g++) {
            const int *group = groups[t % 2][g];
            int count = group[0];
            if (!count)
                continue;
            REQUIRE(et_net_prepare(f.net, count, 1) == ET_OK);
            for (int r = 0; r < count; r++) {
                int s = group[1 + r];
                REQUIRE(et_net_state_set(f.net, r, t ? states[s] : NULL) == ET_OK);
                memcpy(et_net_input(f.net)->data + (size_t)r * FEATURES, f.x[t][s], sizeof f.x[t][s]);
            }
            REQUIRE(et_net_forward(f.net, 0) == ET_OK);
            for (int r = 0; r < count; r++) {
                int s = group[1 + r];
                check_row(&f, r, t, s, "gathered");
                REQUIRE(et_net_state_get(f.net, r, states[s]) == ET_OK);
            }
        }
    for (int s = 0; s < SEQS; s++)
        for (size_t k = 0; k < size; k++)
            CHECK_NEAR(states[s][k], f.ref_state[s][k], TOL);
    et_net_free(f.net);
}

TEST(stream_state_errors)
{
    fixture f;
    REQUIRE(setup(&f));
    float state[2 * (5 + 4)];
    REQUIRE(et_net_prepare(f.net, 2, 1) == ET_OK);
    CHECK(et_net_state_get(f.net, 2, state) == ET_ERR_USAGE);
    CHECK(strstr(et_error_message(), "row 2") != NULL);
    CHECK(et_net_state_set(f.net, -1, state) == ET_ERR_USAGE);
    CHECK(et_net_state_get(f.net, 0, NULL) == ET_ERR_USAGE);
    et_net_free(f.net);

    /* A net without recurrent layers has no state. */
    et_net *cnn = NULL;
    REQUIRE(et_net_create(&cnn, "{\"format\":\"emotrace-net-1\",\"input\":[1,2,2],\"layers\":["
                                "{\"name\":\"g\",\"type\":\"global_avgpool\"}],\"outputs\":[\"g\"]}", 1) == ET_OK);
    CHECK_EQ_INT(et_net_state_size(cnn), 0);
    et_net_free(cnn);
}
