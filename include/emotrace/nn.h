/* The neural-network engine: a network is a list of layers in topological
 * order, built from an architecture description in JSON (stored in the
 * weights file's metadata), run forward and backward on float32 NCHW tensors.
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

#include <stdint.h>

#include "emotrace/json.h"
#include "emotrace/rng.h"
#include "emotrace/tensor.h"

#define ET_MAX_INPUTS 8
#define ET_MAX_PARAMS 8
#define ET_NAME_SIZE 64

typedef struct et_net et_net;
typedef struct et_layer et_layer;

/* Per-sample shape (channels, height, width). */
typedef struct {
    int c, h, w;
} et_shape;

typedef struct {
    char name[ET_NAME_SIZE]; /* "weight", "bias", "running_mean", ... */
    et_tensor value, grad;   /* grad is allocated only for trainable params */
    int trainable;           /* 0 for statistics such as batch-norm running means */
    int decay;               /* 1 when weight decay applies (weights, not biases/BN) */
} et_param;

typedef struct {
    const char *name; /* the "type" string in the architecture */
    /* Reads the layer's settings from config, checks layer->in_shape[], sets
     * layer->out_shape, adds params with et_layer_add_param. Returns an error
     * (message naming the layer) on bad settings or shapes. */
    int (*setup)(et_layer *layer, const et_json *config);
    /* Computes layer->out from the inputs (et_layer_input). train selects
     * training behaviour (batch statistics, dropout). */
    int (*forward)(et_layer *layer, et_net *net, int train);
    /* Adds the gradient w.r.t. each input into et_layer_input_grad (which may
     * be NULL for the net input) and accumulates param grads. Uses layer->dout. */
    int (*backward)(et_layer *layer, et_net *net);
    /* Optional: frees layer->state. */
    void (*destroy)(et_layer *layer);
} et_layer_type;

struct et_layer {
    const et_layer_type *type;
    char name[ET_NAME_SIZE];
    int inputs[ET_MAX_INPUTS]; /* indices of earlier layers; -1 is the net input */
    int input_count;
    et_shape in_shape[ET_MAX_INPUTS];
    et_shape out_shape;
    et_param params[ET_MAX_PARAMS];
    int param_count;
    et_tensor out;  /* activation, [rows, out_shape] */
    et_tensor dout; /* gradient of the loss w.r.t. out (training only) */
    void *state;    /* layer-specific settings and buffers */
    int identity;   /* set when folded away (batch norm after fold): out = input */
    /* ReLU applied to out: conv2d/dense after et_net_fold_batchnorm; batch
     * norm while a ReLU is its only reader (set by its forward pass: the
     * ReLU then takes the buffer over and its backward is done by the batch
     * norm's, so the batch norm's own out and dout are not kept). */
    int fused_relu;
    /* Set by setup when backward honours et_layer_input_grad_assign: it then
     * writes (rather than adds) the gradient of an input it is the only
     * consumer of, which et_net_backward leaves unzeroed. */
    int assigns_input_grad;
    int grad_assign; /* set by et_net_backward_begin: dout is not zeroed, its
                      * only consumer writes it */
};

struct et_net {
    char name[ET_NAME_SIZE];
    et_layer *layers;
    int layer_count;
    et_shape input_shape;
    et_tensor input;  /* filled by the caller: [rows, input_shape] */
    et_tensor dinput; /* unused unless a caller needs input gradients */
    int rows;         /* rows of the current pass (batch, or seq_len * batch) */
    int seq_len;      /* time steps per sequence (1 for per-image nets) */
    int outputs[ET_MAX_INPUTS];
    int output_count;
    float *workspace; /* shared scratch, e.g. im2col columns */
    size_t workspace_size;
    et_rng rng;       /* dropout and initialisation */
    char *arch;       /* the architecture JSON text */
    int need_input_grad;
    int frozen;       /* et_net_freeze: parameters fixed from now on */
};

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

/* The stored shape of a parameter: [n, c, h, w] less trailing ones. Returns ndim. */
int et_param_shape(const et_tensor *t, int64_t shape[4]);

/* Copies parameter values from src to dst, layer by layer by name: every
 * src layer with parameters must be in dst with the same type and sizes; dst
 * layers src does not have keep their values (growing a trained net). */
int et_net_copy_params(et_net *dst, const et_net *src);

/* Sizes net->input for rows samples (seq_len time steps of batch sequences)
 * and the activations; call before filling net->input. */
int et_net_prepare(et_net *net, int batch, int seq_len);
/* Runs every layer forward on net->input. */
int et_net_forward(et_net *net, int train);
/* Runs layer l forward, as et_net_forward does for each layer in order
 * (for per-layer timing). */
int et_net_forward_layer(et_net *net, int l, int train);
/* Backpropagates from the dout of the output layers (set by the loss) and
 * accumulates parameter gradients. Call et_net_zero_grad first. */
int et_net_backward(et_net *net);
/* The first part of et_net_backward: sizes every dout and zeroes those that
 * layers add into (see et_layer.assigns_input_grad); running each
 * layer's backward from the last to the first then completes the pass. */
int et_net_backward_begin(et_net *net);
void et_net_zero_grad(et_net *net);

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

/* Sets how far each training-mode pass moves every batch norm's running
 * statistics towards the batch's (running = (1 - m) running + m batch).
 * 1/k for the k-th pass makes them the plain mean over the passes. */
void et_net_set_batchnorm_momentum(et_net *net, float momentum);
/* Finds a layer by name; -1 if missing. */
int et_net_find(const et_net *net, const char *name);
/* The output tensor of output i. */
et_tensor *et_net_output(et_net *net, int i);

/* Enumerates parameters: calls fn for each (layer, param) in a fixed order. */
typedef int (*et_param_visitor)(et_layer *layer, et_param *param, void *ctx);
int et_net_visit_params(et_net *net, et_param_visitor fn, void *ctx);
size_t et_net_param_count(const et_net *net);

/* --- for layer implementations --- */

/* Adds a parameter of the given shape (zero-initialised). */
et_param *et_layer_add_param(et_layer *layer, const char *name, int n, int c, int h, int w,
                             int trainable, int decay);
et_tensor *et_layer_input(et_net *net, et_layer *layer, int i);
/* NULL when no gradient is wanted for that input (the net input). */
et_tensor *et_layer_input_grad(et_net *net, et_layer *layer, int i);
/* 1 when backward must write (=) the gradient of input i instead of adding
 * to it: this layer is its only consumer and it was not zeroed. */
int et_layer_input_grad_assign(const et_net *net, const et_layer *layer, int i);
/* The layer that is the only reader of layer l's output (through one input),
 * or -1 (several readers, none, or l is a net output). */
int et_net_sole_consumer(const et_net *net, int l);
/* Makes sure net->workspace holds at least count floats. */
float *et_net_workspace(et_net *net, size_t count);
/* Resizes layer->out to [net->rows, out_shape]. */
int et_layer_prepare_output(et_layer *layer, et_net *net);
/* Architecture numbers are whole and at most this large, and a layer's
 * output (one sample) has at most ET_MAX_SIDE per side and ET_MAX_VOLUME
 * values: a hostile or broken weights file is refused with a message
 * instead of overflowing the shape arithmetic. */
#define ET_CONFIG_INT_MAX (1 << 20)
#define ET_MAX_SIDE (1 << 16)
#define ET_MAX_VOLUME (1 << 26)
/* Reads an int or a list of ints from config (e.g. "kernel": 3 or [3, 5]). */
int et_config_ints(const et_json *config, const char *key, int *values, int count, int fallback);
/* Reads one whole number from min to max (fallback when absent). */
int et_config_int(const et_json *config, const char *key, int fallback, int min, int max, int *value);

/* 1 when all inputs of the layer have the same shape. */
int et_layer_inputs_same_shape(const et_layer *layer);
/* Output size of a window op along one axis: (in + pads - kernel) / stride + 1. */
static inline int et_window_out(int in, int kernel, int stride, int pad_before, int pad_after)
{
    return in + pad_before + pad_after < kernel ? 0 : (in + pad_before + pad_after - kernel) / stride + 1;
}
/* Reads "kernel", "stride" (default: stride_default) and "pad" (a number or
 * [top, left, bottom, right]) shared by convolution and pooling layers. */
typedef struct {
    int kh, kw, sh, sw, pt, pl, pb, pr;
} et_window;
int et_window_from_config(et_window *win, const et_json *config, const char *layer_name, int stride_default);

/* Layer types known to the loader, NULL if unknown. */
const et_layer_type *et_layer_type_find(const char *name);

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
