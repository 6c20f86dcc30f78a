/* SHA-256 (FIPS 180-4, by libavutil's av_sha) of files and memory, for
 * weights provenance. Both write 64 lowercase hex digits and a NUL. */
#ifndef EMOTRACE_SHA256_H
#define EMOTRACE_SHA256_H

#include <stddef.h>

int et_sha256_file(const char *path, char hex[65]);
int et_sha256_memory(const void *data, size_t size, char hex[65]);

#endif
