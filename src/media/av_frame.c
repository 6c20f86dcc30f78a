#include "av_frame.h"

#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "av_error.h"
#include "emotrace/error.h"

/* The deprecated full-range "J" formats as their plain equivalents. Passing
 * them to swscale as is would make sws_getCachedContext rebuild the scaler
 * for every frame (it stores the plain format internally). */
static enum AVPixelFormat unjpeg_format(enum AVPixelFormat f, int *full_range)
{
    static const enum AVPixelFormat pairs[][2] = {
        {AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV420P}, {AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV422P},
        {AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV444P}, {AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUV440P},
        {AV_PIX_FMT_YUVJ411P, AV_PIX_FMT_YUV411P},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (f == pairs[i][0]) {
            *full_range = 1;
            return pairs[i][1];
        }
    return f;
}

int et_av_frame_to_rgb(struct SwsContext **sws, const AVFrame *src, et_frame *out, const char *path)
{
    int ret = et_frame_resize(out, src->width, src->height);
    if (ret < 0)
        return et_error_wrap(ret, "%s: ", path);
    if (src->format == AV_PIX_FMT_RGB24) { /* most PNGs: no scaler to set up */
        av_image_copy_plane(out->rgb, out->stride, src->data[0], src->linesize[0], 3 * src->width, src->height);
        return ET_OK;
    }
    int full = src->color_range == AVCOL_RANGE_JPEG;
    enum AVPixelFormat format = unjpeg_format(src->format, &full);
    *sws = sws_getCachedContext(*sws, src->width, src->height, format, src->width, src->height, AV_PIX_FMT_RGB24,
                                SWS_BILINEAR, NULL, NULL, NULL);
    if (!*sws)
        return et_error_set(ET_ERR_FORMAT, "%s: cannot convert %s frames of %dx%d to RGB", path,
                            av_get_pix_fmt_name(src->format), src->width, src->height);
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(format);
    if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3) {
        /* YUV: use the frame's matrix and range, not swscale's BT.601 limited default. */
        int cs = src->colorspace == AVCOL_SPC_RGB || src->colorspace == AVCOL_SPC_UNSPECIFIED
                     ? SWS_CS_DEFAULT : (int)src->colorspace;
        sws_setColorspaceDetails(*sws, sws_getCoefficients(cs), full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                                 1 << 16, 1 << 16);
    }
    uint8_t *dst[4] = {out->rgb, NULL, NULL, NULL};
    int dst_stride[4] = {out->stride, 0, 0, 0};
    ret = sws_scale(*sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst, dst_stride);
    if (ret < 0)
        return et_av_error(ret, path, "cannot convert frame to RGB");
    return ET_OK;
}
