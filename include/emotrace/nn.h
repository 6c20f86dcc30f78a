/* The neural-network engine as its callers see it: a net is built from an
 * architecture description in JSON (stored in the weights file's metadata)
 * and run forward on float32 NCHW tensors. The net itself is opaque; its
 * layers, parameters and their buffers are the engine's own
 * (src/nn/nn_internal.h). Training adds emotrace/nn_train.h.
 *
 * Architecture JSON:
 *   {"format": "emotrace-net-1", "name": "...", "input": [C, H, W],
 *    "layers": [{"name": "conv1", "type": "conv2d", "in": ["input"], ...}, ...],
 *    "outputs": ["logits"]}
 * "in" lists earlier layer names (or "input"); it defaults to the previous
 * layer. Parameters are tensors named "<layer>.<param>" (e.g. "conv1.weight").
 *
 * Sequences: for a net with recurrent layers the batch dimension of every
 * tensor holds seq_len * batch rows in time-major order (row t*batch + b);
 * per-frame layers (dense, activations) then act on every time step. */
#ifndef EMOTRACE_NN_H
#define EMOTRACE_NN_H

#include <stddef.h>
#include <stdint.h>

#include "emotrace/tensor.h"

typedef struct et_net et_net;

/* Layer and parameter names are shorter than this. */
#define ET_NAME_SIZE 64

/* Per-sample shape (channels, height, width). */
typedef struct {
    int c, h, w;
} et_shape;

/* Builds a net from architecture JSON with freshly initialised parameters
 * (He-normal weights from seed, zero biases, unit batch-norm scale). */
int et_net_create(et_net **out, const char *arch_json, uint64_t seed);
/* The same without drawing the weights (they stay as the layers set them
 * up, zero): for loaders that set every parameter, which then skip the
 * random draws (tens of milliseconds for the shipped nets at start-up). */
int et_net_create_uninitialized(et_net **out, const char *arch_json);
void et_net_free(et_net *net);

/* Loads architecture and parameters from a .safetensors file; every tensor
 * the architecture needs must be present with the right shape. */
int et_net_load(et_net **out, const char *path);
/* Saves architecture and all parameters. extra_metadata: NULL-terminated
 * key/value string pairs added to __metadata__ (provenance, training run). */
int et_net_save(const et_net *net, const char *path, const char *const *extra_metadata);
/* The architecture JSON text the net was built from. */
const char *et_net_arch(const et_net *net);

/* The stored shape of a parameter: [n, c, h, w] less trailing ones. Returns ndim. */
int et_param_shape(const et_tensor *t, int64_t shape[4]);

/* Copies parameter values from src to dst, layer by layer by name: every
 * src layer with parameters must be in dst with the same type and sizes; dst
 * layers src does not have keep their values (growing a trained net). */
int et_net_copy_params(et_net *dst, const et_net *src);

/* Sizes the input for rows samples (seq_len time steps of batch sequences)
 * and the activations; call before filling et_net_input. */
int et_net_prepare(et_net *net, int batch, int seq_len);
/* The input tensor, [rows, input shape], filled by the caller. */
et_tensor *et_net_input(et_net *net);
et_shape et_net_input_shape(const et_net *net);
/* Runs every layer forward on the input. train selects training behaviour
 * (batch statistics, dropout). */
int et_net_forward(et_net *net, int train);

/* The outputs the architecture names, in its order. */
int et_net_output_count(const et_net *net);
et_tensor *et_net_output(et_net *net, int i);
et_shape et_net_output_shape(const et_net *net, int i);
/* A layer by name (-1 if missing), its per-sample output shape and the
 * output of the last pass (e.g. an embedding before the classifier head). */
int et_net_find_layer(const et_net *net, const char *name);
et_shape et_net_layer_shape(const et_net *net, int layer);
const et_tensor *et_net_layer_output(const et_net *net, int layer);

/* Folds each batch norm that directly follows a conv2d/dense into it, for
 * faster inference, and a ReLU that then follows into the conv2d/dense (or
 * add) output. The net then is for inference only, and the outputs of the
 * layers folded into a later one (the conv2d, batch norm or add before such
 * a ReLU) are not kept: read the last layer of the chain. */
int et_net_fold_batchnorm(et_net *net);
/* Promises that the parameters no longer change (an inference net, after
 * loading and folding): layers may then keep what they derive from them,
 * such as conv2d's Winograd kernels for 3x3 convolutions (2.25 to 4 times
 * less GEMM work; outputs within about 1e-5 relative of the direct path). */
void et_net_freeze(et_net *net);

/* Streaming: run a recurrent net one step (or a few) per pass with constant
 * memory per sequence, e.g. one frame per face track. Normally each pass
 * starts every lstm layer from a zero state (as in training); in streaming
 * mode each pass starts batch row b from the state row b ended the previous
 * pass in. Turning the mode on or off resets all states to zero. Rows new to
 * the batch (after et_net_prepare with a larger batch) start from zero. */
void et_net_set_streaming(et_net *net, int on);
/* Floats of state per sequence: h then c of every lstm layer, in net order. */
size_t et_net_state_size(const et_net *net);
/* Copy the state of batch row b (0 <= b < the prepared batch) out of, or
 * into, the net; src NULL sets a zero state. A caller keeps one state vector
 * per sequence and sets the rows before et_net_forward, gets them after. */
int et_net_state_get(et_net *net, int b, float *dst);
int et_net_state_set(et_net *net, int b, const float *src);

/* --- threads ---
 * The engine spreads its loops over a small pool of threads of its own and
 * runs the GEMMs inside them single-threaded (OpenBLAS is switched to one
 * thread while a parallel region runs, then restored). Each thread gets a
 * fixed share of the work, so results are deterministic for a given thread
 * count (they may differ in float rounding between thread counts). */

/* Threads for the engine: 0 (the default) follows openblas_get_num_threads(),
 * so openblas_set_num_threads (or OPENBLAS_NUM_THREADS) sets both. */
void et_nn_set_threads(int threads);
/* Threads for the regions the calling thread starts, overriding the above
 * for this thread only (0: back to the above). Parallel batch jobs each
 * set their share of the cores; since one region runs on the pool at a
 * time (others run inline), jobs never use more than their shares. */
void et_nn_set_local_threads(int threads);
/* The thread count parallel regions use now (at least 1). */
int et_nn_threads(void);

/* Runs fn(ctx, t, threads) for t = 0..threads-1 on that many threads, the
 * calling thread taking t = 0; threads is et_nn_threads() capped at
 * max_threads (when > 0), and 1 inside another region or while another
 * thread runs one. Returns threads. */
typedef void (*et_parallel_fn)(void *ctx, int thread, int threads);
int et_parallel_run(int max_threads, et_parallel_fn fn, void *ctx);

/* Thread t's share [*begin, *end) of count items split into threads
 * contiguous parts. */
static inline void et_parallel_range(size_t count, int t, int threads, size_t *begin, size_t *end)
{
    *begin = count * (size_t)t / (size_t)threads;
    *end = count * (size_t)(t + 1) / (size_t)threads;
}

/* et_parallel_run for parts that can fail: each fn(ctx, t, threads) returns
 * ET_OK or an error code with its message set (on its own thread). Returns
 * ET_OK, or the code and message of the lowest-numbered part that failed,
 * set on the calling thread. */
typedef int (*et_parallel_try_fn)(void *ctx, int thread, int threads);
int et_parallel_try(int max_threads, et_parallel_try_fn fn, void *ctx);

#endif
