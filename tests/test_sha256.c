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
