/* Learning-rate schedules. */
#include <math.h>

#include "emotrace/train_ops.h"

float et_lr_cosine(float base, float min, long step, long total, long warmup)
{
    if (warmup > 0 && step < warmup)
        return base * (float)(step + 1) / (float)warmup;
    if (total <= warmup)
        return base;
    double progress = (double)(step - warmup) / (double)(total - warmup);
    if (progress > 1.0)
        progress = 1.0;
    return min + (base - min) * (float)(0.5 * (1.0 + cos(3.141592653589793 * progress)));
}

float et_lr_step(float base, int epoch, int every, float gamma)
{
    if (every < 1)
        return base;
    return base * powf(gamma, (float)(epoch / every));
}
