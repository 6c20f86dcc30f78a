#include <stdio.h>
#include <string.h>

#include "emotrace/sha256.h"
#include "test.h"

static void digest_of(const char *text, size_t repeat, char hex[65])
{
    et_sha256 s;
    uint8_t d[32];
    et_sha256_init(&s);
    for (size_t i = 0; i < repeat; i++)
        et_sha256_update(&s, text, strlen(text));
    et_sha256_final(&s, d);
    et_sha256_hex(d, hex);
}

/* Known answers from FIPS 180-4 examples. */
TEST(sha256_known_answers)
{
    char hex[65];
    digest_of("", 1, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    digest_of("abc", 1, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    digest_of("a", 1000000, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

TEST(sha256_file_matches_memory)
{
    char path[512], a[65], b[65];
    snprintf(path, sizeof path, "%s/f", test_tmpdir());
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fputs("abc", f);
    fclose(f);
    CHECK(et_sha256_file(path, a) == 0);
    digest_of("abc", 1, b);
    CHECK(!strcmp(a, b));
    CHECK(et_sha256_file("/nonexistent/file", a) < 0);
}
