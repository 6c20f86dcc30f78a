/* One colour per emotion, from Okabe and Ito's palette for colour-blind
 * readers (neutral takes a purple instead of their yellow, which vanishes
 * on white); the dash patterns keep the lines apart in grayscale. */
#include "emotrace/report.h"

const uint8_t et_emotion_rgb[ET_EMOTIONS][3] = {
    {0xD5, 0x5E, 0x00}, /* angry: vermillion */
    {0x00, 0x9E, 0x73}, /* disgust: bluish green */
    {0xCC, 0x79, 0xA7}, /* fear: reddish purple */
    {0xE6, 0x9F, 0x00}, /* happy: orange */
    {0x00, 0x72, 0xB2}, /* sad: blue */
    {0x56, 0xB4, 0xE9}, /* surprise: sky blue */
    {0x5E, 0x3C, 0x99}, /* neutral: purple */
};

const char *const et_emotion_hex[ET_EMOTIONS] = {"#d55e00", "#009e73", "#cc79a7", "#e69f00",
                                                 "#0072b2", "#56b4e9", "#5e3c99"};

const char *const et_emotion_dash[ET_EMOTIONS] = {"", "10 4", "4 3", "12 3 3 3", "22 6", "3 3 3 3 10 3", "2 2"};
