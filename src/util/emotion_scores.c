#include "emotrace/emotion_scores.h"

#include <math.h>

#include "emotrace/emotion.h"

int et_argmax(const float *values, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (values[i] > values[best])
            best = i;
    return best;
}

void et_emotion_softmax(const float *logits, float *probabilities)
{
    float max = logits[0], sum = 0.0f;
    for (int k = 1; k < ET_EMOTIONS; k++)
        if (logits[k] > max)
            max = logits[k];
    for (int k = 0; k < ET_EMOTIONS; k++) {
        probabilities[k] = expf(logits[k] - max);
        sum += probabilities[k];
    }
    for (int k = 0; k < ET_EMOTIONS; k++)
        probabilities[k] /= sum;
}
