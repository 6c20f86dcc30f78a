#include "emotrace/sha256.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "emotrace/error.h"

static int sha256_new(struct AVSHA **out, const char *what)
{
    *out = av_sha_alloc();
    if (!*out || av_sha_init(*out, 256) < 0) {
        av_freep(out);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory for SHA-256", what);
    }
    return ET_OK;
}

/* Finishes the digest into hex and frees sha. */
static void sha256_finish(struct AVSHA **sha, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t digest[32];
    av_sha_final(*sha, digest);
    av_freep(sha);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

int et_sha256_memory(const void *data, size_t size, char hex[65])
{
    struct AVSHA *sha;
    int rc = sha256_new(&sha, "memory");
    if (rc != ET_OK)
        return rc;
    av_sha_update(sha, data, size);
    sha256_finish(&sha, hex);
    return ET_OK;
}

int et_sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct AVSHA *sha;
    int rc = sha256_new(&sha, path);
    uint8_t buffer[65536];
    size_t n;
    while (rc == ET_OK && (n = fread(buffer, 1, sizeof buffer, f)) > 0)
        av_sha_update(sha, buffer, n);
    if (rc == ET_OK && ferror(f))
        rc = et_error_set(ET_ERR_IO, "%s: read error", path);
    fclose(f);
    if (rc == ET_OK)
        sha256_finish(&sha, hex);
    av_freep(&sha);
    return rc;
}
