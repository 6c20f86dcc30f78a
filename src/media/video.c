/* Video decoding: demux with libavformat, decode with libavcodec's
 * send/receive loop (threaded), convert to RGB24 with libswscale and turn
 * the picture upright as the stream's display matrix asks. */
#include "emotrace/video.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pthread.h>

#include <libavcodec/avcodec.h>
#include <libavdevice/version.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libswscale/swscale.h>

#include "av_error.h"
#include "av_frame.h"
#include "emotrace/error.h"

/* Errors in a row from the decoder without new input means it is stuck. */
#define MAX_RECEIVE_ERRORS 100
/* Demuxer errors in a row (not end of file) before we stop resyncing. */
#define MAX_READ_ERRORS 1000
/* Packets in the decoder whose frames have not come out yet, at most (the
 * decoder's threads and reordering hold a few dozen at the very most). */
#define MAX_PENDING 64

/* A packet sent to the decoder while sampling: its presentation timestamp,
 * and whether its decoding may be skipped (a non-reference frame the
 * sampler drops). */
typedef struct {
    int64_t pts;
    int skipped;
} sent_packet;

struct et_video {
    char *path;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVStream *st;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    et_frame unrotated;   /* RGB before the display rotation, if there is one */
    int rotation;         /* clockwise degrees */
    int64_t start;        /* timestamp of t = 0, in stream time_base */
    double last_t;
    double pixels_from;   /* frames earlier than this (seconds) are not converted */
    int64_t frames_out;
    int draining;         /* the flush (NULL) packet was sent */
    int finished;
    int receive_errors, read_errors;
    int64_t damaged;      /* packets or frames the decoder rejected */
    et_video_info info;
    /* Sampling (et_video_options.sampler): which frames get pixels, and the packets
     * in the decoder in timestamp order, to give the frames left undecoded
     * their places among the decoded ones. */
    int sampling;
    et_sampler sampler;
    int may_skip;         /* the codec and the timestamps so far allow skipping */
    sent_packet pending[MAX_PENDING];
    int pending_count;
    int held;             /* frame holds a decoded frame, due after the skipped ones before it */
    int64_t last_ts;      /* best-effort timestamp of the last frame returned */
    int64_t not_decoded;
};

static void video_sample(et_video *v, const et_sampler *sampler);

/* "key=value" strings to the dictionary avformat_open_input takes. */
static int options_to_dict(AVDictionary **dict, const char *path, const char *const *list)
{
    for (; list && *list; list++) {
        const char *eq = strchr(*list, '=');
        if (!eq || eq == *list)
            return et_error_set(ET_ERR_USAGE, "%s: input option '%s' is not key=value", path, *list);
        char key[128];
        size_t n = (size_t)(eq - *list);
        if (n >= sizeof key)
            return et_error_set(ET_ERR_USAGE, "%s: input option name too long in '%s'", path, *list);
        memcpy(key, *list, n);
        key[n] = '\0';
        if (av_dict_set(dict, key, eq + 1, 0) < 0)
            return et_error_set(ET_ERR_NOMEM, "%s: out of memory for input options", path);
    }
    return ET_OK;
}

/* The best video stream that is real video, not an attached cover picture. */
static AVStream *find_video_stream(AVFormatContext *fmt)
{
    int i = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (i >= 0 && !(fmt->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        return fmt->streams[i];
    for (unsigned j = 0; j < fmt->nb_streams; j++) {
        AVStream *st = fmt->streams[j];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return st;
    }
    return NULL;
}

/* Clockwise degrees (0/90/180/270) that make the picture upright. */
static int stream_rotation(const AVStream *st)
{
    size_t size = 0;
    const uint8_t *sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!sd || size < 9 * sizeof(int32_t))
        return 0;
    /* The matrix angle is counter-clockwise; undo it, snapped to a quarter turn
     * as the ffmpeg CLI's autorotation does. */
    double ccw = av_display_rotation_get((const int32_t *)sd);
    if (isnan(ccw))
        return 0;
    long cw = lround(-ccw / 90.0) * 90;
    return (int)(((cw % 360) + 360) % 360);
}

static void fill_info(et_video *v)
{
    const AVStream *st = v->st;
    et_video_info *info = &v->info;
    AVRational rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0
                          ? st->avg_frame_rate : st->r_frame_rate;
    info->fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        info->duration = st->duration * av_q2d(st->time_base);
    else if (v->fmt->duration != AV_NOPTS_VALUE && v->fmt->duration > 0)
        info->duration = v->fmt->duration / (double)AV_TIME_BASE;
    info->rotation = v->rotation;
    int w = st->codecpar->width, h = st->codecpar->height;
    info->width = v->rotation % 180 ? h : w;
    info->height = v->rotation % 180 ? w : h;
    snprintf(info->codec, sizeof info->codec, "%s", avcodec_get_name(st->codecpar->codec_id));
    if (st->nb_frames > 0)
        info->frame_count = st->nb_frames;
    else if (info->duration > 0 && info->fps > 0)
        info->frame_count = llround(info->duration * info->fps);
}

/* Devices (v4l2, x11grab, lavfi ...) are demuxers of libavdevice, known to
 * av_find_input_format only once registered. Linking libavdevice would
 * load some 80 more shared libraries (SDL, X11, PulseAudio, JACK ...) into
 * every process, about 25 ms of CPU and 40 of wall time at start-up on the
 * 2-core test machine: it is loaded (and never unloaded) only when a
 * format name is none of libavformat's own. */
static pthread_once_t devices_once = PTHREAD_ONCE_INIT;
static char devices_error[256];

static void devices_load(void)
{
    const char *name = "libavdevice.so." AV_STRINGIFY(LIBAVDEVICE_VERSION_MAJOR);
    void (*register_all)(void) = NULL;
    void *lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (lib)
        *(void **)&register_all = dlsym(lib, "avdevice_register_all");
    if (!register_all) {
        const char *why = dlerror();
        snprintf(devices_error, sizeof devices_error, " (devices unavailable: %s)", why ? why : name);
        return;
    }
    register_all();
}

/* The demuxer called name, among libavformat's and then the devices'; NULL
 * if there is none. */
static const AVInputFormat *input_format_find(const char *name)
{
    const AVInputFormat *f = av_find_input_format(name);
    if (f)
        return f;
    pthread_once(&devices_once, devices_load);
    return av_find_input_format(name);
}

int et_video_open(et_video **out, const char *path, const et_video_options *opt)
{
    static const et_video_options defaults = {0};
    AVDictionary *options = NULL;
    const AVInputFormat *ifmt = NULL;
    et_video *v = NULL;
    int ret;

    *out = NULL;
    if (!opt)
        opt = &defaults;
    v = calloc(1, sizeof *v);
    if (!v || !(v->path = strdup(path))) {
        ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto end;
    }
    v->start = AV_NOPTS_VALUE;
    v->last_ts = AV_NOPTS_VALUE;
    v->pixels_from = -HUGE_VAL;
    if (opt->input_format && !(ifmt = input_format_find(opt->input_format))) {
        ret = et_error_set(ET_ERR_USAGE, "%s: unknown input format '%s'%s", path, opt->input_format,
                           devices_error);
        goto end;
    }
    if ((ret = options_to_dict(&options, path, opt->input_options)) < 0)
        goto end;

    struct stat st;
    if (!ifmt && !opt->io && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
        ret = et_error_set(ET_ERR_FORMAT, "%s: empty file (0 bytes)", path);
        goto end;
    }
    if (!(v->fmt = avformat_alloc_context())) {
        ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto end;
    }
    if (opt->io)
        v->fmt->pb = opt->io;
    v->fmt->interrupt_callback.callback = opt->interrupt;
    v->fmt->interrupt_callback.opaque = opt->interrupt_ctx;
    /* On failure avformat_open_input frees the context and sets it to NULL. */
    if ((ret = avformat_open_input(&v->fmt, path, ifmt, &options)) < 0) {
        if (ret == AVERROR_EXIT)
            ret = et_error_set(ET_ERR_INTERRUPTED, "%s: interrupted before the stream started", path);
        else
            ret = et_av_error(ret, path, "cannot open as video");
        goto end;
    }
    /* Entries left in the dictionary were not recognised by anyone. */
    const AVDictionaryEntry *unused = av_dict_get(options, "", NULL, AV_DICT_IGNORE_SUFFIX);
    if (unused) {
        ret = et_error_set(ET_ERR_USAGE, "%s: unknown input option '%s'", path, unused->key);
        goto end;
    }
    if ((ret = avformat_find_stream_info(v->fmt, NULL)) < 0) {
        if (ret == AVERROR_EXIT)
            ret = et_error_set(ET_ERR_INTERRUPTED, "%s: interrupted before the stream started", path);
        else
            ret = et_av_error(ret, path, "cannot read stream information");
        goto end;
    }
    if (!(v->st = find_video_stream(v->fmt))) {
        ret = et_error_set(ET_ERR_FORMAT, "%s: no video stream (%s)", path, v->fmt->iformat->name);
        goto end;
    }
    for (unsigned i = 0; i < v->fmt->nb_streams; i++)
        if (v->fmt->streams[i] != v->st)
            v->fmt->streams[i]->discard = AVDISCARD_ALL; /* don't demux what we don't decode */

    const AVCodec *codec = avcodec_find_decoder(v->st->codecpar->codec_id);
    if (!codec) {
        ret = et_error_set(ET_ERR_FORMAT, "%s: no decoder for codec %s in this FFmpeg build", path,
                           avcodec_get_name(v->st->codecpar->codec_id));
        goto end;
    }
    if (!(v->dec = avcodec_alloc_context3(codec)) || !(v->pkt = av_packet_alloc()) ||
        !(v->frame = av_frame_alloc())) {
        ret = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto end;
    }
    if ((ret = avcodec_parameters_to_context(v->dec, v->st->codecpar)) < 0) {
        ret = et_av_error(ret, path, "cannot set up decoder");
        goto end;
    }
    v->dec->pkt_timebase = v->st->time_base;
    v->dec->thread_count = opt->threads > 0 ? opt->threads : 0;
    v->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    if ((ret = avcodec_open2(v->dec, codec, NULL)) < 0) {
        ret = et_av_error(ret, path, "cannot open decoder");
        goto end;
    }
    if (v->st->start_time != AV_NOPTS_VALUE)
        v->start = v->st->start_time;
    v->rotation = stream_rotation(v->st);
    fill_info(v);
    if (opt->sampler)
        video_sample(v, opt->sampler);
    ret = ET_OK;

end:
    av_dict_free(&options);
    if (ret < 0) {
        et_video_close(v);
        v = NULL;
    }
    *out = v;
    return ret;
}

/* Decoded frame -> upright RGB24 in out. */
static int convert(et_video *v, const AVFrame *src, et_frame *out)
{
    et_frame *rgb = v->rotation ? &v->unrotated : out;
    int ret = et_av_frame_to_rgb(&v->sws, src, rgb, v->path);
    if (ret < 0)
        return ret;
    if (v->rotation && (ret = et_frame_rotate(out, &v->unrotated, v->rotation)) < 0)
        return et_error_wrap(ret, "%s: ", v->path);
    return ET_OK;
}

/* Seconds since the stream start of a timestamp in the stream's time_base
 * (v->start known): ts * num / den in one rounding, so that 750 x 1/1000
 * is exactly 0.75. */
static double ts_seconds(const et_video *v, int64_t ts)
{
    AVRational tb = v->st->time_base;
    return (double)(ts - v->start) * tb.num / tb.den;
}

/* Seconds since the stream start from best_effort_timestamp x time_base,
 * which stays right for variable frame rates. */
static double frame_time(et_video *v, const AVFrame *f)
{
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) {
        if (v->frames_out == 0)
            return 0;
        return v->last_t + (v->info.fps > 0 ? 1.0 / v->info.fps : 0);
    }
    if (v->start == AV_NOPTS_VALUE)
        v->start = ts;
    return ts_seconds(v, ts);
}

/* Codecs whose decoders drop a non-reference frame cleanly when asked
 * (skip_frame): no output for it, every other frame's pixels unchanged.
 * Others (VP8, VP9 ...) keep decoding everything. */
static int codec_skips_cleanly(enum AVCodecID id)
{
    return id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC || id == AV_CODEC_ID_MPEG2VIDEO ||
           id == AV_CODEC_ID_MPEG1VIDEO;
}

/* Whether the sampler will keep the frame of a packet about to be sent:
 * it runs on a copy of the sampler over the frames still in the decoder
 * that come before it. Exact when those are all the frames before it that
 * have not come out yet: true of B-frames, which follow in decoding order
 * the frames they are shown after. */
static int sampler_will_keep(const et_video *v, int64_t pts)
{
    et_sampler s = v->sampler;
    for (int i = 0; i < v->pending_count && v->pending[i].pts < pts; i++)
        et_sampler_keep(&s, ts_seconds(v, v->pending[i].pts));
    return et_sampler_keep(&s, ts_seconds(v, pts));
}

/* Before sending pkt while sampling: lets the decoder skip it if it is a
 * non-reference frame the sampler will drop; 1 if so. Skipping stops for
 * good once a packet has no timestamp to place its frame by. */
static int packet_skip_choose(et_video *v, const AVPacket *pkt)
{
    if (pkt->pts == AV_NOPTS_VALUE || v->pending_count == MAX_PENDING)
        v->may_skip = 0;
    int skip = v->may_skip && v->start != AV_NOPTS_VALUE && !(pkt->flags & AV_PKT_FLAG_KEY) &&
               (v->last_ts == AV_NOPTS_VALUE || pkt->pts > v->last_ts) && !sampler_will_keep(v, pkt->pts);
    v->dec->skip_frame = skip ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
    return skip;
}

/* Records a packet the decoder took, in timestamp order. */
static void pending_add(et_video *v, int64_t pts, int skipped)
{
    int i = v->pending_count;
    for (; i > 0 && v->pending[i - 1].pts > pts; i--)
        v->pending[i] = v->pending[i - 1];
    v->pending[i] = (sent_packet){pts, skipped};
    v->pending_count++;
}

/* The frame of the packet with this timestamp came out: forgets the
 * packet. A frame no packet had the timestamp of stops skipping for good:
 * the frames' places can no longer be told from their packets. */
static void pending_remove(et_video *v, int64_t ts)
{
    for (int i = 0; i < v->pending_count; i++)
        if (v->pending[i].pts == ts) {
            memmove(&v->pending[i], &v->pending[i + 1], (size_t)(v->pending_count - i - 1) * sizeof v->pending[0]);
            v->pending_count--;
            return;
        }
    v->may_skip = 0;
}

/* The first skipped packet before timestamp before, into *pts: 1, or 0 if
 * there is none. Packets before it that were decoded but whose frames never
 * came out (damaged) are forgotten on the way. */
static int pending_take_skipped(et_video *v, int64_t before, int64_t *pts)
{
    int n = 0, found = 0;
    while (n < v->pending_count && v->pending[n].pts < before) {
        found = v->pending[n++].skipped;
        if (found)
            break;
    }
    if (found)
        *pts = v->pending[n - 1].pts;
    memmove(&v->pending[0], &v->pending[n], (size_t)(v->pending_count - n) * sizeof v->pending[0]);
    v->pending_count -= n;
    return found;
}

/* Sends the next packet of our stream to the decoder, or the flush packet
 * at the end of the input. */
static int feed_decoder(et_video *v)
{
    for (;;) {
        int ret = av_read_frame(v->fmt, v->pkt);
        if (ret == AVERROR(EAGAIN))
            continue;
        if (ret < 0) {
            /* A damaged container can fail a read and resync; a truncated
             * file fails with the input at its end, which is the end; so
             * does an interrupted read (AVERROR_EXIT). avio also marks its
             * end when the read itself failed (a connection reset, an I/O
             * error): that is reported, not taken for the end. */
            AVIOContext *pb = v->fmt->pb;
            int io_error = pb && pb->error < 0 && pb->error != AVERROR_EOF && pb->error != AVERROR_EXIT &&
                           pb->error != AVERROR(EAGAIN);
            if (io_error)
                return et_av_error(pb->error, v->path, "cannot read");
            int at_end = ret == AVERROR_EOF || ret == AVERROR_EXIT || (pb && avio_feof(pb));
            if (!at_end && ++v->read_errors <= MAX_READ_ERRORS)
                continue;
            if (!at_end)
                return et_av_error(ret, v->path, "cannot read");
            v->draining = 1;
            /* The flush packet is taken even when this reports an error of
             * an earlier packet, so only running out of memory stops us. */
            ret = avcodec_send_packet(v->dec, NULL);
            if (ret == AVERROR(ENOMEM))
                return et_av_error(ret, v->path, "cannot flush decoder");
            if (ret < 0 && ret != AVERROR_EOF)
                v->damaged++;
            return 0;
        }
        v->read_errors = 0;
        if (v->pkt->stream_index != v->st->index) {
            av_packet_unref(v->pkt);
            continue;
        }
        int skip = v->sampling && packet_skip_choose(v, v->pkt);
        int64_t pts = v->pkt->pts;
        ret = avcodec_send_packet(v->dec, v->pkt);
        av_packet_unref(v->pkt);
        if (ret >= 0 && v->may_skip)
            pending_add(v, pts, skip);
        /* We only feed after receive said EAGAIN, so EAGAIN here too would
         * loop forever: the API rules it out; treat it as a failure. */
        if (ret == AVERROR(ENOMEM) || ret == AVERROR(EAGAIN))
            return et_av_error(ret, v->path, "cannot decode");
        if (ret < 0) {
            v->damaged++; /* the decoder rejected this packet; go on with the next */
            continue;
        }
        v->receive_errors = 0;
        return 0;
    }
}

/* A frame the decoder skipped, in its place: t and index only, 1; or 0
 * when the sampler keeps it after all (see et_video_options.sampler): it is left
 * out, as a frame the decoder failed on is. */
static int return_skipped(et_video *v, int64_t pts, et_frame *frame)
{
    double t = ts_seconds(v, pts);
    int64_t index = v->frames_out++;
    if (et_sampler_keep(&v->sampler, t)) {
        v->damaged++;
        return 0;
    }
    frame->t = t;
    frame->index = index;
    v->last_t = t;
    v->last_ts = pts;
    v->not_decoded++;
    return 1;
}

/* The decoded frame held in v->frame, converted if it is wanted. */
static int return_decoded(et_video *v, et_frame *frame)
{
    int64_t ts = v->frame->best_effort_timestamp;
    double t = frame_time(v, v->frame);
    if (v->sampling && (v->may_skip || v->pending_count)) {
        if (ts != AV_NOPTS_VALUE)
            pending_remove(v, ts);
        if (ts == AV_NOPTS_VALUE || v->frame->interlaced_frame)
            v->may_skip = 0; /* its place, or its fields', not told by one packet */
    }
    int wanted = v->sampling ? et_sampler_keep(&v->sampler, t) : 1;
    int ret = wanted && t >= v->pixels_from ? convert(v, v->frame, frame) : ET_OK;
    av_frame_unref(v->frame);
    v->held = 0;
    if (ret < 0)
        return ret;
    frame->t = t;
    frame->index = v->frames_out++;
    v->last_t = t;
    v->last_ts = ts;
    return 1;
}

/* Receives the next decoded frame into v->frame (v->held = 1), feeding the
 * decoder as it asks; at the end of the stream sets v->finished. */
static int receive_decoded(et_video *v)
{
    while (!v->finished) {
        int ret = avcodec_receive_frame(v->dec, v->frame);
        if (ret >= 0) {
            if (v->frame->width <= 0 || v->frame->height <= 0) {
                av_frame_unref(v->frame);
                v->damaged++;
                continue;
            }
            v->held = 1;
            return ET_OK;
        }
        if (ret == AVERROR_EOF || (ret == AVERROR(EAGAIN) && v->draining)) {
            v->finished = 1;
            break;
        }
        if (ret == AVERROR(EAGAIN)) {
            if ((ret = feed_decoder(v)) < 0)
                return ret;
            continue;
        }
        /* A frame failed to decode (errors surface here with frame threads). */
        if (ret == AVERROR(ENOMEM) || ++v->receive_errors > MAX_RECEIVE_ERRORS)
            return et_av_error(ret, v->path, "cannot decode");
        v->damaged++;
    }
    return ET_OK;
}

int et_video_read(et_video *v, et_frame *frame)
{
    for (;;) {
        int ret = v->held ? ET_OK : receive_decoded(v);
        if (ret < 0)
            return ret;
        /* Frames left undecoded come first, in their places before the
         * decoded one (or at the end). */
        int64_t before = !v->held ? INT64_MAX
                         : v->frame->best_effort_timestamp == AV_NOPTS_VALUE ? INT64_MIN
                                                                            : v->frame->best_effort_timestamp;
        int64_t pts;
        if (v->pending_count && pending_take_skipped(v, before, &pts)) {
            if (return_skipped(v, pts, frame))
                return 1;
            continue;
        }
        if (v->held)
            return return_decoded(v, frame);
        break; /* finished */
    }
    if (v->frames_out == 0)
        return et_error_set(ET_ERR_FORMAT, "%s: no decodable %s video frames (%lld damaged packets)",
                            v->path, v->info.codec, (long long)v->damaged);
    return 0;
}

void et_video_skip_pixels_before(et_video *v, double t)
{
    v->pixels_from = t;
}

/* Sampling from the start (et_video_options.sampler). */
static void video_sample(et_video *v, const et_sampler *sampler)
{
    v->sampling = 1;
    v->sampler = *sampler;
    const AVCodecParameters *par = v->st->codecpar;
    v->may_skip = codec_skips_cleanly(par->codec_id) &&
                  (par->field_order == AV_FIELD_PROGRESSIVE || par->field_order == AV_FIELD_UNKNOWN);
}

int64_t et_video_frames_not_decoded(const et_video *v)
{
    return v->not_decoded;
}

void et_video_get_info(const et_video *v, et_video_info *info)
{
    *info = v->info;
}

void et_video_close(et_video *v)
{
    if (!v)
        return;
    sws_freeContext(v->sws);
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    et_frame_free(&v->unrotated);
    free(v->path);
    free(v);
}
