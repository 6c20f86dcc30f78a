#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/sha256.h"
#include "test.h"

static void digest_of(const char *text, char hex[65])
{
    CHECK(et_sha256_memory(text, strlen(text), hex) == 0);
}

/* Known answers from FIPS 180-4 examples. */
TEST(sha256_known_answers)
{
    char hex[65];
    digest_of("", hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    digest_of("abc", hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
}

/* A million 'a's (FIPS 180-4's long example), in memory and as a file read
 * in several chunks. */
TEST(sha256_file_matches_memory)
{
    static const char million_a[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t size = 1000000;
    char *text = malloc(size);
    REQUIRE(text);
    memset(text, 'a', size);
    char path[512], a[65], b[65];
    CHECK(et_sha256_memory(text, size, b) == 0);
    CHECK(!strcmp(b, million_a));
    snprintf(path, sizeof path, "%s/f", test_tmpdir());
    FILE *f = fopen(path, "wb");
    if (!f)
        free(text);
    REQUIRE(f);
    CHECK(fwrite(text, 1, size, f) == size);
    fclose(f);
    free(text);
    CHECK(et_sha256_file(path, a) == 0);
    CHECK(!strcmp(a, million_a));
    CHECK(et_sha256_file("/nonexistent/file", a) < 0);
}

/* The CPU's SHA instructions against libavutil's av_sha
 * (EMOTRACE_SHA256_PORTABLE=1) on pseudo-random bytes of every length
 * around the block and padding boundaries, and on a large buffer. */
TEST(sha256_instructions_equal_portable)
{
    if (system("grep -qw sha_ni /proc/cpuinfo") != 0)
        SKIP("this CPU has no SHA instructions: only the portable code runs");
    size_t large = 3 * 65536 + 77;
    unsigned char *data = malloc(large);
    REQUIRE(data);
    uint32_t x = 12345;
    for (size_t i = 0; i < large; i++) {
        x = x * 1664525u + 1013904223u;
        data[i] = (unsigned char)(x >> 24);
    }
    size_t sizes[200];
    int n = 0;
    for (size_t s = 0; s <= 192; s++)
        sizes[n++] = s;
    sizes[n++] = large;
    int differ = 0;
    for (int i = 0; i < n; i++) {
        char fast[65], portable[65];
        unsetenv("EMOTRACE_SHA256_PORTABLE");
        CHECK(et_sha256_memory(data, sizes[i], fast) == 0);
        setenv("EMOTRACE_SHA256_PORTABLE", "1", 1);
        CHECK(et_sha256_memory(data, sizes[i], portable) == 0);
        unsetenv("EMOTRACE_SHA256_PORTABLE");
        if (strcmp(fast, portable) != 0 && differ++ < 5)
            test_fail(__FILE__, __LINE__, "%zu bytes: %s, portable %s", sizes[i], fast, portable);
    }
    free(data);
}
