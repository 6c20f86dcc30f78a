/* libFuzzer: the still image loader (probe with the GIF animation check,
 * header checks, stb_image for JPEG with its markers and EXIF orientation,
 * libavcodec's image decoders for the rest). */
#include <stddef.h>
#include <stdint.h>

#include "emotrace/image.h"
#include "fuzz_file.h"

FUZZ_ENTRY(image)
{
    const char *path = fuzz_file(data, size);
    if (!path)
        return 0;
    et_frame frame = {0};
    if (et_image_probe(path) == 1 && et_image_load(path, &frame) == 0) {
        /* Touch every byte: a wrong stride or size shows up here. */
        unsigned sum = 0;
        for (int y = 0; y < frame.height; y++)
            for (int x = 0; x < frame.width * 3; x++)
                sum += frame.rgb[(size_t)y * frame.stride + x];
        (void)sum;
    }
    et_frame_free(&frame);
    return 0;
}
