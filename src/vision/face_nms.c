/* Weighted non-maximum suppression, MediaPipe's WEIGHTED algorithm
 * (mediapipe/calculators/util/non_max_suppression_calculator.cc): BlazeFace
 * fires on several neighbouring anchors per face, and averaging them gives
 * steadier boxes and keypoints than keeping only the best one. */
#include <stdlib.h>

#include "emotrace/face_detector.h"

/* Best score first; ties broken by position so the order is reproducible. */
static int by_score_desc(const void *pa, const void *pb)
{
    const et_face *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    if (a->y0 != b->y0)
        return a->y0 < b->y0 ? -1 : 1;
    return a->x0 < b->x0 ? -1 : a->x0 > b->x0;
}

int et_face_nms_weighted(et_face *faces, int count, float iou_threshold)
{
    qsort(faces, (size_t)count, sizeof *faces, by_score_desc);
    int kept = 0;
    while (kept < count) {
        const et_face top = faces[kept];
        /* Blend every remaining face that overlaps the best one (itself included). */
        double total = 0.0, box[4] = {0}, kp[ET_FACE_KEYPOINTS][2] = {{0}};
        for (int j = kept; j < count; j++) {
            const et_face *f = &faces[j];
            if (et_face_iou(&top, f) <= iou_threshold)
                continue;
            double s = f->score;
            total += s;
            box[0] += s * f->x0;
            box[1] += s * f->y0;
            box[2] += s * f->x1;
            box[3] += s * f->y1;
            for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
                kp[k][0] += s * f->keypoints[k][0];
                kp[k][1] += s * f->keypoints[k][1];
            }
        }
        /* Drop the blended ones, keeping the order of the rest. */
        int write = kept + 1;
        for (int j = kept + 1; j < count; j++)
            if (et_face_iou(&top, &faces[j]) <= iou_threshold)
                faces[write++] = faces[j];
        et_face *out = &faces[kept];
        *out = top;
        if (total > 0.0) {
            out->x0 = (float)(box[0] / total);
            out->y0 = (float)(box[1] / total);
            out->x1 = (float)(box[2] / total);
            out->y1 = (float)(box[3] / total);
            for (int k = 0; k < ET_FACE_KEYPOINTS; k++) {
                out->keypoints[k][0] = (float)(kp[k][0] / total);
                out->keypoints[k][1] = (float)(kp[k][1] / total);
            }
        }
        count = write;
        kept++;
    }
    return kept;
}
