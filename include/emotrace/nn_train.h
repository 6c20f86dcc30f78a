/* Training a net (emotrace/nn.h): the backward pass, the gradient of the
 * outputs a loss fills, and the parameters an optimizer, a checkpoint or a
 * weight average walks over. Inference never needs this header. */
#ifndef EMOTRACE_NN_TRAIN_H
#define EMOTRACE_NN_TRAIN_H

#include <stddef.h>

#include "emotrace/nn.h"
#include "emotrace/rng.h"

/* The gradient of the loss w.r.t. output i, sized like that output after
 * the last forward pass (contents undefined until the loss writes them);
 * NULL when out of memory (error set). et_net_backward starts from it. */
et_tensor *et_net_output_grad(et_net *net, int i);
/* Backpropagates from the output gradients and accumulates parameter
 * gradients. Call et_net_zero_grad first. */
int et_net_backward(et_net *net);
void et_net_zero_grad(et_net *net);

/* The generator dropout and initialisation draw from (a trainer seeds it,
 * and a checkpoint keeps it, so that a resumed run draws the same). */
et_rng *et_net_rng(et_net *net);

/* Sets how far each training-mode pass moves every batch norm's running
 * statistics towards the batch's (running = (1 - m) running + m batch).
 * 1/k for the k-th pass makes them the plain mean over the passes. */
void et_net_set_batchnorm_momentum(et_net *net, float momentum);

/* One parameter as seen from outside the engine: the tensor
 * "<layer>.<name>" of a weights file. */
typedef struct {
    const char *layer; /* the layer's name */
    const char *name;  /* "weight", "bias", "running_mean", ... */
    et_tensor *value;
    et_tensor *grad;   /* NULL unless trainable */
    int trainable;     /* 0 for statistics such as batch-norm running means */
    int decay;         /* 1 when weight decay applies (weights, not biases/BN) */
} et_param_ref;

/* Calls fn for each parameter, layer by layer in net order and in each
 * layer's order (a fixed order: optimizers keep their state by it); stops at
 * the first that does not return ET_OK and returns that. */
typedef int (*et_param_visitor)(const et_param_ref *param, void *ctx);
int et_net_visit_params(et_net *net, et_param_visitor fn, void *ctx);
/* The value of parameter "<layer>.<name>", NULL if there is none. */
et_tensor *et_net_find_param(et_net *net, const char *layer, const char *name);
/* Values in all trainable parameters. */
size_t et_net_param_count(const et_net *net);

#endif
