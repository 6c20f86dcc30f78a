#include "emotrace/photo_face.h"

#include "emotrace/emotion.h"
#include "emotrace/error.h"
#include "emotrace/media_reader.h"

#include <string.h>

enum { MAX_FACES = 64 };

int et_photo_face_load(et_photo_face *p, const char *weights, const et_face_detector_options *detector,
                       const et_face_align_options *align)
{
    memset(p, 0, sizeof *p);
    if (align)
        p->align = *align;
    else
        et_face_align_defaults(&p->align);
    return et_face_detector_load(&p->detector, weights, detector);
}

int et_photo_face_find(et_photo_face *p, const char *path, et_face *face)
{
    int rc = et_media_read_picture(path, &p->frame);
    if (rc != ET_OK)
        return rc;
    et_face faces[MAX_FACES];
    int found = et_face_detect_frame(p->detector, &p->frame, faces, MAX_FACES);
    if (found < 0)
        return et_error_wrap(found, "%s: ", path);
    if (found == 0)
        return 0;
    if (found > MAX_FACES)
        found = MAX_FACES;
    /* The subject of a portrait is its largest face, not always its most
     * confident one. */
    int best = 0;
    for (int i = 1; i < found; i++)
        if ((faces[i].x1 - faces[i].x0) * (faces[i].y1 - faces[i].y0) >
            (faces[best].x1 - faces[best].x0) * (faces[best].y1 - faces[best].y0))
            best = i;
    *face = faces[best];
    return 1;
}

int et_photo_face_crop(void *ctx, const char *path, uint8_t *crop)
{
    et_photo_face *p = ctx;
    et_face face;
    int rc = et_photo_face_find(p, path, &face);
    if (rc != 1)
        return rc;
    et_face_align_options o = p->align;
    o.size = ET_FACE_SIZE;
    rc = et_face_align_gray(p->frame.rgb, p->frame.width, p->frame.height, p->frame.stride, &face, &o, crop);
    return rc == ET_OK ? 1 : et_error_wrap(rc, "%s: ", path);
}

void et_photo_face_free(et_photo_face *p)
{
    if (!p)
        return;
    et_face_detector_free(p->detector);
    p->detector = NULL;
    et_frame_free(&p->frame);
}
