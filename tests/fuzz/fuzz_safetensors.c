// libFuzzer target for the safetensors parser (scripts/fuzz.sh safetensors SECONDS). Any input must either be
// rejected with OS_ERR_INPUT and a one-line message, or open into tensors that lie inside the data buffer
// and convert without touching anything else (ASan/UBSan watch the reads).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    os_safetensors st;
    os_status rc = os_st_open_memory(&st, "fuzz.safetensors", data, size);
    if (rc) {
        const char *msg = os_last_error();
        if (rc != OS_ERR_INPUT || strncmp(msg, "fuzz.safetensors: ", 18) || strchr(msg, '\n')) __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < st.n_tensors; i++) {
        const os_st_tensor *t = &st.tensors[i];
        if (t->offset > st.data_len || t->nbytes > st.data_len - t->offset) __builtin_trap();
        if (t->nbytes != t->numel * os_dtype_size(t->dtype)) __builtin_trap();
        if (os_st_find(&st, t->name) != t) __builtin_trap();
        if (os_st_check_shape(&st, t, t->shape, t->ndim) != OS_OK) __builtin_trap();
        size_t n = t->numel ? t->numel : 1;
        float *f = malloc(n * sizeof *f);
        int64_t *q = malloc(n * sizeof *q);
        if (f && q) {
            os_st_tensor_f32(&st, t, f, t->numel);
            os_st_read_i64(&st, t->name, q, t->shape, t->ndim);
        }
        free(f);
        free(q);
    }
    for (size_t i = 0; i < st.n_meta; i++)
        if (os_st_meta(&st, st.meta[2 * i]) != st.meta[2 * i + 1]) __builtin_trap();
    os_st_close(&st);
    return 0;
}
