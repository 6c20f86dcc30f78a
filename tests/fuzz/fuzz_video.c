/* libFuzzer: demuxing and decoding a video held in memory, read through a
 * custom AVIOContext (every FFmpeg demuxer the probe picks, our frame
 * conversion, rotation and timestamps). At most 32 frames per input. */
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>

#include "emotrace/video.h"
#include "fuzz_file.h"

typedef struct {
    const uint8_t *data;
    size_t size, pos;
} memory_input;

static int read_packet(void *opaque, uint8_t *buf, int size)
{
    memory_input *m = opaque;
    size_t left = m->size - m->pos;
    if (left == 0)
        return AVERROR_EOF;
    size_t n = (size_t)size < left ? (size_t)size : left;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (int)n;
}

static int64_t seek(void *opaque, int64_t offset, int whence)
{
    memory_input *m = opaque;
    if (whence == AVSEEK_SIZE)
        return (int64_t)m->size;
    int64_t base = (whence & ~AVSEEK_FORCE) == SEEK_CUR ? (int64_t)m->pos
                   : (whence & ~AVSEEK_FORCE) == SEEK_END ? (int64_t)m->size
                                                         : 0;
    int64_t to = base + offset;
    if (to < 0 || to > (int64_t)m->size)
        return AVERROR(EINVAL);
    m->pos = (size_t)to;
    return to;
}

FUZZ_ENTRY(video)
{
    av_log_set_level(AV_LOG_QUIET);
    memory_input m = {data, size, 0};
    const int buffer_size = 4096;
    uint8_t *buffer = av_malloc(buffer_size);
    AVIOContext *io = buffer ? avio_alloc_context(buffer, buffer_size, 0, &m, read_packet, NULL, seek) : NULL;
    if (!io) {
        av_free(buffer);
        return 0;
    }
    et_video_options opt = {.threads = 1, .io = io};
    et_video *v = NULL;
    et_frame frame = {0};
    if (et_video_open(&v, "fuzz-input", &opt) == 0) {
        for (int i = 0; i < 32 && et_video_read(v, &frame) > 0; i++)
            ;
    }
    et_video_close(v);
    et_frame_free(&frame);
    av_freep(&io->buffer);
    avio_context_free(&io);
    return 0;
}
