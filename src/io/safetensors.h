// safetensors checkpoints (HF's format): reading with full validation, float conversion, atomic writing.
//
// Layout: an 8-byte little-endian u64 N, N bytes of JSON header
//   {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
// then the byte buffer; offsets are relative to the start of the buffer. os_st_open checks the whole header
// against the file before any tensor byte is touched, so a file that opens can be read without further
// bounds checks. Every failure is one os_fail line naming the file (and the tensor, where there is one).
// Checked: header length (<= 100 MB, inside the file), JSON object without duplicate keys, known dtype,
// shape of non-negative integers, data_offsets [begin, end] with begin <= end <= buffer size and
// end - begin == numel * dtype size (overflow-checked), no two tensors sharing a byte, string-only
// __metadata__. Unlike HF's loader, gaps between tensors and unused trailing bytes are tolerated.
// Assumes a little-endian host (checked at compile time), like the format itself.
#ifndef ONESTONE_IO_SAFETENSORS_H
#define ONESTONE_IO_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum {
    OS_DT_F64,
    OS_DT_F32,
    OS_DT_F16,
    OS_DT_BF16,
    OS_DT_F8_E4M3,
    OS_DT_F8_E5M2,
    OS_DT_I64,
    OS_DT_I32,
    OS_DT_I16,
    OS_DT_I8,
    OS_DT_U64,
    OS_DT_U32,
    OS_DT_U16,
    OS_DT_U8,
    OS_DT_BOOL,
    OS_DT_COUNT
} os_dtype;

// The header spelling ("F32", "BF16", ...); "?" for an out-of-range value.
const char *os_dtype_name(os_dtype dt);
// Bytes per element (0 for an out-of-range value).
size_t os_dtype_size(os_dtype dt);
// Parses a header spelling; returns 0 and sets *dt, or -1 when the name is unknown.
int os_dtype_parse(const char *name, os_dtype *dt);

// One tensor of an open file. Pointers stay valid until os_st_close.
typedef struct {
    const char *name;
    os_dtype dtype;
    int ndim;              // 0 for a scalar; at most 1024
    const int64_t *shape;  // ndim entries, each >= 0 (NULL when ndim == 0)
    size_t numel;          // product of shape (1 for a scalar)
    size_t offset;         // byte offset of the first element in the data buffer
    size_t nbytes;         // numel * os_dtype_size(dtype)
} os_st_tensor;

// An open file. Treat the fields as read-only; use the functions below.
typedef struct {
    char *path;                 // the name used in messages
    const unsigned char *data;  // the byte buffer (after the header)
    size_t data_len;
    os_st_tensor *tensors;      // n_tensors entries, in data-offset order (ties by name)
    size_t n_tensors;
    const os_st_tensor **by_name;  // the tensors sorted by name (for lookup)
    char **meta;                // n_meta (key, value) pairs: meta[2i], meta[2i+1], sorted by key
    size_t n_meta;
    void *base;                 // what backs the bytes (mapping or malloc'd copy; NULL when borrowed)
    size_t base_len;
    int base_kind;              // 0 borrowed, 1 mmap, 2 malloc
} os_safetensors;

// Header length cap, as in HF's implementation.
#define OS_ST_MAX_HEADER 100000000u

// Opens and validates a file (mapped read-only). Missing/unreadable file: OS_ERR_IO; any malformed content:
// OS_ERR_INPUT. On failure *st is left closed (os_st_close is still safe to call).
os_status os_st_open(os_safetensors *st, const char *path);
// Same checks on bytes in memory. The buffer is borrowed: it must outlive *st. `name` labels messages.
os_status os_st_open_memory(os_safetensors *st, const char *name, const void *bytes, size_t len);
// Releases everything; safe on a zeroed or already-closed struct.
void os_st_close(os_safetensors *st);

// The tensor named `name`, or NULL.
const os_st_tensor *os_st_find(const os_safetensors *st, const char *name);
// The value of metadata key `key`, or NULL.
const char *os_st_meta(const os_safetensors *st, const char *key);
// The raw little-endian bytes of a tensor (t->nbytes of them).
const void *os_st_raw(const os_safetensors *st, const os_st_tensor *t);

// Checks that tensor `t` has exactly the shape `shape` (ndim entries): OS_ERR_INPUT naming file, tensor
// and both shapes otherwise.
os_status os_st_check_shape(const os_safetensors *st, const os_st_tensor *t, const int64_t *shape, int ndim);

// Looks up `name`, checks its shape against `shape` (ndim entries) and converts it to float32 into `out`
// (product(shape) floats). Accepts F32, F16, BF16 (exact) and F64 (rounded to nearest; beyond float range
// becomes +-inf). Missing tensor, other shape or non-float dtype: OS_ERR_INPUT naming file and tensor.
os_status os_st_read_f32(const os_safetensors *st, const char *name, float *out, const int64_t *shape, int ndim);
// Converts tensor `t` to float32 without a shape check; `out_len` must equal t->numel.
os_status os_st_tensor_f32(const os_safetensors *st, const os_st_tensor *t, float *out, size_t out_len);
// As os_st_read_f32 for integer tensors (I64, I32, I16, I8, U64, U32, U16, U8, BOOL) into int64;
// a U64 value above INT64_MAX is OS_ERR_INPUT.
os_status os_st_read_i64(const os_safetensors *st, const char *name, int64_t *out, const int64_t *shape,
                         int ndim);

// Exact IEEE half / bfloat16 to float conversions (subnormals, +-0, +-inf and NaN payloads preserved).
float os_f16_to_f32(uint16_t h);
float os_bf16_to_f32(uint16_t b);

// One tensor to write: `data` holds numel little-endian elements of `dtype` (may be NULL when numel is 0).
typedef struct {
    const char *name;
    os_dtype dtype;  // any; typically OS_DT_F32 (weights) or OS_DT_I64 (e.g. position_ids)
    const void *data;
    int ndim;
    const int64_t *shape;
} os_st_entry;

// Writes `n` tensors, in the order given, to `path` atomically (temporary file, fsync, rename).
// `metadata` is NULL or a NULL-terminated list of key, value strings ({"format", "pt", NULL}); when it has
// no "format" key the writer adds "format": "pt" (transformers' from_pretrained requires it). The header is
// padded with spaces to a multiple of 8 bytes so the data starts aligned. Bad entries (duplicate or empty
// name, "__metadata__", negative dimension, non-UTF-8 text): OS_ERR_INPUT; write failure: OS_ERR_IO.
os_status os_st_write(const char *path, const os_st_entry *entries, size_t n, const char *const *metadata);
#endif
