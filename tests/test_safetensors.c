/* .safetensors: half-float conversion, bit-exact save/load of nets, F16
 * tensors, and rejection (with the file and tensor named) of malformed files
 * built here byte by byte. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotrace/error.h"
#include "emotrace/json.h"
#include "emotrace/nn_train.h"
#include "emotrace/rng.h"
#include "emotrace/safetensors.h"
#include "test.h"

static float bits_to_float(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

TEST(st_half_known_values)
{
    CHECK_EQ_INT(et_float_to_half(1.0f), 0x3C00);
    CHECK_EQ_INT(et_float_to_half(-2.0f), 0xC000);
    CHECK_EQ_INT(et_float_to_half(65504.0f), 0x7BFF);       /* largest finite half */
    CHECK_EQ_INT(et_float_to_half(65519.0f), 0x7BFF);       /* rounds down to it */
    CHECK_EQ_INT(et_float_to_half(65520.0f), 0x7C00);       /* halfway: rounds to infinity */
    CHECK_EQ_INT(et_float_to_half(ldexpf(1.0f, -24)), 0x0001); /* smallest subnormal */
    CHECK_EQ_INT(et_float_to_half(ldexpf(1.0f, -25)), 0x0000); /* half of it: tie to even, 0 */
    CHECK_EQ_INT(et_float_to_half(ldexpf(1.5f, -25)), 0x0001); /* above the tie: up */
    CHECK_EQ_INT(et_float_to_half(ldexpf(1.0f, -14)), 0x0400); /* smallest normal */
    /* 0.1 = 1.6 * 2^-4: exponent 11 (0x2C00), mantissa 0.6 * 1024 = 614.4 -> 614 (0x266) */
    CHECK_EQ_INT(et_float_to_half(0.1f), 0x2E66);
    CHECK_EQ_INT(et_float_to_half(-0.0f), 0x8000);
    CHECK_EQ_INT(et_float_to_half(INFINITY), 0x7C00);
    CHECK((et_float_to_half(NAN) & 0x7C00) == 0x7C00 && (et_float_to_half(NAN) & 0x3FF) != 0);

    CHECK(et_half_to_float(0x3C00) == 1.0f);
    CHECK(et_half_to_float(0xC000) == -2.0f);
    CHECK(et_half_to_float(0x7BFF) == 65504.0f);
    CHECK(et_half_to_float(0x0001) == ldexpf(1.0f, -24));          /* 5.96e-8 */
    CHECK(et_half_to_float(0x03FF) == ldexpf(1023.0f, -24));       /* largest subnormal */
    CHECK(et_half_to_float(0x2E66) == 0.0999755859375f);           /* 1638.4/16384 -> 1638/16384 */
    CHECK(isinf(et_half_to_float(0xFC00)) && et_half_to_float(0xFC00) < 0);
    CHECK(isnan(et_half_to_float(0x7E00)));
    float negative_zero = et_half_to_float(0x8000);
    CHECK(negative_zero == 0.0f && signbit(negative_zero));

    /* Every half that is a number survives the round trip through float. */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF))
            continue; /* NaN */
        if (et_float_to_half(et_half_to_float((uint16_t)h)) != h)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
}

/* --- save and load --- */

static const char *ROUND_TRIP_ARCH =
    "{\"format\":\"emotrace-net-1\",\"name\":\"rt\",\"input\":[2,4,4],\"layers\":["
    "{\"name\":\"c\",\"type\":\"conv2d\",\"out\":3,\"kernel\":3,\"pad\":1,\"bias\":false},"
    "{\"name\":\"bn\",\"type\":\"batchnorm\"},"
    "{\"name\":\"p\",\"type\":\"prelu\"},"
    "{\"name\":\"g\",\"type\":\"global_avgpool\"},"
    "{\"name\":\"l\",\"type\":\"lstm\",\"hidden\":3},"
    "{\"name\":\"d\",\"type\":\"dense\",\"out\":2}],\"outputs\":[\"d\"]}";

static int randomise(const et_param_ref *param, void *ctx)
{
    et_rng *rng = ctx;
    et_tensor *t = param->value;
    for (size_t i = 0; i < et_tensor_count(t); i++)
        t->data[i] = (float)et_rng_normal(rng);
    if (!strcmp(param->name, "running_var"))
        for (size_t i = 0; i < et_tensor_count(t); i++)
            t->data[i] = fabsf(t->data[i]) + 0.1f;
    return ET_OK;
}

static int count_param(const et_param_ref *param, void *count)
{
    (void)param;
    ++*(int *)count;
    return ET_OK;
}

/* The parameter of the same name in the net ctx has the same shape and
 * bits. */
static int check_same_param(const et_param_ref *param, void *ctx)
{
    const et_tensor *a = param->value, *b = et_net_find_param(ctx, param->layer, param->name);
    CHECK_MSG(b != NULL, "%s.%s is missing", param->layer, param->name);
    if (!b)
        return ET_OK;
    CHECK(a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w);
    CHECK_MSG(!memcmp(a->data, b->data, et_tensor_count(a) * sizeof(float)), "%s.%s differs", param->layer,
              param->name);
    return ET_OK;
}

TEST(st_save_load_bit_exact)
{
    char path[512];
    snprintf(path, sizeof path, "%s/net.safetensors", test_tmpdir());
    et_net *net = NULL, *loaded = NULL;
    REQUIRE(et_net_create(&net, ROUND_TRIP_ARCH, 4) == ET_OK);
    et_rng rng;
    et_rng_seed(&rng, 21);
    et_net_visit_params(net, randomise, &rng);
    /* Values a decimal or half-float detour would damage. */
    float *w = et_net_find_param(net, "c", "weight")->data;
    w[0] = -0.0f;
    w[1] = bits_to_float(1);          /* smallest subnormal */
    w[2] = bits_to_float(0x3DCCCCCD); /* 0.1f */
    w[3] = bits_to_float(0x3F800001); /* 1 + 2^-23 */
    const char *meta[] = {"trained_on", "unit test", "epoch", "3", NULL};
    int rc = et_net_save(net, path, meta);
    REQUIRE(rc == ET_OK);
    rc = et_net_load(&loaded, path);
    CHECK_MSG(rc == ET_OK, "load: %s", et_error_message());
    REQUIRE(loaded);
    CHECK(!strcmp(et_net_arch(loaded), et_net_arch(net)));
    int params = 0, loaded_params = 0;
    et_net_visit_params(net, count_param, &params);
    et_net_visit_params(loaded, count_param, &loaded_params);
    CHECK_EQ_INT(loaded_params, params);
    et_net_visit_params(net, check_same_param, loaded);
    /* The extra metadata is there too. */
    et_safetensors st;
    REQUIRE(et_safetensors_load(&st, path) == ET_OK);
    CHECK(et_safetensors_meta(&st, "trained_on") && !strcmp(et_safetensors_meta(&st, "trained_on"), "unit test"));
    CHECK(et_safetensors_meta(&st, "epoch") && !strcmp(et_safetensors_meta(&st, "epoch"), "3"));
    et_safetensors_free(&st);

    /* Same input, same output bits (2 sequences of 3 steps). */
    REQUIRE(et_net_prepare(net, 2, 3) == ET_OK && et_net_prepare(loaded, 2, 3) == ET_OK);
    for (size_t i = 0; i < et_tensor_count(et_net_input(net)); i++)
        et_net_input(net)->data[i] = et_net_input(loaded)->data[i] = (float)et_rng_normal(&rng);
    REQUIRE(et_net_forward(net, 0) == ET_OK && et_net_forward(loaded, 0) == ET_OK);
    CHECK(!memcmp(et_net_output(net, 0)->data, et_net_output(loaded, 0)->data,
                  et_tensor_count(et_net_output(net, 0)) * sizeof(float)));
    et_net_free(net);
    et_net_free(loaded);
}

/* --- hand-built files --- */

/* A dense layer 2 -> 2: tensors d.weight [2, 2] and d.bias [2]. */
static const char *SMALL_ARCH =
    "{\"format\":\"emotrace-net-1\",\"input\":[2,1,1],\"layers\":["
    "{\"name\":\"d\",\"type\":\"dense\",\"out\":2}],\"outputs\":[\"d\"]}";

typedef struct {
    uint8_t *bytes;
    size_t size, capacity;
} bytes_buf;

static void put(bytes_buf *b, const void *data, size_t n)
{
    if (b->size + n > b->capacity) {
        size_t cap = (b->size + n) * 2 + 64;
        uint8_t *p = realloc(b->bytes, cap);
        if (!p)
            abort();
        b->bytes = p;
        b->capacity = cap;
    }
    memcpy(b->bytes + b->size, data, n);
    b->size += n;
}

static void put_u64(bytes_buf *b, uint64_t v)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    put(b, le, 8);
}

static void put_f32(bytes_buf *b, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint8_t le[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16), (uint8_t)(bits >> 24)};
    put(b, le, 4);
}

static void put_f16(bytes_buf *b, uint16_t h)
{
    uint8_t le[2] = {(uint8_t)h, (uint8_t)(h >> 8)};
    put(b, le, 2);
}

/* The header JSON: {"__metadata__": metadata, tensors}; metadata NULL means
 * {"architecture": SMALL_ARCH} and "" means none. */
static char *header_json(const char *metadata, const char *tensors)
{
    et_strbuf h = {0};
    et_strbuf_append(&h, "{", 1);
    if (!metadata) {
        et_strbuf_append(&h, "\"__metadata__\":{\"architecture\":", 31);
        et_strbuf_json_string(&h, SMALL_ARCH);
        et_strbuf_append(&h, "}", 1);
    } else if (*metadata) {
        et_strbuf_printf(&h, "\"__metadata__\":%s", metadata);
    }
    if (*tensors)
        et_strbuf_printf(&h, "%s%s", h.length > 1 ? "," : "", tensors);
    et_strbuf_append(&h, "}", 1);
    return h.data;
}

/* 8-byte header length, header, data. */
static bytes_buf file_bytes(const char *header, const bytes_buf *data)
{
    bytes_buf b = {0};
    put_u64(&b, strlen(header));
    put(&b, header, strlen(header));
    if (data && data->size)
        put(&b, data->bytes, data->size);
    return b;
}

static void write_file(const char *path, const void *bytes, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(bytes, 1, size, f) != size))
        test_fail(__FILE__, __LINE__, "cannot write %s", path);
    if (f)
        fclose(f);
}

static void path_for(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/%s.safetensors", test_tmpdir(), name);
}

/* Weight (1, -2, 0.5, 4) and bias (0.25, -1) as F32: 24 data bytes. */
static bytes_buf f32_data(void)
{
    bytes_buf d = {0};
    const float v[6] = {1, -2, 0.5f, 4, 0.25f, -1};
    for (int i = 0; i < 6; i++)
        put_f32(&d, v[i]);
    return d;
}

#define GOOD_TENSORS                                                             \
    "\"d.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"  \
    "\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}"

TEST(st_f16_tensors_load)
{
    /* Weight as F16 (1, -2, 65504, 2^-24), bias as F32 (0.25, -1). */
    bytes_buf data = {0};
    const uint16_t halves[4] = {0x3C00, 0xC000, 0x7BFF, 0x0001};
    for (int i = 0; i < 4; i++)
        put_f16(&data, halves[i]);
    put_f32(&data, 0.25f);
    put_f32(&data, -1.0f);
    char *header = header_json(NULL, "\"d.weight\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                                     "\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}");
    bytes_buf file = file_bytes(header, &data);
    char path[512];
    path_for(path, sizeof path, "f16");
    write_file(path, file.bytes, file.size);
    et_net *net = NULL;
    int rc = et_net_load(&net, path);
    CHECK_MSG(rc == ET_OK, "load: %s", et_error_message());
    if (net) {
        const float *w = et_net_find_param(net, "d", "weight")->data, *b = et_net_find_param(net, "d", "bias")->data;
        CHECK(w[0] == 1.0f && w[1] == -2.0f && w[2] == 65504.0f && w[3] == ldexpf(1.0f, -24));
        CHECK(b[0] == 0.25f && b[1] == -1.0f);
        /* And it runs: x = (1, 1) -> (1 - 2 + 0.25, 65504 + 2^-24 - 1). */
        REQUIRE(et_net_prepare(net, 1, 1) == ET_OK);
        et_net_input(net)->data[0] = et_net_input(net)->data[1] = 1.0f;
        REQUIRE(et_net_forward(net, 0) == ET_OK);
        CHECK_NEAR(et_net_output(net, 0)->data[0], -0.75, 1e-6);
        CHECK_NEAR(et_net_output(net, 0)->data[1], 65503.0, 1e-2);
    }
    et_net_free(net);
    free(header);
    free(data.bytes);
    free(file.bytes);
}

/* Loads path expecting failure: no net, an error naming the file, and the
 * tensor and detail too when given. */
static void expect_rejected_with(const char *path, const char *tensor, const char *detail, const char *what)
{
    et_net *net = (et_net *)&net; /* must be reset to NULL */
    et_error_clear();
    int rc = et_net_load(&net, path);
    const char *msg = et_error_message();
    CHECK_MSG(rc < 0, "%s: loaded", what);
    CHECK_MSG(net == NULL, "%s: *out not NULL after failure", what);
    CHECK_MSG(msg && strstr(msg, path), "%s: message does not name the file: %s", what, msg ? msg : "(none)");
    if (tensor) {
        char quoted[128];
        snprintf(quoted, sizeof quoted, "'%s'", tensor);
        CHECK_MSG(msg && strstr(msg, quoted), "%s: message does not name tensor %s: %s", what, tensor,
                  msg ? msg : "(none)");
    }
    if (detail)
        CHECK_MSG(msg && strstr(msg, detail), "%s: message lacks \"%s\": %s", what, detail, msg ? msg : "(none)");
    if (rc == ET_OK)
        et_net_free(net);
}

static void expect_rejected(const char *path, const char *tensor, const char *what)
{
    expect_rejected_with(path, tensor, NULL, what);
}

TEST(st_malformed_files_rejected)
{
    char path[512];
    /* The well-formed file the broken ones derive from loads. */
    bytes_buf data = f32_data();
    char *header = header_json(NULL, GOOD_TENSORS);
    bytes_buf good = file_bytes(header, &data);
    size_t header_len = strlen(header);
    path_for(path, sizeof path, "good");
    write_file(path, good.bytes, good.size);
    et_net *net = NULL;
    CHECK_MSG(et_net_load(&net, path) == ET_OK, "good file: %s", et_error_message());
    et_net_free(net);

    /* Truncated anywhere: inside the length, the header, the data. */
    const size_t cuts[] = {0, 3, 7, 8, 9, 8 + header_len / 2, 8 + header_len - 1, 8 + header_len,
                           8 + header_len + 1, 8 + header_len + 16, good.size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "cut_%zu", cuts[i]);
        path_for(path, sizeof path, name);
        write_file(path, good.bytes, cuts[i]);
        expect_rejected(path, NULL, name);
    }

    /* Header length field: huge, one byte past the file, 2^63, the 64 MiB cap. */
    const uint64_t lengths[] = {UINT64_MAX, (uint64_t)good.size - 7, (uint64_t)1 << 63, (uint64_t)64 << 20};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        bytes_buf bad = {0};
        put_u64(&bad, lengths[i]);
        put(&bad, good.bytes + 8, good.size - 8);
        char name[64];
        snprintf(name, sizeof name, "header_len_%zu", i);
        path_for(path, sizeof path, name);
        write_file(path, bad.bytes, bad.size);
        expect_rejected(path, NULL, name);
        free(bad.bytes);
    }

    /* Broken headers: file name, metadata (NULL: a good architecture, "": none),
     * tensors, the tensor the message must name, and a detail it must hold. */
#define WEIGHT(entry) "\"d.weight\":{" entry "},"
#define BIAS "\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}"
    static const struct {
        const char *name, *metadata, *tensors, *tensor, *detail;
    } cases[] = {
        {"offsets_past_end", NULL,
         WEIGHT("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]")
         "\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,32]}",
         "d.bias", "[16, 32] lie outside the 24 data bytes"},
        {"offsets_far_past_end", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[1e300,1e300]") BIAS,
         "d.weight", "lie outside"},
        {"offsets_reversed", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,0]") BIAS,
         "d.weight", "data_offsets"},
        {"offsets_negative", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[-8,8]") BIAS,
         "d.weight", "data_offsets"},
        {"offsets_not_numbers", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[\"0\",16]") BIAS,
         "d.weight", "data_offsets"},
        {"offsets_fractional", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0.5,16.5]") BIAS,
         "d.weight", "data_offsets"},
        {"offsets_missing", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[2,2]") BIAS, "d.weight", "data_offsets"},
        {"dtype_i64", NULL, WEIGHT("\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]") BIAS,
         "d.weight", "'I64'"},
        {"dtype_missing", NULL, WEIGHT("\"shape\":[2,2],\"data_offsets\":[0,16]") BIAS, "d.weight", "dtype"},
        {"shape_size_mismatch", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]") BIAS,
         "d.weight", "holds 16 bytes but its shape needs 24"},
        {"shape_negative", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[-2,-2],\"data_offsets\":[0,16]") BIAS,
         "d.weight", "dimension"},
        {"shape_huge", NULL,
         WEIGHT("\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647,4],\"data_offsets\":[0,16]") BIAS,
         "d.weight", NULL},
        {"shape_too_many_dims", NULL,
         WEIGHT("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,2,2],\"data_offsets\":[0,16]") BIAS, "d.weight", "shape"},
        /* Right byte count, wrong shape for the architecture. */
        {"shape_vs_architecture", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]") BIAS,
         "d.weight", "has shape [4] but the architecture needs [2,2]"},
        {"shape_vs_architecture_2d", NULL, WEIGHT("\"dtype\":\"F32\",\"shape\":[1,4],\"data_offsets\":[0,16]") BIAS,
         "d.weight", "[1,4]"},
        {"missing_tensor", NULL, "\"d.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}",
         "d.bias", "missing"},
        {"tensor_not_object", NULL, "\"d.weight\":[0,16]," BIAS, "d.weight", NULL},
        {"metadata_not_object", "\"architecture\"", GOOD_TENSORS, NULL, "__metadata__"},
        {"metadata_value_not_string", "{\"architecture\":{\"format\":\"emotrace-net-1\"}}", GOOD_TENSORS, NULL,
         "'architecture'"},
        {"no_architecture", "{\"name\":\"x\"}", GOOD_TENSORS, NULL, "'architecture'"},
        {"no_metadata", "", GOOD_TENSORS, NULL, "'architecture'"},
        {"architecture_not_json", "{\"architecture\":\"{\\\"format\\\":\"}", GOOD_TENSORS, NULL, "architecture"},
        {"architecture_unknown_layer",
         "{\"architecture\":\"{\\\"format\\\":\\\"emotrace-net-1\\\",\\\"input\\\":[2,1,1],"
         "\\\"layers\\\":[{\\\"name\\\":\\\"d\\\",\\\"type\\\":\\\"magic\\\"}],\\\"outputs\\\":[\\\"d\\\"]}\"}",
         GOOD_TENSORS, NULL, "'magic'"},
    };
#undef WEIGHT
#undef BIAS
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = header_json(cases[i].metadata, cases[i].tensors);
        bytes_buf file = file_bytes(bad, &data);
        path_for(path, sizeof path, cases[i].name);
        write_file(path, file.bytes, file.size);
        expect_rejected_with(path, cases[i].tensor, cases[i].detail, cases[i].name);
        free(bad);
        free(file.bytes);
    }

    /* Headers that are not the JSON object they should be. */
    const char *bad_headers[] = {
        "{\"d.weight\":{\"dtype\":\"F32\",",   /* cut short */
        "{\"d.weight\" {}}",                   /* no colon */
        "[1,2,3]",                             /* not an object */
        "",                                    /* empty */
        "{} trailing",
        "{\"a\":\"\\u12\"}",                   /* bad escape */
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        bytes_buf file = file_bytes(bad_headers[i], &data);
        char name[64];
        snprintf(name, sizeof name, "bad_json_%zu", i);
        path_for(path, sizeof path, name);
        write_file(path, file.bytes, file.size);
        expect_rejected(path, NULL, name);
        free(file.bytes);
    }

    /* Not there, and not a file. */
    path_for(path, sizeof path, "does_not_exist");
    expect_rejected(path, NULL, "missing file");
    expect_rejected(test_tmpdir(), NULL, "directory");

    free(header);
    free(data.bytes);
    free(good.bytes);
}

/* Loading converts every one of the 65,536 half values (at odd offsets
 * into the run, so the vector code's 8 at a time and its tail both meet
 * each) as et_half_to_float does, NaNs as NaNs; float32 tensors come back
 * bit for bit. */
TEST(st_load_every_half_and_float_bits)
{
    enum { HALVES = 65536, FLOATS = 1001 };
    size_t bytes = 2 * (HALVES + 3) + 4 * FLOATS;
    uint8_t *data = malloc(bytes);
    float *out = malloc(sizeof(float) * (HALVES + 3));
    REQUIRE(data && out);
    for (int i = 0; i < HALVES + 3; i++) {
        uint16_t h = (uint16_t)(i * 40503u); /* odd multiplier: every value once per 65,536 */
        data[2 * i] = (uint8_t)h, data[2 * i + 1] = (uint8_t)(h >> 8);
    }
    uint32_t x = 7;
    for (size_t i = 2 * (HALVES + 3); i < bytes; i++)
        data[i] = (uint8_t)((x = x * 1664525u + 1013904223u) >> 24);
    et_st_tensor tensors[2] = {
        {.name = "h", .dtype = ET_DTYPE_F16, .ndim = 1, .shape = {HALVES + 3}, .begin = 0, .end = 2 * (HALVES + 3)},
        {.name = "f", .dtype = ET_DTYPE_F32, .ndim = 1, .shape = {FLOATS}, .begin = 2 * (HALVES + 3), .end = bytes},
    };
    et_safetensors st = {.path = "memory", .tensors = tensors, .count = 2, .data = data, .data_size = bytes};
    CHECK(et_safetensors_load_f32(&st, "h", out, HALVES + 3) == ET_OK);
    int wrong = 0;
    for (int i = 0; i < HALVES + 3; i++) {
        float want = et_half_to_float((uint16_t)(data[2 * i] | data[2 * i + 1] << 8));
        int same = isnan(want) ? isnan(out[i]) : memcmp(&want, &out[i], sizeof want) == 0;
        if (!same && wrong++ < 5)
            test_fail(__FILE__, __LINE__, "half 0x%04x: %g, expected %g", data[2 * i] | data[2 * i + 1] << 8,
                      out[i], want);
    }
    CHECK(et_safetensors_load_f32(&st, "f", out, FLOATS) == ET_OK);
    CHECK(memcmp(out, data + 2 * (HALVES + 3), 4 * FLOATS) == 0);
    free(data);
    free(out);
}
