/* stb_image's JPEG decoder, compiled here from Debian's header (libstb-dev)
 * instead of linked from its libstb, to fix two faults of stb_image 2.27
 * (Debian 12's) that fuzz_image found with one 464-byte JPEG
 * (tests/fuzz/regress/image/jpeg-dc-overflow.jpg):
 * - it reads memory it never wrote: a scan that uses a quantisation table
 *   the file never defined takes whatever the heap held there, so the
 *   pixels depended on earlier allocations. Every stb_image allocation is
 *   zeroed here instead (STBI_MALLOC).
 * - its DC coefficient times the quantiser overflows int on such input,
 *   undefined behaviour; the Makefile compiles this file with -fwrapv,
 *   which defines it as wrapping (a corrupt file then gives wrong pixels,
 *   nothing worse).
 * The sanitizer and fuzzer builds also instrument the decoder this way.
 * Only JPEG is compiled: libavcodec decodes the other formats (image.c),
 * so stb_image's PNG, GIF, BMP, PSD, TGA, HDR and PIC readers are neither
 * linked nor reachable by hostile files. */
#include <stdlib.h>

#define STBI_MALLOC(size) calloc(1, size)
#define STBI_REALLOC(p, size) realloc(p, size)
#define STBI_FREE(p) free(p)
#define STBI_ONLY_JPEG
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
