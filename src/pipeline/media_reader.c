#include "emotrace/media_reader.h"

#include <stdio.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/image.h"

/* Opens item; read_ahead: a video file is decoded in a thread of its own. */
static int reader_open(et_media_reader *r, const et_media_item *item, double image_fps,
                       const et_video_options *video_options, const et_live_options *live_options, int read_ahead)
{
    memset(r, 0, sizeof *r);
    r->item = item;
    r->image_fps = image_fps > 0 ? image_fps : 1.0;
    if (item->error) /* listing it failed already */
        return et_error_set(ET_ERR_IO, "%s", item->error);
    if (item->kind == ET_MEDIA_VIDEO || item->kind == ET_MEDIA_STREAM) {
        /* A file read ahead keeps every frame; the stop flag is the
         * caller's to check (the end of a file is not an interruption). */
        et_live_options ahead = {ET_LIVE_ALL, 0, NULL};
        int rc = item->kind == ET_MEDIA_STREAM
                     ? et_live_reader_open(&r->live, item->path, video_options, live_options)
                 : read_ahead ? et_live_reader_open(&r->live, item->path, video_options, &ahead)
                                 : et_video_open(&r->video, item->path, video_options);
        if (rc != ET_OK)
            return rc;
        et_video_info info;
        if (r->video)
            et_video_get_info(r->video, &info);
        else
            et_live_reader_get_info(r->live, &info);
        r->duration = info.duration;
        r->fps = info.fps;
        r->width = info.width;
        r->height = info.height;
        return ET_OK;
    }
    if (item->kind == ET_MEDIA_IMAGE_SEQUENCE) {
        r->fps = r->image_fps;
        r->duration = (double)item->image_count / r->image_fps;
    }
    return ET_OK;
}

int et_media_reader_open(et_media_reader *r, const et_media_item *item, double image_fps,
                         const et_video_options *video_options)
{
    return reader_open(r, item, image_fps, video_options, NULL, 0);
}

int et_media_reader_open_live(et_media_reader *r, const et_media_item *item, double image_fps,
                              const et_video_options *video_options, const et_live_options *live_options)
{
    return reader_open(r, item, image_fps, video_options, live_options, 1);
}

int et_media_reader_read(et_media_reader *r, et_frame *frame)
{
    const et_media_item *item = r->item;
    if (item->kind == ET_MEDIA_VIDEO || item->kind == ET_MEDIA_STREAM) {
        int rc = r->video ? et_video_read(r->video, frame) : et_live_reader_read(r->live, frame);
        if (rc > 0 && !r->width) {
            r->width = frame->width;
            r->height = frame->height;
        }
        return rc;
    }
    if (item->kind == ET_MEDIA_IMAGE) {
        if (r->next_image++ > 0)
            return 0;
        int rc = et_image_load(item->path, frame);
        if (rc != ET_OK)
            return rc;
        frame->t = 0.0;
        frame->index = 0;
        r->width = frame->width;
        r->height = frame->height;
        return 1;
    }
    while (r->next_image < item->image_count) {
        size_t i = r->next_image++;
        int rc = et_image_load(item->images[i], frame);
        if (rc != ET_OK) {
            r->skipped_images++;
            continue;
        }
        frame->t = (double)i / r->image_fps;
        frame->index = (int64_t)i;
        if (!r->width) {
            r->width = frame->width;
            r->height = frame->height;
        }
        return 1;
    }
    if (item->image_count > 0 && r->skipped_images == (long)item->image_count) {
        char last[512];
        snprintf(last, sizeof last, "%s", et_error_message());
        return et_error_set(ET_ERR_FORMAT, "%s: none of the %zu images could be read (last: %s)", item->path,
                            item->image_count, last);
    }
    return 0;
}

long et_media_reader_dropped(et_media_reader *r)
{
    return r->live ? et_live_reader_dropped(r->live) : 0;
}

void et_media_reader_close(et_media_reader *r)
{
    if (!r)
        return;
    et_video_close(r->video);
    et_live_reader_close(r->live);
    memset(r, 0, sizeof *r);
}

int et_media_read_picture(const char *path, et_frame *out)
{
    int probe = et_image_probe(path);
    if (probe < 0)
        return probe;
    et_media_item item = {probe ? ET_MEDIA_IMAGE : ET_MEDIA_VIDEO, (char *)path, NULL, 0, NULL};
    et_video_options video_options = {0};
    et_media_reader reader;
    int rc = et_media_reader_open(&reader, &item, 1.0, &video_options);
    if (rc != ET_OK)
        return rc;
    int got = et_media_reader_read(&reader, out);
    et_media_reader_close(&reader);
    if (got < 0)
        return got;
    return got ? ET_OK : et_error_set(ET_ERR_FORMAT, "%s: no picture could be decoded", path);
}
