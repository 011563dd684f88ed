// safetensors: round trip, dtype conversions on exact bit patterns, a table of malformed files, writer
// errors, and interop with PyTorch (tests/ref/safetensors_ref.py) when /usr/bin/python3 has torch.
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/safetensors.h"
#include "util/error.h"
#include "util/fileio.h"

static char tmp_path[512];

// A scratch file path unique to this process.
static const char *scratch(const char *name) {
    os_mkdirs(th_tmpdir());
    snprintf(tmp_path, sizeof tmp_path, "%s/st_%d_%s", th_tmpdir(), (int)getpid(), name);
    return tmp_path;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// Bytes of a file: the u64 header length, the header text, then `data_len` bytes of `data`.
static size_t make_file(unsigned char *buf, size_t cap, const char *header, const void *data, size_t data_len) {
    uint64_t n = strlen(header);
    size_t len = 8 + (size_t)n + data_len;
    if (len > cap) return 0;
    memcpy(buf, &n, 8);
    memcpy(buf + 8, header, (size_t)n);
    if (data_len) memcpy(buf + 8 + n, data, data_len);
    return len;
}

// The sample file (also what tests/ref/safetensors_ref.py expects): w (2,3) = i/2 - 1, a 0-d scalar 3.25, an
// empty (0,4) tensor and I64 position_ids (1,5) = 0..4, plus a "note" metadata entry.
static float sample_w[6] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}, sample_scalar = 3.25f;
static int64_t sample_pos[5] = {0, 1, 2, 3, 4};
static const int64_t w_shape[2] = {2, 3}, empty_shape[2] = {0, 4}, pos_shape[2] = {1, 5};

static os_status write_sample(const char *path) {
    const os_st_entry entries[] = {
        {"w", OS_DT_F32, sample_w, 2, w_shape},
        {"scalar", OS_DT_F32, &sample_scalar, 0, NULL},
        {"empty", OS_DT_F32, NULL, 2, empty_shape},
        {"position_ids", OS_DT_I64, sample_pos, 2, pos_shape},
    };
    const char *meta[] = {"note", "written by onestone", NULL};
    return os_st_write(path, entries, 4, meta);
}

static void test_round_trip(void) {
    const char *path = scratch("round.safetensors");
    CHECK(write_sample(path) == OS_OK);

    // Header padded to a multiple of 8 and starting with '{'.
    char *raw;
    size_t raw_len;
    CHECK(os_read_file(path, &raw, &raw_len) == OS_OK);
    uint64_t hn;
    memcpy(&hn, raw, 8);
    CHECK(hn % 8 == 0 && raw[8] == '{');
    CHECK(raw_len == 8 + hn + 6 * 4 + 4 + 5 * 8);
    free(raw);

    os_safetensors st;
    CHECK(os_st_open(&st, path) == OS_OK);
    CHECK(st.n_tensors == 4);
    CHECK(st.data_len == 6 * 4 + 4 + 5 * 8);
    // Iteration is in data-offset order, which for our writer is the order given.
    const char *order[] = {"w", "scalar", "empty", "position_ids"};
    for (size_t i = 0; i < st.n_tensors && i < 4; i++) CHECK(!strcmp(st.tensors[i].name, order[i]));
    CHECK(os_st_meta(&st, "format") && !strcmp(os_st_meta(&st, "format"), "pt"));
    CHECK(os_st_meta(&st, "note") && !strcmp(os_st_meta(&st, "note"), "written by onestone"));
    CHECK(os_st_meta(&st, "missing") == NULL);

    float got[6];
    CHECK(os_st_read_f32(&st, "w", got, w_shape, 2) == OS_OK);
    CHECK(memcmp(got, sample_w, sizeof sample_w) == 0);
    const os_st_tensor *t = os_st_find(&st, "scalar");
    CHECK(t && t->ndim == 0 && t->numel == 1 && t->dtype == OS_DT_F32);
    float s = 0;
    CHECK(os_st_read_f32(&st, "scalar", &s, NULL, 0) == OS_OK && s == 3.25f);
    t = os_st_find(&st, "empty");
    CHECK(t && t->numel == 0 && t->nbytes == 0 && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 4);
    CHECK(os_st_read_f32(&st, "empty", got, empty_shape, 2) == OS_OK);
    int64_t ids[5];
    CHECK(os_st_read_i64(&st, "position_ids", ids, pos_shape, 2) == OS_OK);
    CHECK(memcmp(ids, sample_pos, sizeof sample_pos) == 0);
    CHECK(os_st_find(&st, "nope") == NULL);

    // Wrong shape: names the file, the tensor and both shapes.
    const int64_t wrong[2] = {3, 2};
    CHECK(os_st_read_f32(&st, "w", got, wrong, 2) == OS_ERR_INPUT);
    CHECK_MSG(strstr(os_last_error(), path) && strstr(os_last_error(), "'w'") &&
              strstr(os_last_error(), "[2, 3]") && strstr(os_last_error(), "[3, 2]"), "%s", os_last_error());
    CHECK(os_st_read_f32(&st, "w", got, w_shape, 1) == OS_ERR_INPUT);
    // Missing tensor; float read of an integer tensor and vice versa.
    CHECK(os_st_read_f32(&st, "nope", got, w_shape, 2) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "'nope'") && strstr(os_last_error(), path));
    float fids[5];
    CHECK(os_st_read_f32(&st, "position_ids", fids, pos_shape, 2) == OS_ERR_INPUT);
    CHECK_MSG(strstr(os_last_error(), "I64") && strstr(os_last_error(), "position_ids"), "%s", os_last_error());
    CHECK(os_st_read_i64(&st, "w", ids, w_shape, 2) == OS_ERR_INPUT);
    CHECK(os_st_tensor_f32(&st, os_st_find(&st, "w"), got, 5) == OS_ERR_INPUT);
    os_st_close(&st);
    os_st_close(&st);  // idempotent
    unlink(path);
}

static void test_f16_bf16_bits(void) {
    static const struct {
        uint16_t h;
        uint32_t f;
    } f16[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000},  // +-0
        {0x0001, 0x33800000},                        // smallest subnormal 2^-24
        {0x8001, 0xb3800000},
        {0x0200, 0x38000000},                        // 2^-15
        {0x03ff, 0x387fc000},                        // largest subnormal
        {0x0400, 0x38800000},                        // smallest normal 2^-14
        {0x3c00, 0x3f800000}, {0xc000, 0xc0000000}, {0x3555, 0x3eaaa000},
        {0x7bff, 0x477fe000},                        // 65504
        {0x7c00, 0x7f800000}, {0xfc00, 0xff800000},  // +-inf
        {0x7e00, 0x7fc00000}, {0xfe00, 0xffc00000},  // quiet NaN
        {0x7c01, 0x7f802000}, {0x7fff, 0x7fffe000},  // NaN payloads kept
    };
    for (size_t i = 0; i < sizeof f16 / sizeof f16[0]; i++)
        CHECK_MSG(f32_bits(os_f16_to_f32(f16[i].h)) == f16[i].f, "f16 %04x -> %08x, want %08x", f16[i].h,
                  f32_bits(os_f16_to_f32(f16[i].h)), f16[i].f);
    // Every finite half converts exactly: compare with the value computed in double.
    for (uint32_t h = 0; h < 0x10000; h++) {
        int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31) continue;
        double v = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
        if (h & 0x8000) v = -v;
        if ((double)os_f16_to_f32((uint16_t)h) != v) {
            CHECK_MSG(0, "f16 %04x", h);
            break;
        }
    }
    static const struct {
        uint16_t b;
        uint32_t f;
    } bf16[] = {
        {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x0001, 0x00010000}, {0x007f, 0x007f0000},
        {0x0080, 0x00800000}, {0x3f80, 0x3f800000}, {0xc020, 0xc0200000}, {0x7f7f, 0x7f7f0000},
        {0x7f80, 0x7f800000}, {0xff80, 0xff800000}, {0x7fc0, 0x7fc00000}, {0x7f81, 0x7f810000},
    };
    for (size_t i = 0; i < sizeof bf16 / sizeof bf16[0]; i++)
        CHECK_MSG(f32_bits(os_bf16_to_f32(bf16[i].b)) == bf16[i].f, "bf16 %04x", bf16[i].b);

    // The same through a file, with F16, BF16 and F64 tensors.
    uint16_t hdata[4] = {0x0001, 0x8000, 0x7c00, 0x7e00}, bdata[3] = {0x0001, 0xff80, 0x3f80};
    double ddata[4] = {0.1, 1e39, -1e39, 1e-50};
    unsigned char data[8 + 6 + 32], buf[512];
    memcpy(data, hdata, 8);
    memcpy(data + 8, bdata, 6);
    memcpy(data + 14, ddata, 32);
    size_t len = make_file(buf, sizeof buf,
                           "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
                           "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[8,14]},"
                           "\"d\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[14,46]}}",
                           data, sizeof data);
    os_safetensors st;
    CHECK(os_st_open_memory(&st, "mem.safetensors", buf, len) == OS_OK);
    float out[4];
    const int64_t s4[1] = {4}, s3[1] = {3}, s22[2] = {2, 2};
    CHECK(os_st_read_f32(&st, "h", out, s4, 1) == OS_OK);
    CHECK(f32_bits(out[0]) == 0x33800000 && f32_bits(out[1]) == 0x80000000 && isinf(out[2]) && out[2] > 0 &&
          isnan(out[3]));
    CHECK(os_st_read_f32(&st, "b", out, s3, 1) == OS_OK);
    CHECK(f32_bits(out[0]) == 0x00010000 && f32_bits(out[1]) == 0xff800000 && out[2] == 1.0f);
    CHECK(os_st_read_f32(&st, "d", out, s22, 2) == OS_OK);
    CHECK(out[0] == 0.1f && isinf(out[1]) && out[1] > 0 && isinf(out[2]) && out[2] < 0 && out[3] == 0.0f);
    os_st_close(&st);
}

// One malformed file: its bytes (header text + data bytes, or raw bytes) and what the message must name.
typedef struct {
    const char *what;
    const char *header;  // NULL: use raw/raw_len instead
    size_t data_len;     // zero bytes appended after the header
    const char *raw;
    size_t raw_len;
    const char *needle;  // must appear in the message (besides the file name); NULL for none
} bad_case;

#define T1(body) "{\"t\":" body "}"

static void test_bad_files(void) {
    static const bad_case cases[] = {
        {"0-byte file", NULL, 0, "", 0, "0 bytes"},
        {"7-byte file", NULL, 0, "\x10\0\0\0\0\0\0", 7, "7 bytes"},
        {"header length past EOF", NULL, 0, "\x40\0\0\0\0\0\0\0{}", 10, "past the end"},
        {"header length absurd", NULL, 0, "\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10, "limit"},
        {"header not JSON", "{\"t\": nope}", 0, NULL, 0, "not valid JSON"},
        {"header empty", "", 0, NULL, 0, "not valid JSON"},
        {"header not an object", "[1, 2]", 0, NULL, 0, "must be a JSON object"},
        {"entry not an object", T1("[0, 4]"), 4, NULL, 0, "'t'"},
        {"unknown dtype", T1("{\"dtype\":\"F42\",\"shape\":[1],\"data_offsets\":[0,4]}"), 4, NULL, 0, "F42"},
        {"dtype not a string", T1("{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}"), 4, NULL, 0, "'t'"},
        {"missing shape", T1("{\"dtype\":\"F32\",\"data_offsets\":[0,4]}"), 4, NULL, 0, "'shape'"},
        {"negative shape", T1("{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}"), 4, NULL, 0, "shape[0]"},
        {"fractional shape", T1("{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}"), 4, NULL, 0,
         "shape[0]"},
        {"huge shape", T1("{\"dtype\":\"F32\",\"shape\":[9223372036854775807,4],\"data_offsets\":[0,4]}"), 4,
         NULL, 0, "too large"},
        {"shape product overflows with dtype size",
         T1("{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}"), 8, NULL, 0, "too large"},
        {"span != shape * size", T1("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}"), 8, NULL, 0,
         "needs 8"},
        {"offsets out of range", T1("{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}"), 120, NULL, 0,
         "[0, 400] exceed the 120-byte data buffer"},
        {"truncated data", T1("{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}"), 15, NULL, 0,
         "truncated"},
        {"begin > end", T1("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}"), 8, NULL, 0, "begin > end"},
        {"negative offset", T1("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}"), 8, NULL, 0,
         "data_offsets"},
        {"three offsets", T1("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}"), 8, NULL, 0,
         "data_offsets"},
        {"offsets overlap",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, NULL, 0, "overlap"},
        {"offsets nested",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[12],\"data_offsets\":[0,12]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
         "\"c\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[8,10]}}", 12, NULL, 0, "'a'"},
        {"duplicate name",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, NULL, 0, "\"w\""},
        {"metadata value not a string", "{\"__metadata__\":{\"format\":1}}", 0, NULL, 0, "format"},
        {"metadata not an object", "{\"__metadata__\":[\"pt\"]}", 0, NULL, 0, "__metadata__"},
    };
    unsigned char buf[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        size_t len;
        if (c->header) {
            unsigned char zeros[256] = {0};
            len = make_file(buf, sizeof buf, c->header, zeros, c->data_len);
        } else {
            memcpy(buf, c->raw, c->raw_len);
            len = c->raw_len;
        }
        const char *path = scratch("bad.safetensors");
        CHECK(os_write_file_atomic(path, buf, len) == OS_OK);
        os_safetensors st;
        os_clear_error();
        os_status rc = os_st_open(&st, path);
        const char *msg = os_last_error();
        CHECK_MSG(rc == OS_ERR_INPUT, "%s: status %d (%s)", c->what, rc, msg);
        CHECK_MSG(strstr(msg, path) != NULL, "%s: message does not name the file: %s", c->what, msg);
        CHECK_MSG(!c->needle || strstr(msg, c->needle), "%s: message lacks '%s': %s", c->what, c->needle, msg);
        CHECK_MSG(!strchr(msg, '\n'), "%s: multi-line message", c->what);
        CHECK(st.tensors == NULL && st.path == NULL);  // left closed
        os_st_close(&st);
        // The same bytes from memory (in an exact-size heap copy so ASan sees any over-read).
        unsigned char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        CHECK_MSG(os_st_open_memory(&st, "mem.safetensors", copy, len) == OS_ERR_INPUT, "%s (memory)", c->what);
        CHECK(strstr(os_last_error(), "mem.safetensors") != NULL);
        free(copy);
        unlink(path);
    }
    // The example message from the format's documentation.
    size_t len = make_file(buf, sizeof buf,
                           "{\"bert.embeddings.word_embeddings.weight\":{\"dtype\":\"F32\",\"shape\":[10,10],"
                           "\"data_offsets\":[0,400]}}", buf + 900, 120);
    os_safetensors st;
    CHECK(os_st_open_memory(&st, "model.safetensors", buf, len) == OS_ERR_INPUT);
    CHECK_MSG(!strcmp(os_last_error(), "model.safetensors: tensor 'bert.embeddings.word_embeddings.weight': "
                      "data_offsets [0, 400] exceed the 120-byte data buffer (file truncated?)"), "%s",
              os_last_error());
}

static void test_lenient_but_valid(void) {
    // Accepted: unknown extra entry fields, null metadata, zero-size tensors sharing an offset, 0-d tensors,
    // every dtype, trailing padding spaces, an empty header object.
    unsigned char buf[1024], data[64] = {1, 0, 0, 0, 0, 0, 0, 0};
    const char *h =
        "{\"__metadata__\":null,"
        "\"e1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
        "\"e2\":{\"dtype\":\"F16\",\"shape\":[3,0],\"data_offsets\":[8,8]},"
        "\"one\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8],\"extra\":true},"
        "\"u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[8,9]},"
        "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[9,10]},"
        "\"i8\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[10,11]},"
        "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[11,12]},"
        "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[12,16]},"
        "\"i32\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[16,20]},"
        "\"u32\":{\"dtype\":\"U32\",\"shape\":[1],\"data_offsets\":[20,24]},"
        "\"u64\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[24,32]}}     ";
    size_t len = make_file(buf, sizeof buf, h, data, 40);
    os_safetensors st;
    CHECK_MSG(os_st_open_memory(&st, "ok.safetensors", buf, len) == OS_OK, "%s", os_last_error());
    CHECK(st.n_tensors == 11 && st.n_meta == 0);
    int64_t v = 0;
    CHECK(os_st_read_i64(&st, "one", &v, NULL, 0) == OS_OK && v == 1);
    CHECK(os_st_find(&st, "e2") && os_st_find(&st, "e2")->numel == 0);
    float f;
    CHECK(os_st_read_f32(&st, "f8", &f, (const int64_t[]){1}, 1) == OS_ERR_INPUT);
    os_st_close(&st);

    memset(data + 24, 0xff, 8);  // U64 above INT64_MAX
    len = make_file(buf, sizeof buf, h, data, 40);
    CHECK(os_st_open_memory(&st, "ok.safetensors", buf, len) == OS_OK);
    int64_t big;
    CHECK(os_st_read_i64(&st, "u64", &big, (const int64_t[]){1}, 1) == OS_ERR_INPUT);
    os_st_close(&st);

    len = make_file(buf, sizeof buf, "{}", NULL, 0);
    CHECK(os_st_open_memory(&st, "empty.safetensors", buf, len) == OS_OK && st.n_tensors == 0);
    os_st_close(&st);
}

static void test_io_errors(void) {
    os_safetensors st;
    const char *path = scratch("does_not_exist.safetensors");
    CHECK(os_st_open(&st, path) == OS_ERR_IO);
    CHECK(strstr(os_last_error(), path) != NULL);
    CHECK(os_st_open(&st, th_tmpdir()) == OS_ERR_IO);  // a directory
    os_st_close(&st);
}

static void test_writer_errors(void) {
    float x[2] = {1, 2};
    const int64_t s2[1] = {2}, neg[1] = {-2};
    const char *path = scratch("wbad.safetensors");
    unlink(path);
    os_st_entry dup[] = {{"a", OS_DT_F32, x, 1, s2}, {"b", OS_DT_F32, x, 1, s2}, {"a", OS_DT_F32, x, 1, s2}};
    CHECK(os_st_write(path, dup, 3, NULL) == OS_ERR_INPUT && strstr(os_last_error(), "'a'"));
    os_st_entry reserved[] = {{"__metadata__", OS_DT_F32, x, 1, s2}};
    CHECK(os_st_write(path, reserved, 1, NULL) == OS_ERR_INPUT);
    os_st_entry empty[] = {{"", OS_DT_F32, x, 1, s2}};
    CHECK(os_st_write(path, empty, 1, NULL) == OS_ERR_INPUT);
    os_st_entry negative[] = {{"n", OS_DT_F32, x, 1, neg}};
    CHECK(os_st_write(path, negative, 1, NULL) == OS_ERR_INPUT && strstr(os_last_error(), "'n'"));
    os_st_entry nodata[] = {{"n", OS_DT_F32, NULL, 1, s2}};
    CHECK(os_st_write(path, nodata, 1, NULL) == OS_ERR_INPUT);
    os_st_entry badutf8[] = {{"bad\xff", OS_DT_F32, x, 1, s2}};
    CHECK(os_st_write(path, badutf8, 1, NULL) == OS_ERR_INPUT);
    const char *dup_meta[] = {"k", "1", "k", "2", NULL};
    os_st_entry ok[] = {{"ok", OS_DT_F32, x, 1, s2}};
    CHECK(os_st_write(path, ok, 1, dup_meta) == OS_ERR_INPUT);
    CHECK(!os_path_exists(path));
    // Writing into a missing directory is an I/O error.
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no_such_dir_%d/x.safetensors", th_tmpdir(), (int)getpid());
    CHECK(os_st_write(missing, ok, 1, NULL) == OS_ERR_IO);
    // An explicit format is kept; zero tensors is a valid file.
    const char *fmt[] = {"format", "flax", NULL};
    CHECK(os_st_write(path, NULL, 0, fmt) == OS_OK);
    os_safetensors st;
    CHECK(os_st_open(&st, path) == OS_OK && st.n_tensors == 0 && !strcmp(os_st_meta(&st, "format"), "flax"));
    os_st_close(&st);
    unlink(path);
}

// Compares each NAME with NAME_as_f32 (torch's own conversion): bit-exact except NaN (any NaN).
static void compare_with_torch(const os_safetensors *st, const char *name) {
    char ref_name[64];
    snprintf(ref_name, sizeof ref_name, "%s_as_f32", name);
    const os_st_tensor *t = os_st_find(st, name), *r = os_st_find(st, ref_name);
    CHECK_MSG(t && r && t->numel == r->numel, "%s", name);
    if (!t || !r || t->numel != r->numel) return;
    float *a = malloc(t->numel * sizeof *a), *b = malloc(t->numel * sizeof *b);
    CHECK(os_st_tensor_f32(st, t, a, t->numel) == OS_OK);
    CHECK(os_st_check_shape(st, r, t->shape, t->ndim) == OS_OK);
    CHECK(os_st_tensor_f32(st, r, b, r->numel) == OS_OK && r->dtype == OS_DT_F32);
    for (size_t i = 0; i < t->numel; i++) {
        int same = isnan(b[i]) ? isnan(a[i]) : f32_bits(a[i]) == f32_bits(b[i]);
        CHECK_MSG(same, "%s[%zu]: ours %a, torch %a", name, i, (double)a[i], (double)b[i]);
    }
    free(a);
    free(b);
}

static void test_pytorch_interop(void) {
    const char *src = getenv("ONESTONE_SRC");
    if (access("/usr/bin/python3", X_OK) != 0 || !src ||
        system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("skip test_pytorch_interop: needs /usr/bin/python3 with torch and ONESTONE_SRC\n");
        return;
    }
    // PyTorch checks our sample file, then writes its own HF-layout file for us to read.
    char ours[600], theirs[600], cmd[2048];
    snprintf(ours, sizeof ours, "%s", scratch("ours.safetensors"));
    snprintf(theirs, sizeof theirs, "%s", scratch("torch.safetensors"));
    CHECK(write_sample(ours) == OS_OK);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/safetensors_ref.py' '%s' '%s'", src, ours, theirs);
    CHECK_MSG(system(cmd) == 0, "%s", cmd);
    os_safetensors st;
    CHECK_MSG(os_st_open(&st, theirs) == OS_OK, "%s", os_last_error());
    CHECK(st.n_tensors == 9 && os_st_meta(&st, "format") && !strcmp(os_st_meta(&st, "format"), "pt"));
    compare_with_torch(&st, "f16");
    compare_with_torch(&st, "bf16");
    compare_with_torch(&st, "f64");
    compare_with_torch(&st, "f64_big");
    int64_t i32[4];
    CHECK(os_st_read_i64(&st, "i32", i32, (const int64_t[]){4}, 1) == OS_OK);
    CHECK(i32[0] == -3 && i32[1] == 0 && i32[2] == 7 && i32[3] == 2147483647);
    os_st_close(&st);
    unlink(ours);
    unlink(theirs);
}

int main(void) {
    RUN(test_round_trip);
    RUN(test_f16_bf16_bits);
    RUN(test_bad_files);
    RUN(test_lenient_but_valid);
    RUN(test_io_errors);
    RUN(test_writer_errors);
    RUN(test_pytorch_interop);
    return th_finish();
}
