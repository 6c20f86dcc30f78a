/* The default emotion CNN: four VGG-style stages of two 3x3 conv + batch norm
 * + ReLU (32, 64, 128, 256 channels) with 2x2 max pooling, then a 256-unit
 * dense "embedding" (the temporal model's input) and the 7 logits.
 * About 235 MFLOP per 48x48 crop, sized for the 5 ms single-thread budget. */
#include "emotrace/cnn_trainer.h"

#define STAGE(n, ch, in)                                                                               \
    "{\"name\":\"conv" #n "a\",\"type\":\"conv2d\",\"in\":\"" in "\",\"out\":" #ch ",\"kernel\":3,\"pad\":1,\"bias\":false}," \
    "{\"name\":\"bn" #n "a\",\"type\":\"batchnorm\"},{\"name\":\"relu" #n "a\",\"type\":\"relu\"},"       \
    "{\"name\":\"conv" #n "b\",\"type\":\"conv2d\",\"out\":" #ch ",\"kernel\":3,\"pad\":1,\"bias\":false}," \
    "{\"name\":\"bn" #n "b\",\"type\":\"batchnorm\"},{\"name\":\"relu" #n "b\",\"type\":\"relu\"},"       \
    "{\"name\":\"pool" #n "\",\"type\":\"maxpool\",\"kernel\":2},"

const char *et_emotion_cnn_default_arch(void)
{
    return "{\"format\":\"emotrace-net-1\",\"name\":\"emotion-cnn\",\"input\":[1,48,48],\"layers\":["
           STAGE(1, 32, "input") STAGE(2, 64, "pool1") STAGE(3, 128, "pool2") STAGE(4, 256, "pool3")
           "{\"name\":\"drop0\",\"type\":\"dropout\",\"rate\":0.3},"
           "{\"name\":\"fc1\",\"type\":\"dense\",\"out\":256,\"bias\":false},"
           "{\"name\":\"bnfc1\",\"type\":\"batchnorm\"},"
           "{\"name\":\"embedding\",\"type\":\"relu\"},"
           "{\"name\":\"drop1\",\"type\":\"dropout\",\"rate\":0.5},"
           "{\"name\":\"logits\",\"type\":\"dense\",\"out\":7}"
           "],\"outputs\":[\"logits\"]}";
}
