/* stb_image compiled with the fuzzers' instrumentation: the packaged
 * libstb is not, so coverage and ASan would not see inside the decoders.
 * Linked ahead of -lstb, these definitions are the ones used. */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
