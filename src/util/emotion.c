#include "emotrace/emotion.h"

#include <strings.h>

#include "emotrace/emotion_scores.h"

const char *const et_emotion_names[ET_EMOTIONS] = {"angry", "disgust", "fear", "happy",
                                                   "sad", "surprise", "neutral"};

void et_label_state_init(et_label_state *s)
{
    s->label = -1;
    s->leader = -1;
    s->leader_since = 0.0;
}

int et_label_update(et_label_state *s, const float *probabilities, double t, float margin, double dwell)
{
    int best = et_argmax(probabilities, ET_EMOTIONS);
    if (best != s->leader) {
        s->leader = best;
        s->leader_since = t;
    }
    if (s->label < 0 || s->label >= ET_EMOTIONS ||
        (best != s->label &&
         (probabilities[best] >= probabilities[s->label] + margin || t - s->leader_since >= dwell)))
        s->label = best;
    return s->label;
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
