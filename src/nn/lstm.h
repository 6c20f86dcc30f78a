/* The lstm layer: what its forward pass (lstm.c) and its backward pass
 * (training/lstm_backward.c) share. Private to src/nn. */
#ifndef EMOTRACE_NN_LSTM_H
#define EMOTRACE_NN_LSTM_H

#include "nn_internal.h"

typedef struct {
    int hidden;
    int streaming;
    /* Carried state: (h, c) per batch row at the end of the last pass. */
    float *carry_h, *carry_c;
    int carry_batch;
    /* Forward cache for backpropagation through time, per row: activated
     * gates [4H] and cell [H]; per sequence: the initial state. */
    float *gates, *cells, *h0, *c0;
    size_t rows_capacity, batch_capacity;
    /* Backward scratch: gate pre-activation gradients [rows, 4H], h_{t-1}
     * per row [rows, H], and running dh, dc [batch, H]. */
    float *dgates, *hprev, *dh, *dc;
} lstm_state;

#endif
