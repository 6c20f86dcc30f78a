/* Training the emotion CNN: epochs of augmented mini-batches, evaluation on
 * a validation split after each epoch, the best weights kept, and a
 * checkpoint (weights + optimizer state + position) written every epoch so
 * that --resume continues exactly where a run stopped. */
#ifndef EMOTRACE_CNN_TRAINER_H
#define EMOTRACE_CNN_TRAINER_H

#include <stdint.h>

#include "emotrace/face_dataset.h"
#include "emotrace/metrics.h"
#include "emotrace/train_ops.h"

typedef struct {
    const char *arch_json;     /* architecture; NULL: the default emotion CNN */
    const char *init_weights;  /* start from these weights (fine-tuning), or NULL */
    const char *out_path;      /* best weights (by validation accuracy) */
    const char *checkpoint_path;
    int resume;                /* continue from checkpoint_path */
    int epochs, batch;
    et_optimizer_kind optimizer;
    float lr, min_lr, weight_decay, momentum, smoothing;
    int warmup_epochs;
    /* Stochastic weight averaging: from the end of this epoch (1-based) on,
     * the mean of the end-of-epoch weights, its batch-norm statistics
     * recomputed on training images, is validated too and kept when best.
     * 0: off. */
    int swa_start;
    /* CutMix probability per image (et_cutmix_batch); 0: off. */
    float cutmix;
    /* Loss weight of class c proportional to count_c^-class_balance (0: off,
     * 0.5: square-root balancing, 1: every class weighs the same), scaled
     * so that the mean weight over the training images is 1. */
    float class_balance;
    int video_augment;         /* also blur, low resolution, noise (et_augment_video_defaults) */
    float aspect_augment;      /* et_augment_options.max_aspect (0: off) */
    /* Also write every epoch's weights (and the weight average) beside
     * out_path, as OUT.epochN.safetensors / OUT.epochN-avg.safetensors, so
     * that epochs can be selected on more than the validation accuracy. */
    int keep_epochs;
    uint64_t seed;
    int augment;               /* 0 disables augmentation (tests) */
    int quiet;
    const char *command_line;  /* recorded in the weights metadata */
    int max_steps;             /* stop after this many steps in total (0: no limit; tests) */
    double checkpoint_seconds; /* also checkpoint inside an epoch this often (0: epoch ends only) */
    volatile int *stop;        /* when set (by a signal): checkpoint and return ET_ERR_INTERRUPTED */
} et_cnn_train_options;

void et_cnn_train_defaults(et_cnn_train_options *o);
/* The loss weight of each class for class_balance = power: count_c^-power,
 * scaled so that the mean weight over the training images is 1 (the
 * learning rate keeps its meaning); a class without images weighs 0. */
void et_cnn_class_weights(const et_face_dataset *train, float power, float *weights);
/* The default architecture (a VGG-style CNN; see the source). */
const char *et_emotion_cnn_default_arch(void);

typedef struct {
    int epochs_done;
    double last_loss, last_train_accuracy;
    et_metrics last_val, best_val;
    et_metrics last_average_val; /* of the weight average (swa_start) */
    int best_epoch;
    int best_is_average;         /* the best weights are the weight average */
    double images_per_second;
} et_cnn_train_result;

int et_cnn_train(const et_cnn_train_options *o, const et_face_dataset *train, const et_face_dataset *val,
                 et_cnn_train_result *result);

/* Runs a net (inference mode) over a dataset and fills metrics. If
 * probabilities is not NULL it receives count x 7 values. */
int et_cnn_evaluate(et_net *net, const et_face_dataset *ds, et_metrics *metrics, float *probabilities);

#endif
