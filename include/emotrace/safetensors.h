/* .safetensors files: 8-byte little-endian header length, a JSON header
 * mapping tensor names to {dtype, shape, data_offsets} (plus "__metadata__",
 * a string-to-string map), then the raw little-endian tensor data.
 * Reading validates every offset, size, dtype and shape. */
#ifndef EMOTRACE_SAFETENSORS_H
#define EMOTRACE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "emotrace/json.h"

#define ET_ST_MAX_DIMS 8

typedef enum { ET_DTYPE_F32, ET_DTYPE_F16 } et_dtype;

typedef struct {
    char *name;
    et_dtype dtype;
    int ndim;
    int64_t shape[ET_ST_MAX_DIMS];
    size_t begin, end; /* byte range inside the data section */
} et_st_tensor;

typedef struct {
    char *path;
    et_st_tensor *tensors;
    int count;
    et_json *metadata; /* the "__metadata__" object, or NULL */
    et_json *header;
    uint8_t *data;     /* data section */
    size_t data_size;
} et_safetensors;

int et_safetensors_load(et_safetensors *st, const char *path);
void et_safetensors_free(et_safetensors *st);
const et_st_tensor *et_safetensors_find(const et_safetensors *st, const char *name);
/* Metadata value, or NULL. */
const char *et_safetensors_meta(const et_safetensors *st, const char *key);
/* Copies tensor name into dst as float32 (f16 converted). The tensor must
 * exist and hold exactly count elements; errors name the file and tensor. */
int et_safetensors_load_f32(const et_safetensors *st, const char *name, float *dst, size_t count);

typedef struct {
    const char *name;
    const float *data;
    int ndim;
    int64_t shape[ET_ST_MAX_DIMS];
} et_st_write_tensor;

/* Writes float32 tensors and metadata (NULL-terminated key/value pairs)
 * to path atomically (temporary file, fsync, rename). */
int et_safetensors_save(const char *path, const et_st_write_tensor *tensors, int count,
                         const char *const *metadata);

float et_half_to_float(uint16_t h);
uint16_t et_float_to_half(float f);

#endif
