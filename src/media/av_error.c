#include "av_error.h"

#include <errno.h>

#include <libavutil/error.h>

#include "emotrace/error.h"

static int error_code(int averr)
{
    if (averr == AVERROR(ENOMEM))
        return ET_ERR_NOMEM;
    if (averr == AVERROR_INVALIDDATA || averr == AVERROR_DECODER_NOT_FOUND ||
        averr == AVERROR_DEMUXER_NOT_FOUND || averr == AVERROR_PATCHWELCOME ||
        averr == AVERROR_STREAM_NOT_FOUND)
        return ET_ERR_FORMAT;
    return ET_ERR_IO;
}

int et_av_error(int averr, const char *path, const char *what)
{
    char reason[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, reason, sizeof reason);
    return et_error_set(error_code(averr), "%s: %s: %s", path, what, reason);
}
