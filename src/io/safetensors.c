// safetensors reading (validate the whole header first, then convert) and atomic writing.
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "util/fileio.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

static const struct {
    const char *name;
    size_t size;
} dtypes[OS_DT_COUNT] = {
    [OS_DT_F64] = {"F64", 8},         [OS_DT_F32] = {"F32", 4},         [OS_DT_F16] = {"F16", 2},
    [OS_DT_BF16] = {"BF16", 2},       [OS_DT_F8_E4M3] = {"F8_E4M3", 1}, [OS_DT_F8_E5M2] = {"F8_E5M2", 1},
    [OS_DT_I64] = {"I64", 8},         [OS_DT_I32] = {"I32", 4},         [OS_DT_I16] = {"I16", 2},
    [OS_DT_I8] = {"I8", 1},           [OS_DT_U64] = {"U64", 8},         [OS_DT_U32] = {"U32", 4},
    [OS_DT_U16] = {"U16", 2},         [OS_DT_U8] = {"U8", 1},           [OS_DT_BOOL] = {"BOOL", 1},
};

const char *os_dtype_name(os_dtype dt) { return (unsigned)dt < OS_DT_COUNT ? dtypes[dt].name : "?"; }

size_t os_dtype_size(os_dtype dt) { return (unsigned)dt < OS_DT_COUNT ? dtypes[dt].size : 0; }

int os_dtype_parse(const char *name, os_dtype *dt) {
    for (int i = 0; i < OS_DT_COUNT; i++)
        if (!strcmp(name, dtypes[i].name)) {
            *dt = (os_dtype)i;
            return 0;
        }
    return -1;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

void os_st_close(os_safetensors *st) {
    if (st->tensors)
        for (size_t i = 0; i < st->n_tensors; i++) {
            free((char *)st->tensors[i].name);
            free((int64_t *)st->tensors[i].shape);
        }
    if (st->meta)
        for (size_t i = 0; i < 2 * st->n_meta; i++) free(st->meta[i]);
    if (st->base_kind == 1 && st->base) munmap(st->base, st->base_len);
    if (st->base_kind == 2) free(st->base);
    free(st->tensors);
    free((void *)st->by_name);
    free(st->meta);
    free(st->path);
    memset(st, 0, sizeof *st);
}

// A short rendering of a JSON value for messages ("abc", 3.5, [1, 2], ...).
static void json_brief(const json_t *v, char *buf, size_t size) {
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (!s) {
        snprintf(buf, size, "%s", v ? "?" : "nothing");
        return;
    }
    if (strlen(s) >= size && size > 4) {
        memcpy(buf, s, size - 4);
        memcpy(buf + size - 4, "...", 4);
    } else {
        snprintf(buf, size, "%s", s);
    }
    free(s);
}

// A JSON value that is a non-negative integer (reals such as 3.0 are not: HF parses these as usize).
static int json_uint(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return 0;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static int cmp_offset(const void *a, const void *b) {
    const os_st_tensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_name_ptr(const void *a, const void *b) {
    return strcmp((*(const os_st_tensor *const *)a)->name, (*(const os_st_tensor *const *)b)->name);
}

static int cmp_meta(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Fills one tensor record from its header entry, checking every field against the data buffer.
static os_status parse_entry(const os_safetensors *st, const char *name, const json_t *e, os_st_tensor *t) {
    const char *p = st->path;
    char got[64];
    if (!json_is_object(e)) {
        json_brief(e, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': header entry must be an object with dtype, shape and "
                       "data_offsets, got %s", p, name, got);
    }
    const json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"),
                 *jo = json_object_get(e, "data_offsets");
    if (!json_is_string(jd)) {
        json_brief(jd, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': 'dtype' must be a string such as \"F32\", got %s", p,
                       name, got);
    }
    if (os_dtype_parse(json_string_value(jd), &t->dtype) != 0) {
        json_brief(jd, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': unknown dtype %s (known: F64 F32 F16 BF16 F8_E4M3 "
                       "F8_E5M2 I64 I32 I16 I8 U64 U32 U16 U8 BOOL)", p, name, got);
    }
    if (!json_is_array(js)) {
        json_brief(js, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': 'shape' must be an array of non-negative integers, "
                       "got %s", p, name, got);
    }
    size_t ndim = json_array_size(js);
    if (ndim > 1024)
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': shape has %zu dimensions (more than 1024)", p, name, ndim);
    t->ndim = (int)ndim;
    int64_t *shape = ndim ? malloc(ndim * sizeof *shape) : NULL;
    if (ndim && !shape) return os_fail(OS_ERR_NOMEM, "%s: out of memory reading the header", p);
    t->shape = shape;
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t d = 0; d < ndim; d++) {
        uint64_t dim;
        if (!json_uint(json_array_get(js, d), &dim)) {
            json_brief(json_array_get(js, d), got, sizeof got);
            return os_fail(OS_ERR_INPUT, "%s: tensor '%s': shape[%zu] must be a non-negative integer, got %s",
                           p, name, d, got);
        }
        shape[d] = (int64_t)dim;
        if (!overflow && __builtin_mul_overflow(numel, dim, &numel)) overflow = 1;
    }
    uint64_t span;
    if (overflow || numel > SIZE_MAX || __builtin_mul_overflow(numel, (uint64_t)dtypes[t->dtype].size, &span)) {
        json_brief(js, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': shape %s is too large (element count overflows)", p,
                       name, got);
    }
    t->numel = (size_t)numel;
    uint64_t begin, end;
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_uint(json_array_get(jo, 0), &begin) ||
        !json_uint(json_array_get(jo, 1), &end)) {
        json_brief(jo, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': 'data_offsets' must be [begin, end] with non-negative "
                       "integers, got %s", p, name, got);
    }
    if (begin > end)
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': data_offsets [%llu, %llu] have begin > end", p, name,
                       (unsigned long long)begin, (unsigned long long)end);
    if (end > st->data_len)
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': data_offsets [%llu, %llu] exceed the %zu-byte data "
                       "buffer (file truncated?)", p, name, (unsigned long long)begin,
                       (unsigned long long)end, st->data_len);
    if (end - begin != span) {
        json_brief(js, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s': data_offsets [%llu, %llu] span %llu bytes but shape %s "
                       "of %s needs %llu", p, name, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)(end - begin), got, dtypes[t->dtype].name,
                       (unsigned long long)span);
    }
    t->offset = (size_t)begin;
    t->nbytes = (size_t)span;
    return OS_OK;
}

static os_status parse_metadata(os_safetensors *st, const json_t *m) {
    const char *p = st->path;
    char got[64];
    if (json_is_null(m)) return OS_OK;
    if (!json_is_object(m)) {
        json_brief(m, got, sizeof got);
        return os_fail(OS_ERR_INPUT, "%s: '__metadata__' must be an object of strings, got %s", p, got);
    }
    size_t n = json_object_size(m);
    st->meta = calloc(2 * n + 1, sizeof *st->meta);
    if (!st->meta) return os_fail(OS_ERR_NOMEM, "%s: out of memory reading the header", p);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)m, key, v) {
        if (!json_is_string(v)) {
            json_brief(v, got, sizeof got);
            return os_fail(OS_ERR_INPUT, "%s: '__metadata__' key '%s' must have a string value, got %s", p, key,
                           got);
        }
        char *k = strdup(key), *s = strdup(json_string_value(v));
        st->meta[2 * st->n_meta] = k;
        st->meta[2 * st->n_meta + 1] = s;
        st->n_meta++;
        if (!k || !s) return os_fail(OS_ERR_NOMEM, "%s: out of memory reading the header", p);
    }
    qsort(st->meta, st->n_meta, 2 * sizeof *st->meta, cmp_meta);
    return OS_OK;
}

// Validates the `len` bytes of a whole file at `bytes` and fills *st (st->path already set).
static os_status parse_file(os_safetensors *st, const unsigned char *bytes, size_t len) {
    const char *p = st->path;
    if (len < 8)
        return os_fail(OS_ERR_INPUT, "%s: file is %zu bytes, too short for a safetensors file (the 8-byte "
                       "header length alone is missing)", p, len);
    uint64_t n;
    memcpy(&n, bytes, 8);
    if (n > OS_ST_MAX_HEADER)
        return os_fail(OS_ERR_INPUT, "%s: header length %llu exceeds the %u-byte limit (not a safetensors "
                       "file?)", p, (unsigned long long)n, OS_ST_MAX_HEADER);
    if (n > len - 8)
        return os_fail(OS_ERR_INPUT, "%s: header length %llu runs past the end of the %zu-byte file "
                       "(truncated, or not a safetensors file?)", p, (unsigned long long)n, len);
    st->data = bytes + 8 + n;
    st->data_len = len - 8 - (size_t)n;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)bytes + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_duplicate_key) {
            const char *near = strstr(jerr.text, "near ");
            return os_fail(OS_ERR_INPUT, "%s: header names a tensor twice (duplicate key %s); each name must "
                           "appear once", p, near ? near + 5 : jerr.text);
        }
        return os_fail(OS_ERR_INPUT, "%s: header is not valid JSON (%s, at byte %d of the header)", p, jerr.text,
                       jerr.position);
    }
    os_status rc = OS_OK;
    if (!json_is_object(root)) {
        char got[64];
        json_brief(root, got, sizeof got);
        rc = os_fail(OS_ERR_INPUT, "%s: header must be a JSON object of tensors, got %s", p, got);
        goto done;
    }
    size_t cap = json_object_size(root);
    st->tensors = calloc(cap ? cap : 1, sizeof *st->tensors);
    st->by_name = calloc(cap ? cap : 1, sizeof *st->by_name);
    if (!st->tensors || !st->by_name) {
        rc = os_fail(OS_ERR_NOMEM, "%s: out of memory reading the header", p);
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            if ((rc = parse_metadata(st, v))) goto done;
            continue;
        }
        os_st_tensor *t = &st->tensors[st->n_tensors++];
        t->name = strdup(key);
        if (!t->name) {
            rc = os_fail(OS_ERR_NOMEM, "%s: out of memory reading the header", p);
            goto done;
        }
        if ((rc = parse_entry(st, key, v, t))) goto done;
    }
    // No two tensors may share a byte (empty tensors occupy none).
    qsort(st->tensors, st->n_tensors, sizeof *st->tensors, cmp_offset);
    const os_st_tensor *reach = NULL;  // the tensor ending furthest so far
    for (size_t i = 0; i < st->n_tensors; i++) {
        const os_st_tensor *t = &st->tensors[i];
        if (!t->nbytes) continue;
        if (reach && t->offset < reach->offset + reach->nbytes) {
            rc = os_fail(OS_ERR_INPUT, "%s: tensors '%s' [%zu, %zu] and '%s' [%zu, %zu] overlap in the data "
                         "buffer (corrupt header)", p, reach->name, reach->offset, reach->offset + reach->nbytes,
                         t->name, t->offset, t->offset + t->nbytes);
            goto done;
        }
        if (!reach || t->offset + t->nbytes > reach->offset + reach->nbytes) reach = t;
    }
    for (size_t i = 0; i < st->n_tensors; i++) st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, st->n_tensors, sizeof *st->by_name, cmp_name_ptr);
done:
    json_decref(root);
    return rc;
}

static os_status set_path(os_safetensors *st, const char *path) {
    memset(st, 0, sizeof *st);
    st->path = strdup(path);
    return st->path ? OS_OK : os_fail(OS_ERR_NOMEM, "out of memory");
}

os_status os_st_open_memory(os_safetensors *st, const char *name, const void *bytes, size_t len) {
    os_status rc = set_path(st, name);
    if (rc) return rc;
    rc = parse_file(st, bytes, len);
    if (rc) os_st_close(st);
    return rc;
}

os_status os_st_open(os_safetensors *st, const char *path) {
    os_status rc = set_path(st, path);
    if (rc) return rc;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // O_NONBLOCK: a FIFO must not hang us
    if (fd < 0) {
        rc = os_fail(OS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        rc = os_fail(OS_ERR_IO, "%s: not a readable regular file", path);
        goto fail;
    }
    size_t len = (size_t)sb.st_size;
    if (len >= 8) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            st->base = m;
            st->base_len = len;
            st->base_kind = 1;
        }
    }
    close(fd);
    if (!st->base) {  // tiny file or no mmap support here: read it instead
        char *buf;
        if ((rc = os_read_file(path, &buf, &len))) goto fail;
        st->base = buf;
        st->base_len = len;
        st->base_kind = 2;
    }
    if ((rc = parse_file(st, st->base, len))) goto fail;
    return OS_OK;
fail:
    os_st_close(st);
    return rc;
}

const os_st_tensor *os_st_find(const os_safetensors *st, const char *name) {
    size_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const os_st_tensor *t = st->by_name[mid];
        int c = strcmp(name, t->name);
        if (!c) return t;
        if (c < 0) hi = mid; else lo = mid + 1;
    }
    return NULL;
}

const char *os_st_meta(const os_safetensors *st, const char *key) {
    size_t lo = 0, hi = st->n_meta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, st->meta[2 * mid]);
        if (!c) return st->meta[2 * mid + 1];
        if (c < 0) hi = mid; else lo = mid + 1;
    }
    return NULL;
}

const void *os_st_raw(const os_safetensors *st, const os_st_tensor *t) { return st->data + t->offset; }

// "[768, 3072]" into buf.
static void shape_str(char *buf, size_t size, const int64_t *shape, int ndim) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

os_status os_st_check_shape(const os_safetensors *st, const os_st_tensor *t, const int64_t *shape, int ndim) {
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (same) return OS_OK;
    char have[128], want[128];
    shape_str(have, sizeof have, t->shape, t->ndim);
    shape_str(want, sizeof want, shape, ndim);
    return os_fail(OS_ERR_INPUT, "%s: tensor '%s' has shape %s, expected %s (checkpoint made for another "
                   "model size?)", st->path, t->name, have, want);
}

static os_status find_checked(const os_safetensors *st, const char *name, const int64_t *shape, int ndim,
                              const os_st_tensor **out) {
    const os_st_tensor *t = os_st_find(st, name);
    if (!t)
        return os_fail(OS_ERR_INPUT, "%s: no tensor '%s' (the file has %zu tensors; wrong checkpoint or model "
                       "type?)", st->path, name, st->n_tensors);
    *out = t;
    return os_st_check_shape(st, t, shape, ndim);
}

float os_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);  // inf, or NaN with its payload
    } else if (exp) {
        bits = sign | ((exp + 112) << 23) | (mant << 13);  // rebias 15 -> 127
    } else if (mant) {
        // Subnormal: mant * 2^-24. Shift the leading one up to the implicit bit, adjusting the exponent.
        int e = 113;  // exponent field of 2^-14
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        bits = sign | ((uint32_t)e << 23) | ((mant & 0x3ffu) << 13);
    } else {
        bits = sign;  // +-0
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float os_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// Nearest float to a double, with overflow to +-inf defined (a plain cast out of range is undefined in C).
static float f64_to_f32(double d) {
    if (isfinite(d) && fabs(d) >= 0x1.ffffffp+127) return d < 0 ? -INFINITY : INFINITY;
    return (float)d;
}

os_status os_st_tensor_f32(const os_safetensors *st, const os_st_tensor *t, float *out, size_t out_len) {
    if (out_len != t->numel)
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s' has %zu elements but the destination holds %zu", st->path,
                       t->name, t->numel, out_len);
    const unsigned char *src = os_st_raw(st, t);
    size_t n = t->numel;
    switch (t->dtype) {
    case OS_DT_F32:
        if (n) memcpy(out, src, n * 4);
        return OS_OK;
    case OS_DT_F16:
    case OS_DT_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            out[i] = t->dtype == OS_DT_F16 ? os_f16_to_f32(h) : os_bf16_to_f32(h);
        }
        return OS_OK;
    case OS_DT_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            out[i] = f64_to_f32(d);
        }
        return OS_OK;
    default:
        return os_fail(OS_ERR_INPUT, "%s: tensor '%s' has dtype %s, which cannot be read as float32 (supported: "
                       "F32, F16, BF16, F64)", st->path, t->name, os_dtype_name(t->dtype));
    }
}

os_status os_st_read_f32(const os_safetensors *st, const char *name, float *out, const int64_t *shape, int ndim) {
    const os_st_tensor *t = NULL;
    os_status rc = find_checked(st, name, shape, ndim, &t);
    return rc ? rc : os_st_tensor_f32(st, t, out, t->numel);
}

os_status os_st_read_i64(const os_safetensors *st, const char *name, int64_t *out, const int64_t *shape,
                         int ndim) {
    const os_st_tensor *t = NULL;
    os_status rc = find_checked(st, name, shape, ndim, &t);
    if (rc) return rc;
    const unsigned char *src = os_st_raw(st, t);
    for (size_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case OS_DT_I64: memcpy(&out[i], src + 8 * i, 8); break;
        case OS_DT_I32: { int32_t v; memcpy(&v, src + 4 * i, 4); out[i] = v; break; }
        case OS_DT_I16: { int16_t v; memcpy(&v, src + 2 * i, 2); out[i] = v; break; }
        case OS_DT_I8: out[i] = (int8_t)src[i]; break;
        case OS_DT_U32: { uint32_t v; memcpy(&v, src + 4 * i, 4); out[i] = v; break; }
        case OS_DT_U16: { uint16_t v; memcpy(&v, src + 2 * i, 2); out[i] = v; break; }
        case OS_DT_U8: out[i] = src[i]; break;
        case OS_DT_BOOL: out[i] = src[i] != 0; break;
        case OS_DT_U64: {
            uint64_t v;
            memcpy(&v, src + 8 * i, 8);
            if (v > INT64_MAX)
                return os_fail(OS_ERR_INPUT, "%s: tensor '%s': element %zu (%llu) does not fit in int64",
                               st->path, t->name, i, (unsigned long long)v);
            out[i] = (int64_t)v;
            break;
        }
        default:
            return os_fail(OS_ERR_INPUT, "%s: tensor '%s' has dtype %s, which cannot be read as integers "
                           "(supported: I64 I32 I16 I8 U64 U32 U16 U8 BOOL)", st->path, t->name,
                           os_dtype_name(t->dtype));
        }
    }
    return OS_OK;
}

// ---------------------------------------------------------------------------------------------------------
// Writing

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// Checks names are present, non-empty, not reserved and unique.
static os_status check_entry_names(const char *path, const os_st_entry *e, size_t n) {
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names) return os_fail(OS_ERR_NOMEM, "%s: out of memory", path);
    os_status rc = OS_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        names[i] = e[i].name;
        if (!e[i].name || !e[i].name[0] || !strcmp(e[i].name, "__metadata__"))
            rc = os_fail(OS_ERR_INPUT, "%s: entry %zu has %s name '%s'; give each tensor a unique name", path, i,
                         e[i].name && e[i].name[0] ? "the reserved" : "an empty", e[i].name ? e[i].name : "");
    }
    if (!rc) {
        qsort(names, n, sizeof *names, cmp_str_ptr);
        for (size_t i = 1; i < n && !rc; i++)
            if (!strcmp(names[i - 1], names[i]))
                rc = os_fail(OS_ERR_INPUT, "%s: tensor '%s' is listed twice; each name must appear once", path,
                             names[i]);
    }
    free(names);
    return rc;
}

// Builds the header object; *sizes gets each entry's byte count.
static os_status build_header(const char *path, const os_st_entry *e, size_t n, const char *const *metadata,
                              size_t *sizes, json_t **out) {
    json_t *root = json_object(), *meta = json_object();
    os_status rc = OS_OK;
    if (!root || !meta) {
        rc = os_fail(OS_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (size_t i = 0; metadata && metadata[i]; i += 2) {
        if (!metadata[i + 1]) {
            rc = os_fail(OS_ERR_INPUT, "%s: metadata key '%s' has no value", path, metadata[i]);
            goto fail;
        }
        if (json_object_get(meta, metadata[i]) ||
            json_object_set_new(meta, metadata[i], json_string(metadata[i + 1]))) {
            rc = os_fail(OS_ERR_INPUT, "%s: metadata key '%s' is repeated or is not UTF-8 text", path,
                         metadata[i]);
            goto fail;
        }
    }
    if (!json_object_get(meta, "format")) json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(root, "__metadata__", meta);
    meta = NULL;
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = e[i].name;
        if ((unsigned)e[i].dtype >= OS_DT_COUNT || e[i].ndim < 0 || (e[i].ndim > 0 && !e[i].shape)) {
            rc = os_fail(OS_ERR_INPUT, "%s: tensor '%s': bad dtype or shape description", path, name);
            goto fail;
        }
        json_t *shape = json_array();
        uint64_t numel = 1;
        int bad = !shape;
        for (int d = 0; d < e[i].ndim && !bad; d++) {
            bad = e[i].shape[d] < 0 || __builtin_mul_overflow(numel, (uint64_t)e[i].shape[d], &numel) ||
                  json_array_append_new(shape, json_integer(e[i].shape[d]));
        }
        uint64_t nbytes = 0;
        bad = bad || __builtin_mul_overflow(numel, (uint64_t)dtypes[e[i].dtype].size, &nbytes) ||
              nbytes > SIZE_MAX || __builtin_add_overflow(offset, nbytes, &offset) || offset > INT64_MAX ||
              (nbytes && !e[i].data);
        json_t *entry = bad ? NULL : json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtypes[e[i].dtype].name,
                                                "shape", shape, "data_offsets", (json_int_t)(offset - nbytes),
                                                (json_int_t)offset);
        if (!entry) {  // json_pack took `shape` even on failure only when it got that far; bad means it did not
            if (bad) json_decref(shape);
            rc = os_fail(OS_ERR_INPUT, "%s: tensor '%s': negative or overflowing shape, missing data, or a name "
                         "that is not UTF-8 text", path, name);
            goto fail;
        }
        if (json_object_set_new(root, name, entry)) {
            rc = os_fail(OS_ERR_INPUT, "%s: tensor '%s': name is not UTF-8 text", path, name);
            goto fail;
        }
        sizes[i] = (size_t)nbytes;
    }
    *out = root;
    return OS_OK;
fail:
    json_decref(meta);
    json_decref(root);
    return rc;
}

os_status os_st_write(const char *path, const os_st_entry *entries, size_t n, const char *const *metadata) {
    os_status rc = check_entry_names(path, entries, n);
    if (rc) return rc;
    size_t *sizes = malloc((n ? n : 1) * sizeof *sizes);
    if (!sizes) return os_fail(OS_ERR_NOMEM, "%s: out of memory", path);
    json_t *root = NULL;
    char *text = NULL;
    if ((rc = build_header(path, entries, n, metadata, sizes, &root))) goto done;
    text = json_dumps(root, JSON_COMPACT);
    if (!text) {
        rc = os_fail(OS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t len = strlen(text);
    size_t padded = (len + 7) & ~(size_t)7;
    if (padded > OS_ST_MAX_HEADER) {
        rc = os_fail(OS_ERR_INPUT, "%s: header would be %zu bytes, over the %u-byte limit", path, padded,
                     OS_ST_MAX_HEADER);
        goto done;
    }
    os_atomic_file f;
    if ((rc = os_atomic_open(&f, path))) goto done;
    uint64_t n64 = padded;
    os_atomic_write(&f, &n64, 8);
    os_atomic_write(&f, text, len);
    os_atomic_write(&f, "        ", padded - len);
    for (size_t i = 0; i < n; i++) os_atomic_write(&f, entries[i].data, sizes[i]);
    rc = os_atomic_commit(&f);
done:
    free(text);
    json_decref(root);
    free(sizes);
    return rc;
}
