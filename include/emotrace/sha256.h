/* SHA-256 of memory and files (FIPS 180-4), for weights provenance. */
#ifndef EMOTRACE_SHA256_H
#define EMOTRACE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t length;
    uint8_t block[64];
    size_t fill;
} et_sha256;

void et_sha256_init(et_sha256 *s);
void et_sha256_update(et_sha256 *s, const void *data, size_t size);
void et_sha256_final(et_sha256 *s, uint8_t digest[32]);
/* Writes 64 lowercase hex digits and a NUL into hex. */
int et_sha256_file(const char *path, char hex[65]);
void et_sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
