/* Raw BlazeFace outputs to detections, as MediaPipe's
 * TensorsToDetectionsCalculator does with the face detection options:
 * coordinates are offsets in input pixels from the anchor centre (x first),
 * scaled by the anchor size (1 with fixed_anchor_size). */
#include <math.h>

#include "emotrace/face_detector.h"

/* MediaPipe clips logits to +-score_clipping_thresh before the sigmoid. */
#define SCORE_CLIP 100.0f

int et_face_decode(const float *regressors, const float *logits, const et_anchor *anchors, int anchor_count,
                   float input_width, float input_height, float min_score, et_face *faces, int max)
{
    int found = 0;
    for (int i = 0; i < anchor_count; i++) {
        float logit = logits[i];
        logit = logit < -SCORE_CLIP ? -SCORE_CLIP : logit > SCORE_CLIP ? SCORE_CLIP : logit;
        float score = 1.0f / (1.0f + expf(-logit));
        if (score < min_score)
            continue;
        if (found < max) {
            const float *r = regressors + (size_t)i * ET_FACE_RAW_COORDS;
            const et_anchor *a = &anchors[i];
            et_face *f = &faces[found];
            float cx = r[0] / input_width * a->w + a->x;
            float cy = r[1] / input_height * a->h + a->y;
            float w = r[2] / input_width * a->w;
            float h = r[3] / input_height * a->h;
            f->x0 = cx - w * 0.5f;
            f->y0 = cy - h * 0.5f;
            f->x1 = cx + w * 0.5f;
            f->y1 = cy + h * 0.5f;
            f->score = score;
            for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
                f->keypoints[k][0] = r[4 + 2 * k] / input_width * a->w + a->x;
                f->keypoints[k][1] = r[5 + 2 * k] / input_height * a->h + a->y;
            }
        }
        found++;
    }
    return found;
}
