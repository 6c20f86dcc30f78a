#include "emotrace/emotion.h"

#include <strings.h>

const char *const et_emotion_names[ET_EMOTIONS] = {"angry", "disgust", "fear", "happy",
                                                   "sad", "surprise", "neutral"};

int et_emotion_label_hold(int current, const float *probabilities, float margin)
{
    int best = 0;
    for (int k = 1; k < ET_EMOTIONS; k++)
        if (probabilities[k] > probabilities[best])
            best = k;
    if (current < 0 || current >= ET_EMOTIONS)
        return best;
    return probabilities[best] >= probabilities[current] + margin ? best : current;
}

int et_emotion_from_name(const char *name)
{
    static const struct {
        const char *alias;
        int label;
    } aliases[] = {{"anger", 0}, {"disgusted", 1}, {"fearful", 2}, {"happiness", 3}, {"sadness", 4},
                   {"surprised", 5}, {"contempt", -1}};
    for (int i = 0; i < ET_EMOTIONS; i++)
        if (!strcasecmp(name, et_emotion_names[i]))
            return i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcasecmp(name, aliases[i].alias))
            return aliases[i].label;
    return -1;
}
