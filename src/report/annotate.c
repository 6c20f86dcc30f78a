/* Annotated video frames: box, label and probability bar per face, drawn
 * on a copy of the decoded frame and encoded at the frame's own time. */
#include "emotrace/annotate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/draw.h"
#include "emotrace/error.h"
#include "emotrace/report.h"
#include "emotrace/video_writer.h"

struct et_annotator {
    char *path;
    char *media_path;          /* the item being written */
    et_video_writer *writer;
    et_frame canvas;
    et_observation *last;      /* faces of the last analysed frame */
    int last_count, last_capacity;
    long frames;
    int finished;
};

int et_annotator_open(et_annotator **out, const char *path)
{
    et_annotator *a = calloc(1, sizeof *a);
    *out = NULL;
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    *out = a;
    return ET_OK;
}

static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};

static void annotate_face(et_frame *f, const et_observation *o, int scale)
{
    int emotion = o->emotion >= 0 && o->emotion < ET_EMOTIONS ? o->emotion : ET_EMOTIONS - 1;
    const uint8_t *colour = et_emotion_rgb[emotion];
    int x = (int)lround(o->x), y = (int)lround(o->y), w = (int)lround(o->w), h = (int)lround(o->h);
    int thickness = scale + 1;
    et_draw_box(f, x, y, w, h, thickness, colour);

    /* Label above the box, or inside its top edge when the box touches the
     * top of the frame. */
    char label[64];
    snprintf(label, sizeof label, "#%d %s %d%%", o->track, et_emotion_names[emotion],
             (int)lround(100 * o->prob[emotion]));
    int pad = scale, label_w = et_draw_text_width(label, scale) + 2 * pad, label_h = ET_FONT_HEIGHT * scale + 2 * pad;
    int label_y = y - label_h >= 0 ? y - label_h : y + thickness;
    et_draw_fill(f, x, label_y, label_w, label_h, black);
    et_draw_text(f, x + pad, label_y + pad, scale, label, white);

    /* The seven probabilities as one stacked bar under the box (inside its
     * bottom edge at the bottom of the frame), in the plot colours. */
    int bar_h = 3 * scale, bar_y = y + h + 1 + bar_h <= f->height ? y + h + 1 : y + h - thickness - bar_h;
    et_draw_fill(f, x, bar_y, w, bar_h, black);
    double start = 0;
    for (int k = 0; k < ET_EMOTIONS; k++) {
        double p = o->prob[k] > 0 ? o->prob[k] : 0;
        int x0 = x + (int)lround(w * start), x1 = x + (int)lround(w * fmin(start + p, 1));
        et_draw_fill(f, x0, bar_y, x1 - x0, bar_h, et_emotion_rgb[k]);
        start += p;
    }
}

void et_annotate_frame(et_frame *frame, const et_observation *obs, int count)
{
    /* Text and lines grow with the picture: 2 font pixels per pixel at 360p. */
    int scale = (frame->height + 179) / 180;
    if (scale < 1)
        scale = 1;
    for (int i = 0; i < count; i++)
        annotate_face(frame, &obs[i], scale);
}

static int remember(et_annotator *a, const et_frame_result *r)
{
    if (r->count > a->last_capacity) {
        et_observation *grown = realloc(a->last, (size_t)r->count * sizeof *grown);
        if (!grown)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory", a->path);
        a->last = grown;
        a->last_capacity = r->count;
    }
    if (r->count)
        memcpy(a->last, r->observations, (size_t)r->count * sizeof *a->last);
    a->last_count = r->count;
    return ET_OK;
}

int et_annotator_on_frame(const et_frame_result *r, void *ctx)
{
    et_annotator *a = ctx;
    const char *media = r->media && r->media->path ? r->media->path : "";
    int rc;
    if (!a->media_path) {
        if (!(a->media_path = strdup(media)))
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory", a->path);
        rc = et_video_writer_open(&a->writer, a->path, r->frame->width, r->frame->height,
                                  r->media ? r->media->fps : 0);
        if (rc != ET_OK)
            return rc;
    } else if (strcmp(a->media_path, media) != 0) {
        return et_error_set(ET_ERR_USAGE, "%s: an annotated video takes one input; %s is a second one", a->path,
                            media);
    }
    if (r->analyzed && (rc = remember(a, r)) != ET_OK)
        return rc;
    if ((rc = et_frame_copy(&a->canvas, r->frame)) != ET_OK)
        return et_error_wrap(rc, "%s: ", a->path);
    et_annotate_frame(&a->canvas, a->last, a->last_count);
    if ((rc = et_video_writer_write(a->writer, &a->canvas)) != ET_OK)
        return rc;
    a->frames++;
    return ET_OK;
}

int et_annotator_finish(et_annotator *a)
{
    if (!a->writer)
        return et_error_set(ET_ERR_FORMAT, "%s: no frame to write (no video was analysed)", a->path);
    int rc = et_video_writer_finish(a->writer);
    a->finished = rc == ET_OK;
    return rc;
}

const char *et_annotator_codec(const et_annotator *a)
{
    return a->writer ? et_video_writer_codec(a->writer) : "";
}

void et_annotator_close(et_annotator *a)
{
    if (!a)
        return;
    /* Half a video (the analysis failed or was interrupted) is removed. */
    int partial = a->writer && !a->finished;
    et_video_writer_close(a->writer);
    if (partial)
        remove(a->path);
    et_frame_free(&a->canvas);
    free(a->last);
    free(a->media_path);
    free(a->path);
    free(a);
}
