#include "emotrace/face.h"

float et_face_iou(const et_face *a, const et_face *b)
{
    float ix0 = a->x0 > b->x0 ? a->x0 : b->x0, iy0 = a->y0 > b->y0 ? a->y0 : b->y0;
    float ix1 = a->x1 < b->x1 ? a->x1 : b->x1, iy1 = a->y1 < b->y1 ? a->y1 : b->y1;
    if (ix1 <= ix0 || iy1 <= iy0)
        return 0.0f;
    float inter = (ix1 - ix0) * (iy1 - iy0);
    float uni = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return uni > 0.0f ? inter / uni : 0.0f;
}
