/* SHA-256 by the CPU's SHA instructions (x86 SHA-NI: four rounds in two
 * instructions) where it has them, else by libavutil's av_sha: hashing the
 * weights for the run's record took about 36 ms of every analyze process
 * with av_sha, a fifth of that with the instructions. */
#include "emotrace/sha256.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "emotrace/error.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_SHA_NI_CODE 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* A digest under way: by av_sha (portable) or by the instructions (state,
 * the partial block and the length so far). */
typedef struct {
    struct AVSHA *portable;
    uint32_t state[8];
    uint8_t block[64];
    size_t used;
    uint64_t length;
} sha256_ctx;

#ifdef HAVE_SHA_NI_CODE
/* FIPS 180-4's round constants. */
static const uint32_t round_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* SHA-NI with the SSSE3 and SSE4.1 shuffles it needs (CPUID leaf 7 EBX
 * bit 29; leaf 1 ECX bits 9 and 19). */
static int cpu_has_sha_ni(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19)))
        return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
}

/* Compresses count 64-byte blocks into state. The instructions keep the
 * eight words as two vectors, ABEF and CDGH (A in the top lane); each
 * sha256rnds2 does two rounds, with the message words plus constants in
 * the low two lanes. The message schedule runs four words at a time:
 * w[t..t+3] = msg2(msg1(w[t-16..], w[t-12..]) + w[t-7..t-4], w[t-4..]). */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_sha_ni(uint32_t state[8], const uint8_t *data,
                                                                         size_t count)
{
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    for (; count > 0; count--, data += 64) {
        __m128i abef_in = abef, cdgh_in = cdgh, w[4];
        for (int i = 0; i < 16; i++) {
            __m128i words;
            if (i < 4) {
                words = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * i)), byte_swap);
            } else {
                __m128i sum = _mm_add_epi32(_mm_sha256msg1_epu32(w[i % 4], w[(i + 1) % 4]),
                                            _mm_alignr_epi8(w[(i + 3) % 4], w[(i + 2) % 4], 4));
                words = _mm_sha256msg2_epu32(sum, w[(i + 3) % 4]);
            }
            w[i % 4] = words;
            __m128i wk = _mm_add_epi32(words, _mm_loadu_si128((const __m128i *)&round_k[4 * i]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}
#endif

/* The instructions when the CPU has them, unless EMOTRACE_SHA256_PORTABLE=1
 * (the tests' way to compare both). */
static int use_sha_ni(void)
{
#ifdef HAVE_SHA_NI_CODE
    const char *portable = getenv("EMOTRACE_SHA256_PORTABLE");
    return cpu_has_sha_ni() && !(portable && *portable == '1');
#else
    return 0;
#endif
}

static int sha256_init(sha256_ctx *c, const char *what)
{
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memset(c, 0, sizeof *c);
    memcpy(c->state, initial, sizeof initial);
    if (use_sha_ni())
        return ET_OK;
    c->portable = av_sha_alloc();
    if (!c->portable || av_sha_init(c->portable, 256) < 0) {
        av_freep(&c->portable);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory for SHA-256", what);
    }
    return ET_OK;
}

static void sha256_update(sha256_ctx *c, const uint8_t *data, size_t size)
{
    if (c->portable) {
        av_sha_update(c->portable, data, size);
        return;
    }
#ifdef HAVE_SHA_NI_CODE
    c->length += size;
    if (c->used) {
        size_t take = size < 64 - c->used ? size : 64 - c->used;
        memcpy(c->block + c->used, data, take);
        c->used += take, data += take, size -= take;
        if (c->used < 64)
            return;
        compress_sha_ni(c->state, c->block, 1);
        c->used = 0;
    }
    compress_sha_ni(c->state, data, size / 64);
    memcpy(c->block, data + size / 64 * 64, size % 64);
    c->used = size % 64;
#endif
}

/* Finishes the digest into 64 hex digits and a NUL. */
static void sha256_finish(sha256_ctx *c, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t digest[32];
    if (c->portable) {
        av_sha_final(c->portable, digest);
        av_freep(&c->portable);
    } else {
        /* FIPS 180-4 padding: a 1 bit, zeros, the length in bits. */
        uint8_t tail[72] = {0x80};
        size_t pad = (c->used < 56 ? 56 : 120) - c->used;
        uint64_t bits = c->length * 8;
        for (int i = 0; i < 8; i++)
            tail[pad + i] = (uint8_t)(bits >> (56 - 8 * i));
        sha256_update(c, tail, pad + 8);
        for (int i = 0; i < 32; i++)
            digest[i] = (uint8_t)(c->state[i / 4] >> (24 - 8 * (i % 4)));
    }
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

int et_sha256_memory(const void *data, size_t size, char hex[65])
{
    sha256_ctx c;
    int rc = sha256_init(&c, "memory");
    if (rc != ET_OK)
        return rc;
    sha256_update(&c, data, size);
    sha256_finish(&c, hex);
    return ET_OK;
}

int et_sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    sha256_ctx c;
    int rc = sha256_init(&c, path);
    uint8_t buffer[65536];
    size_t n;
    while (rc == ET_OK && (n = fread(buffer, 1, sizeof buffer, f)) > 0)
        sha256_update(&c, buffer, n);
    if (rc == ET_OK && ferror(f))
        rc = et_error_set(ET_ERR_IO, "%s: read error", path);
    fclose(f);
    if (rc == ET_OK)
        sha256_finish(&c, hex);
    av_freep(&c.portable);
    return rc;
}
