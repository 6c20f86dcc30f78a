/* The engine's own view of a net: its layers, their parameters and
 * buffers, the layer-type interface and the helpers layer implementations
 * share. Included only by src/nn (and by tests of the ops inside it);
 * everything else goes through emotrace/nn.h and emotrace/nn_train.h. */
#ifndef EMOTRACE_NN_INTERNAL_H
#define EMOTRACE_NN_INTERNAL_H

#include <stdint.h>

#include "emotrace/json.h"
#include "emotrace/nn.h"
#include "emotrace/rng.h"
#include "emotrace/tensor.h"

#define ET_MAX_INPUTS 8
#define ET_MAX_PARAMS 8

typedef struct et_layer et_layer;

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
    /* Optional: frees layer->state. */
    void (*destroy)(et_layer *layer);
} et_layer_type;
/* Each type's backward pass is in training/<type>_backward.c, found by
 * et_layer_backward (training/layer_backward.c). */

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

/* Runs layer l forward, as et_net_forward does for each layer in order
 * (for per-layer timing). */
int et_net_forward_layer(et_net *net, int l, int train);
/* The first part of et_net_backward: sizes every dout and zeroes those that
 * layers add into (see et_layer.assigns_input_grad); running each
 * layer's backward from the last to the first then completes the pass. */
int et_net_backward_begin(et_net *net);

/* Input slots (of all layers) that read layer l's output; *last gets the
 * last layer that reads it. */
int et_net_consumers(const et_net *net, int l, int *last);
/* 1 when layer l is one of the net's outputs. */
int et_net_is_output(const et_net *net, int l);

/* --- for layer implementations --- */

/* The layer's state: size zeroed bytes, kept in layer->state (freed with the
 * layer). NULL, with the error set, when memory runs out. */
void *et_layer_state_new(et_layer *layer, size_t size);
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
/* Reads the layer's window (et_window_from_config) and sets the output's
 * height and width: the window slid over the first input. */
int et_window_setup(et_layer *layer, const et_json *config, et_window *win, int stride_default);

/* Layer types known to the loader, NULL if unknown. */
const et_layer_type *et_layer_type_find(const char *name);

extern const et_layer_type et_layer_conv2d;
extern const et_layer_type et_layer_batchnorm;
extern const et_layer_type et_layer_relu;
extern const et_layer_type et_layer_maxpool;
extern const et_layer_type et_layer_global_avgpool;
extern const et_layer_type et_layer_dense;
extern const et_layer_type et_layer_dropout;
extern const et_layer_type et_layer_softmax;
extern const et_layer_type et_layer_depthwise_conv2d;
extern const et_layer_type et_layer_upsample_bilinear;
extern const et_layer_type et_layer_depth_to_space;
extern const et_layer_type et_layer_leaky_relu;
extern const et_layer_type et_layer_prelu;
extern const et_layer_type et_layer_avgpool;
extern const et_layer_type et_layer_add;
extern const et_layer_type et_layer_concat;
extern const et_layer_type et_layer_channel_pad;
extern const et_layer_type et_layer_lstm;
extern const et_layer_type et_layer_zero_pad;

/* --- training (training/) --- */

/* Runs the layer's backward pass: adds the gradient w.r.t. each input into
 * et_layer_input_grad (which may be NULL for the net input) and accumulates
 * param grads, from layer->dout. */
int et_layer_backward(et_layer *layer, et_net *net);

#endif
