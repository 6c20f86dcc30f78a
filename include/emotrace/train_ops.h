/* Training operations: the softmax cross-entropy loss, optimizers (SGD with
 * (Nesterov) momentum, AdamW) and learning-rate schedules. */
#ifndef EMOTRACE_TRAIN_OPS_H
#define EMOTRACE_TRAIN_OPS_H

#include <stddef.h>

#include "emotrace/nn_train.h"

/* Softmax cross-entropy of logits [rows, K] against target distributions
 * (rows x K, each summing to 1; hard labels are one-hot). smoothing in [0,1)
 * mixes each target with the uniform distribution. Writes the mean loss and,
 * if dlogits is not NULL, its gradient (softmax - target) / rows. */
int et_loss_softmax_cross_entropy(const et_tensor *logits, const float *targets, float smoothing,
                                  et_tensor *dlogits, double *loss);
/* One-hot rows from labels in [0, classes). */
void et_targets_one_hot(const int *labels, int rows, int classes, float *targets);

typedef enum { ET_OPTIMIZER_SGD, ET_OPTIMIZER_ADAMW } et_optimizer_kind;

typedef struct {
    et_optimizer_kind kind;
    float momentum;     /* SGD */
    int nesterov;       /* SGD */
    float weight_decay; /* SGD: L2 added to the gradient; AdamW: decoupled */
    float beta1, beta2, eps; /* AdamW */
    long step;
    int count;          /* trainable params, in et_net_visit_params order */
    float **m, **v;     /* momentum / first moment, second moment (AdamW) */
    size_t *sizes;
    float **average;    /* running mean of the weights (et_optimizer_average_enable) */
    long averaged;      /* snapshots in that mean */
} et_optimizer;

int et_optimizer_init(et_optimizer *opt, et_net *net, et_optimizer_kind kind);
/* Applies one update with learning rate lr using the accumulated gradients. */
int et_optimizer_step(et_optimizer *opt, et_net *net, float lr);
void et_optimizer_free(et_optimizer *opt);

/* Stochastic weight averaging: the optimizer also keeps the mean of the
 * trainable weights over chosen snapshots (checkpoints save it with the rest
 * of its state). average_add takes a snapshot of net; average_apply writes
 * the mean into net's trainable parameters (net: the same architecture; its
 * batch-norm statistics then need recomputing). */
int et_optimizer_average_enable(et_optimizer *opt);
int et_optimizer_average_add(et_optimizer *opt, et_net *net);
int et_optimizer_average_apply(const et_optimizer *opt, et_net *net);

/* SGD step for one tensor: g += wd*w (when decay); buf = mu*buf + g;
 * w -= lr * (nesterov ? g + mu*buf : buf). */
void et_sgd_update(float *w, const float *grad, float *buf, size_t n, float lr, float momentum, int nesterov,
                   float weight_decay);
/* AdamW step for one tensor (t is the 1-based step number). */
void et_adamw_update(float *w, const float *grad, float *m, float *v, size_t n, float lr, float beta1,
                     float beta2, float eps, float weight_decay, long t);

/* Cosine decay from base to min over total steps after a linear warm-up. */
float et_lr_cosine(float base, float min, long step, long total, long warmup);
/* Step decay: base * gamma^(floor(epoch / every)). */
float et_lr_step(float base, int epoch, int every, float gamma);

#endif
