/* Video encoding: libswscale converts RGB24 to YUV 4:2:0, libavcodec's
 * send/receive loop encodes, libavformat muxes (FFmpeg's encode and mux
 * examples' structure). Timestamps are each frame's own time, so the
 * output keeps the input's timing, variable frame rates included. */
#include "emotrace/video_writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "av_error.h"
#include "emotrace/error.h"

struct et_video_writer {
    char *path;
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    int width, height;    /* of the frames given (the encoded size may be 1 less) */
    int64_t last_pts;
    int finished;
};

/* libx264 when present; otherwise (or when it fails to open) MPEG-4 Part 2,
 * which every FFmpeg build has. */
static int encoder_open(et_video_writer *w, const AVCodec *codec, double fps)
{
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    if (!enc)
        return AVERROR(ENOMEM);
    enc->width = w->width & ~1;
    enc->height = w->height & ~1;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    AVRational rate = fps > 0 ? av_d2q(fps, 65535) : (AVRational){25, 1};
    enc->framerate = rate;
    if (codec->id == AV_CODEC_ID_H264) {
        /* A fine clock keeps every input timestamp as it is. */
        enc->time_base = (AVRational){1, 90000};
        av_opt_set(enc->priv_data, "preset", "veryfast", 0);
        av_opt_set(enc->priv_data, "crf", "20", 0);
    } else {
        /* MPEG-4 Part 2 allows time base denominators up to 65535. */
        enc->time_base = av_inv_q(rate);
        enc->bit_rate = (int64_t)enc->width * enc->height * 4;
        enc->gop_size = 50;
    }
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER)
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int ret = avcodec_open2(enc, codec, NULL);
    if (ret < 0) {
        avcodec_free_context(&enc);
        return ret;
    }
    w->enc = enc;
    return 0;
}

int et_video_writer_open(et_video_writer **out, const char *path, int width, int height, double fps)
{
    et_video_writer *w = NULL;
    int ret, rc;
    *out = NULL;
    if (width < 2 || height < 2)
        return et_error_set(ET_ERR_USAGE, "%s: cannot encode frames of %dx%d", path, width, height);
    if (!(w = calloc(1, sizeof *w)) || !(w->path = strdup(path))) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    w->width = width;
    w->height = height;
    w->last_pts = INT64_MIN;
    if ((ret = avformat_alloc_output_context2(&w->fmt, NULL, NULL, path)) < 0 || !w->fmt) {
        rc = et_error_set(ET_ERR_USAGE, "%s: no video container for this file name (use .mp4, .mkv, .mov or .avi)",
                          path);
        goto fail;
    }
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    ret = codec ? encoder_open(w, codec, fps) : AVERROR_ENCODER_NOT_FOUND;
    if (ret < 0 && ret != AVERROR(ENOMEM)) {
        codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
        ret = codec ? encoder_open(w, codec, fps) : AVERROR_ENCODER_NOT_FOUND;
    }
    if (ret < 0) {
        rc = et_av_error(ret, path, "cannot open a video encoder");
        goto fail;
    }
    if (!(w->st = avformat_new_stream(w->fmt, NULL))) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    w->st->time_base = w->enc->time_base;
    w->st->avg_frame_rate = w->enc->framerate;
    if ((ret = avcodec_parameters_from_context(w->st->codecpar, w->enc)) < 0) {
        rc = et_av_error(ret, path, "encoder parameters");
        goto fail;
    }
    if (!(w->frame = av_frame_alloc()) || !(w->pkt = av_packet_alloc())) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    w->frame->format = w->enc->pix_fmt;
    w->frame->width = w->enc->width;
    w->frame->height = w->enc->height;
    if ((ret = av_frame_get_buffer(w->frame, 0)) < 0) {
        rc = et_av_error(ret, path, "frame buffer");
        goto fail;
    }
    w->sws = sws_getContext(w->enc->width, w->enc->height, AV_PIX_FMT_RGB24, w->enc->width, w->enc->height,
                            w->enc->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!w->sws) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: cannot set up the colour conversion", path);
        goto fail;
    }
    if (!(w->fmt->oformat->flags & AVFMT_NOFILE) && (ret = avio_open(&w->fmt->pb, path, AVIO_FLAG_WRITE)) < 0) {
        rc = et_av_error(ret, path, "cannot create");
        goto fail;
    }
    if ((ret = avformat_write_header(w->fmt, NULL)) < 0) {
        rc = et_av_error(ret, path, "cannot write the header");
        goto fail;
    }
    *out = w;
    return ET_OK;
fail:
    et_video_writer_close(w);
    return rc;
}

/* Sends frame (NULL: flush) and writes every packet the encoder returns. */
static int encode(et_video_writer *w, AVFrame *frame)
{
    int ret = avcodec_send_frame(w->enc, frame);
    if (ret < 0)
        return et_av_error(ret, w->path, "encoding");
    for (;;) {
        ret = avcodec_receive_packet(w->enc, w->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return ET_OK;
        if (ret < 0)
            return et_av_error(ret, w->path, "encoding");
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        ret = av_interleaved_write_frame(w->fmt, w->pkt);
        if (ret < 0)
            return et_av_error(ret, w->path, "writing");
    }
}

int et_video_writer_write(et_video_writer *w, const et_frame *f)
{
    if (f->width != w->width || f->height != w->height)
        return et_error_set(ET_ERR_FORMAT, "%s: frame %lld is %dx%d, the video is %dx%d", w->path,
                            (long long)f->index, f->width, f->height, w->width, w->height);
    int ret = av_frame_make_writable(w->frame);
    if (ret < 0)
        return et_av_error(ret, w->path, "frame buffer");
    const uint8_t *src[1] = {f->rgb};
    const int stride[1] = {f->stride};
    sws_scale(w->sws, src, stride, 0, w->enc->height, w->frame->data, w->frame->linesize);
    int64_t pts = llround(f->t / av_q2d(w->enc->time_base));
    /* A coarse MPEG-4 clock can map two close times to one tick. */
    if (w->last_pts != INT64_MIN && pts <= w->last_pts)
        pts = w->last_pts + 1;
    w->last_pts = pts;
    w->frame->pts = pts;
    return encode(w, w->frame);
}

int et_video_writer_finish(et_video_writer *w)
{
    if (w->finished)
        return ET_OK;
    w->finished = 1;
    int rc = encode(w, NULL);
    if (rc != ET_OK)
        return rc;
    int ret = av_write_trailer(w->fmt);
    if (ret < 0)
        return et_av_error(ret, w->path, "cannot complete the file");
    if (!(w->fmt->oformat->flags & AVFMT_NOFILE) && (ret = avio_closep(&w->fmt->pb)) < 0)
        return et_av_error(ret, w->path, "cannot close");
    return ET_OK;
}

const char *et_video_writer_codec(const et_video_writer *w)
{
    return w->enc->codec->name;
}

void et_video_writer_close(et_video_writer *w)
{
    if (!w)
        return;
    if (w->fmt && !(w->fmt->oformat->flags & AVFMT_NOFILE))
        avio_closep(&w->fmt->pb);
    avformat_free_context(w->fmt);
    avcodec_free_context(&w->enc);
    av_frame_free(&w->frame);
    av_packet_free(&w->pkt);
    sws_freeContext(w->sws);
    free(w->path);
    free(w);
}
