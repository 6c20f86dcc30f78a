/* Reading and writing .safetensors files, validating everything we read. */
#include "emotrace/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emotrace/error.h"

/* Headers beyond this are not weights files of ours (or are hostile). */
#define ST_MAX_HEADER (64u << 20)

float et_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exponent = (h >> 10) & 31, mantissa = h & 1023;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exponent = 127 - 15 + 1;
            while (!(mantissa & 1024)) {
                mantissa <<= 1;
                exponent--;
            }
            bits = sign | exponent << 23 | (mantissa & 1023) << 13;
        }
    } else if (exponent == 31) {
        bits = sign | 0xFFu << 23 | mantissa << 13;
    } else {
        bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t et_float_to_half(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    int32_t exponent = (int32_t)((bits >> 23) & 255) - 127 + 15;
    uint32_t mantissa = bits & 0x7FFFFF;
    if (((bits >> 23) & 255) == 255)
        return (uint16_t)(sign | 0x7C00 | (mantissa ? 0x200 : 0));
    if (exponent >= 31)
        return (uint16_t)(sign | 0x7C00);
    if (exponent <= 0) {
        if (exponent < -10)
            return sign;
        mantissa |= 0x800000;
        uint32_t shift = (uint32_t)(14 - exponent);
        uint32_t half = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rest > mid || (rest == mid && (half & 1)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = (uint32_t)exponent << 10 | mantissa >> 13, rest = mantissa & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
        half++; /* may carry into the exponent, which is the right rounding */
    return (uint16_t)(sign | half);
}

static int read_all(const char *path, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return et_error_set(ET_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return et_error_set(ET_ERR_IO, "%s: not a regular file", path);
    }
    size_t total = (size_t)st.st_size;
    uint8_t *buffer = malloc(total ? total : 1);
    if (!buffer) {
        close(fd);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, total);
    }
    size_t got = 0;
    while (got < total) {
        ssize_t n = read(fd, buffer + got, total - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            free(buffer);
            close(fd);
            return et_error_set(ET_ERR_IO, "%s: read error", path);
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buffer;
    *size = total;
    return ET_OK;
}


static int parse_tensor(et_safetensors *st, const et_json *entry, et_st_tensor *t, size_t data_size)
{
    const char *path = st->path;
    const char *dtype = et_json_get_string(entry, "dtype", NULL);
    const et_json *shape = et_json_get(entry, "shape");
    const et_json *offsets = et_json_get(entry, "data_offsets");
    size_t element;
    if (!dtype)
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' has no dtype", path, entry->key);
    if (!strcmp(dtype, "F32")) {
        t->dtype = ET_DTYPE_F32;
        element = 4;
    } else if (!strcmp(dtype, "F16")) {
        t->dtype = ET_DTYPE_F16;
        element = 2;
    } else {
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' has unsupported dtype '%s' (F32 and F16 load)",
                            path, entry->key, dtype);
    }
    if (!shape || shape->type != ET_JSON_ARRAY || shape->count > ET_ST_MAX_DIMS)
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' has no valid shape", path, entry->key);
    size_t count = 1;
    t->ndim = shape->count;
    int i = 0;
    for (const et_json *d = shape->child; d; d = d->next, i++) {
        if (d->type != ET_JSON_NUMBER || d->number < 0 || d->number > (double)INT_MAX ||
            d->number != (double)(int64_t)d->number)
            return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' has a bad dimension", path, entry->key);
        t->shape[i] = (int64_t)d->number;
        if (t->shape[i] && count > SIZE_MAX / 8 / (size_t)t->shape[i])
            return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' is impossibly large", path, entry->key);
        count *= (size_t)t->shape[i];
    }
    if (!offsets || offsets->type != ET_JSON_ARRAY || offsets->count != 2)
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' has no valid data_offsets", path, entry->key);
    double b = offsets->child->number, e = offsets->child->next->number;
    if (offsets->child->type != ET_JSON_NUMBER || offsets->child->next->type != ET_JSON_NUMBER || b < 0 ||
        e < b || b != floor(b) || e != floor(e))
        return et_error_set(ET_ERR_FORMAT,
                            "%s: tensor '%s' data_offsets must be two whole numbers [begin, end], begin <= end",
                            path, entry->key);
    /* Compared as doubles before any conversion: a huge offset must not wrap. */
    if (e > (double)data_size)
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' data_offsets [%.15g, %.15g] lie outside the %zu data bytes",
                            path, entry->key, b, e, data_size);
    t->begin = (size_t)b;
    t->end = (size_t)e;
    if (t->end - t->begin != count * element)
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' holds %zu bytes but its shape needs %zu", path,
                            entry->key, t->end - t->begin, count * element);
    t->name = strdup(entry->key);
    if (!t->name)
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    return ET_OK;
}

int et_safetensors_load(et_safetensors *st, const char *path)
{
    memset(st, 0, sizeof *st);
    uint8_t *bytes = NULL;
    size_t size = 0;
    int rc = read_all(path, &bytes, &size);
    if (rc != ET_OK)
        return rc;
    st->path = strdup(path);
    if (!st->path) {
        free(bytes);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
    }
    if (size < 8) {
        rc = et_error_set(ET_ERR_FORMAT, "%s: too short for a safetensors file (%zu bytes)", path, size);
        goto fail;
    }
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = header_len << 8 | bytes[i];
    if (header_len > ST_MAX_HEADER || header_len > size - 8) {
        rc = et_error_set(ET_ERR_FORMAT, "%s: header length %llu exceeds the file (%zu bytes): truncated or not safetensors",
                          path, (unsigned long long)header_len, size);
        goto fail;
    }
    rc = et_json_parse((const char *)bytes + 8, (size_t)header_len, &st->header);
    if (rc != ET_OK) {
        rc = et_error_wrap(rc, "%s: header: ", path);
        goto fail;
    }
    if (st->header->type != ET_JSON_OBJECT) {
        rc = et_error_set(ET_ERR_FORMAT, "%s: header is not a JSON object", path);
        goto fail;
    }
    st->data_size = size - 8 - (size_t)header_len;
    st->tensors = calloc((size_t)st->header->count + 1, sizeof *st->tensors);
    if (!st->tensors) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (const et_json *entry = st->header->child; entry; entry = entry->next) {
        if (!strcmp(entry->key, "__metadata__")) {
            if (entry->type != ET_JSON_OBJECT) {
                rc = et_error_set(ET_ERR_FORMAT, "%s: __metadata__ is not an object", path);
                goto fail;
            }
            for (const et_json *m = entry->child; m; m = m->next)
                if (m->type != ET_JSON_STRING) {
                    rc = et_error_set(ET_ERR_FORMAT, "%s: metadata '%s' is not a string", path, m->key);
                    goto fail;
                }
            st->metadata = (et_json *)entry;
            continue;
        }
        if (entry->type != ET_JSON_OBJECT) {
            rc = et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' is not described by an object", path, entry->key);
            goto fail;
        }
        rc = parse_tensor(st, entry, &st->tensors[st->count], st->data_size);
        if (rc != ET_OK)
            goto fail;
        st->count++;
    }
    /* Keep only the data section. */
    st->data = malloc(st->data_size ? st->data_size : 1);
    if (!st->data) {
        rc = et_error_set(ET_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    memcpy(st->data, bytes + 8 + header_len, st->data_size);
    free(bytes);
    return ET_OK;
fail:
    free(bytes);
    et_safetensors_free(st);
    return rc;
}

void et_safetensors_free(et_safetensors *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->count; i++)
        free(st->tensors[i].name);
    free(st->tensors);
    et_json_free(st->header);
    free(st->data);
    free(st->path);
    memset(st, 0, sizeof *st);
}

const et_st_tensor *et_safetensors_find(const et_safetensors *st, const char *name)
{
    for (int i = 0; i < st->count; i++)
        if (!strcmp(st->tensors[i].name, name))
            return &st->tensors[i];
    return NULL;
}

const char *et_safetensors_meta(const et_safetensors *st, const char *key)
{
    return et_json_get_string(st->metadata, key, NULL);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_F16C_CODE 1
/* Little-endian halves to floats by F16C's vcvtph2ps, 8 at a time (exact,
 * as et_half_to_float is; a signalling NaN comes out quiet). Run only
 * where the CPU has AVX2, which every CPU with AVX2 pairs with F16C. */
__attribute__((target("avx,f16c"))) static void halves_to_floats_f16c(const uint8_t *src, float *dst, size_t count)
{
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 2 * i))));
    for (; i < count; i++)
        dst[i] = et_half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
}
#endif

int et_safetensors_load_f32(const et_safetensors *st, const char *name, float *dst, size_t count)
{
    const et_st_tensor *t = et_safetensors_find(st, name);
    if (!t)
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' is missing", st->path, name);
    size_t element = t->dtype == ET_DTYPE_F32 ? 4 : 2;
    size_t have = (t->end - t->begin) / element;
    if (have != count)
        return et_error_set(ET_ERR_FORMAT, "%s: tensor '%s' has %zu values, expected %zu", st->path, name,
                            have, count);
    const uint8_t *src = st->data + t->begin;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The file's little-endian floats are this machine's: one copy (the
     * loop below takes 5 times longer over a net's weights). */
    if (t->dtype == ET_DTYPE_F32) {
        memcpy(dst, src, count * sizeof *dst);
        return ET_OK;
    }
#endif
#ifdef HAVE_F16C_CODE
    /* The face embedder's 5.6 million halves took about 15 ms one by one. */
    if (t->dtype != ET_DTYPE_F32 && __builtin_cpu_supports("avx2")) {
        halves_to_floats_f16c(src, dst, count);
        return ET_OK;
    }
#endif
    for (size_t i = 0; i < count; i++) {
        if (t->dtype == ET_DTYPE_F32) {
            uint32_t bits = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                            (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
            memcpy(&dst[i], &bits, sizeof bits);
        } else {
            dst[i] = et_half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        }
    }
    return ET_OK;
}

static int write_fully(int fd, const void *data, size_t size)
{
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

int et_safetensors_save(const char *path, const et_st_write_tensor *tensors, int count,
                         const char *const *metadata)
{
    et_strbuf header = {0};
    size_t offset = 0;
    et_strbuf_append(&header, "{", 1);
    if (metadata && metadata[0]) {
        et_strbuf_json_string(&header, "__metadata__");
        et_strbuf_append(&header, ":{", 2);
        for (int i = 0; metadata[i]; i += 2) {
            if (i)
                et_strbuf_append(&header, ",", 1);
            et_strbuf_json_string(&header, metadata[i]);
            et_strbuf_append(&header, ":", 1);
            et_strbuf_json_string(&header, metadata[i + 1] ? metadata[i + 1] : "");
        }
        et_strbuf_append(&header, "}", 1);
    }
    for (int i = 0; i < count; i++) {
        size_t elements = 1;
        if (header.length > 1)
            et_strbuf_append(&header, ",", 1);
        et_strbuf_json_string(&header, tensors[i].name);
        static const char dtype_shape[] = ":{\"dtype\":\"F32\",\"shape\":[";
        et_strbuf_append(&header, dtype_shape, sizeof dtype_shape - 1);
        for (int d = 0; d < tensors[i].ndim; d++) {
            et_strbuf_printf(&header, "%s%lld", d ? "," : "", (long long)tensors[i].shape[d]);
            elements *= (size_t)tensors[i].shape[d];
        }
        et_strbuf_printf(&header, "],\"data_offsets\":[%zu,%zu]}", offset, offset + elements * 4);
        offset += elements * 4;
    }
    et_strbuf_append(&header, "}", 1);
    /* Pad the header with spaces so that the data starts 8-byte aligned. */
    while ((header.length + 8) % 8)
        et_strbuf_append(&header, " ", 1);
    if (header.failed) {
        et_strbuf_free(&header);
        return et_error_set(ET_ERR_NOMEM, "%s: out of memory building header", path);
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        et_strbuf_free(&header);
        return et_error_set(ET_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)header.length >> (8 * i));
    int failed = write_fully(fd, len, 8) || write_fully(fd, header.data, header.length);
    for (int i = 0; !failed && i < count; i++) {
        size_t elements = 1;
        for (int d = 0; d < tensors[i].ndim; d++)
            elements *= (size_t)tensors[i].shape[d];
        /* Little-endian float32 is the host layout on the machines we build for. */
        failed = write_fully(fd, tensors[i].data, elements * 4);
    }
    int saved_errno = errno;
    if (!failed && fsync(fd) != 0) {
        failed = 1;
        saved_errno = errno;
    }
    if (close(fd) != 0 && !failed) {
        failed = 1;
        saved_errno = errno;
    }
    et_strbuf_free(&header);
    if (failed) {
        unlink(tmp);
        return et_error_set(ET_ERR_IO, "%s: write failed: %s", path, strerror(saved_errno));
    }
    if (rename(tmp, path) != 0) {
        saved_errno = errno;
        unlink(tmp);
        return et_error_set(ET_ERR_IO, "%s: cannot replace: %s", path, strerror(saved_errno));
    }
    return ET_OK;
}
