/* What the emotion CNN is fed, shared by train, eval and analyze. */
#include <math.h>

#include "emotrace/emotion_classifier.h"

void et_emotion_normalize(const uint8_t *gray, float *out)
{
    const int n = ET_FACE_SIZE * ET_FACE_SIZE;
    float mean = 0.0f, var = 0.0f;
    for (int i = 0; i < n; i++)
        mean += gray[i];
    mean /= (float)n;
    for (int i = 0; i < n; i++)
        var += (gray[i] - mean) * (gray[i] - mean);
    /* The floor keeps a flat crop (all one value) from blowing up. */
    float inv = 1.0f / sqrtf(var / (float)n + 16.0f);
    for (int i = 0; i < n; i++)
        out[i] = (gray[i] - mean) * inv;
}
