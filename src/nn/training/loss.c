/* Softmax cross-entropy with soft targets and label smoothing. */
#include <math.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/train_ops.h"

void et_targets_one_hot(const int *labels, int rows, int classes, float *targets)
{
    memset(targets, 0, (size_t)rows * classes * sizeof(float));
    for (int r = 0; r < rows; r++)
        if (labels[r] >= 0 && labels[r] < classes)
            targets[(size_t)r * classes + labels[r]] = 1.0f;
}

int et_loss_softmax_cross_entropy(const et_tensor *logits, const float *targets, float smoothing,
                                  et_tensor *dlogits, double *loss)
{
    int rows = logits->n, classes = (int)et_tensor_sample_count(logits);
    if (rows < 1 || classes < 2)
        return et_error_set(ET_ERR_USAGE, "cross-entropy: need at least one row and two classes");
    if (dlogits && et_tensor_resize(dlogits, logits->n, logits->c, logits->h, logits->w) != ET_OK)
        return ET_ERR_NOMEM;
    double total = 0.0;
    float uniform = smoothing / (float)classes;
    for (int r = 0; r < rows; r++) {
        const float *z = logits->data + (size_t)r * classes;
        const float *t = targets + (size_t)r * classes;
        float max = z[0];
        for (int k = 1; k < classes; k++)
            if (z[k] > max)
                max = z[k];
        double sum = 0.0;
        for (int k = 0; k < classes; k++)
            sum += exp((double)(z[k] - max));
        double log_sum = log(sum) + max;
        for (int k = 0; k < classes; k++) {
            double target = (1.0 - smoothing) * t[k] + uniform;
            double log_p = (double)z[k] - log_sum;
            total -= target * log_p;
            if (dlogits)
                dlogits->data[(size_t)r * classes + k] = (float)((exp(log_p) - target) / rows);
        }
    }
    *loss = total / rows;
    return ET_OK;
}
