/* Training checkpoints: the net's parameters, the optimizer's state and the
 * position in the run, nothing else, in one .safetensors file. */
#ifndef EMOTRACE_CHECKPOINT_H
#define EMOTRACE_CHECKPOINT_H

#include <stdint.h>

#include "emotrace/train_ops.h"

typedef struct {
    int epoch;          /* epochs completed */
    int position;       /* samples of epoch+1 already trained (0 at an epoch boundary) */
    double partial_loss;  /* that partial epoch's summed loss, correct predictions and samples */
    long partial_correct, partial_seen;
    long step;          /* optimizer steps taken */
    et_rng rng;         /* the net's generator (dropout) after that epoch */
    double best_accuracy;
    int best_epoch;
    char settings[512]; /* training settings that must match on resume */
} et_checkpoint_info;

int et_checkpoint_save(const char *path, const et_net *net, const et_optimizer *opt, const et_checkpoint_info *info);
/* Loads parameters into net (same architecture) and state into opt (already
 * initialised for net), and fills info. */
int et_checkpoint_load(const char *path, et_net *net, et_optimizer *opt, et_checkpoint_info *info);

#endif
