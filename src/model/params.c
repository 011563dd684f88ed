#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/params.h"

size_t os_params_add(os_params *p, const char *name, int ndim, const int64_t *shape, int no_decay) {
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        os_param_entry *e = realloc(p->entries, (size_t)cap * sizeof *e);
        if (!e) {
            fprintf(stderr, "onestone: out of memory registering parameters\n");
            abort();
        }
        p->entries = e;
        p->cap = cap;
    }
    os_param_entry *e = &p->entries[p->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    e->numel = 1;
    for (int i = 0; i < ndim; i++) {
        e->shape[i] = shape[i];
        e->numel *= (size_t)shape[i];
    }
    e->no_decay = (uint8_t)no_decay;
    e->lr_scale = 1.0f;
    // Align every tensor to 16 floats (64 bytes) so SIMD kernels see aligned rows.
    e->offset = (p->total + 15) & ~(size_t)15;
    p->total = e->offset + e->numel;
    return e->offset;
}

os_status os_params_alloc(os_params *p) {
    p->data = os_calloc(p->total, sizeof(float));
    p->grad = os_calloc(p->total, sizeof(float));
    if (!p->data || !p->grad) return OS_ERR_NOMEM;
    return OS_OK;
}

int os_params_find(const os_params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->entries[i].name, name)) return i;
    return -1;
}

// Whole-store passes run over the OpenMP threads: the 11 M gradients of BERT-Mini would otherwise be a serial
// part of every step (it caps the two-thread speed-up). The norm and the scaling go in fixed chunks (the
// norm's sum then does not depend on the thread count); the zeroing in one range per thread.
#define OS_PARAM_CHUNK ((size_t)1 << 16)

void os_params_zero_grad(os_params *p) {
    // One contiguous range per thread, one memset each: glibc writes a range that large with non-temporal
    // stores, where 256 KB pieces were written through the cache, each line read before being overwritten:
    // 31 -> 10 ms for 110 M gradients on 1 thread, 19 -> 10 ms on 2 (`bench_kernels passes`).
    const long chunks = (long)((p->total + OS_PARAM_CHUNK - 1) / OS_PARAM_CHUNK);
#pragma omp parallel if (chunks > 4)
    {
        const int nt = omp_get_num_threads(), t = omp_get_thread_num();
        const size_t lo = p->total / (size_t)nt * (size_t)t, hi = t == nt - 1 ? p->total : lo + p->total / (size_t)nt;
        memset(p->grad + lo, 0, (hi - lo) * sizeof(float));
    }
}

void os_params_scale_grad(os_params *p, float factor) {
    float *g = p->grad;
    const long n = (long)p->total;
#pragma omp parallel for simd schedule(static) if (n > (1L << 18))
    for (long i = 0; i < n; i++) g[i] *= factor;
}

void os_params_free(os_params *p) {
    free(p->entries);
    free(p->data);
    free(p->grad);
    memset(p, 0, sizeof *p);
}

// Sum of squares of g[0..n) in double, in a fixed order (four interleaved partial sums), so the result does
// not depend on the thread count.
static double sum_squares(const float *g, size_t n) {
    double a[4] = {0, 0, 0, 0};
    size_t j = 0;
    for (; j + 4 <= n; j += 4)
        for (int k = 0; k < 4; k++) a[k] += (double)g[j + k] * g[j + k];
    for (; j < n; j++) a[0] += (double)g[j] * g[j];
    return (a[0] + a[1]) + (a[2] + a[3]);
}

double os_params_grad_norm(const os_params *p) {
    // Per tensor, per fixed chunk; partial sums are combined in index order after the parallel loop.
    size_t n_chunks = 0;
    for (int i = 0; i < p->n; i++)
        if (!p->entries[i].frozen) n_chunks += (p->entries[i].numel + OS_PARAM_CHUNK - 1) / OS_PARAM_CHUNK;
    double *part = malloc((n_chunks ? n_chunks : 1) * sizeof *part);
    size_t *off = malloc((n_chunks ? n_chunks : 1) * sizeof *off), *len = malloc((n_chunks ? n_chunks : 1) * sizeof *len);
    double s = 0;
    if (!part || !off || !len) {  // no memory for the plan: one serial pass
        for (int i = 0; i < p->n; i++)
            if (!p->entries[i].frozen) s += sum_squares(p->grad + p->entries[i].offset, p->entries[i].numel);
    } else {
        size_t c = 0;
        for (int i = 0; i < p->n; i++) {
            const os_param_entry *e = &p->entries[i];
            if (e->frozen) continue;
            for (size_t lo = 0; lo < e->numel; lo += OS_PARAM_CHUNK) {
                off[c] = e->offset + lo;
                len[c++] = e->numel - lo < OS_PARAM_CHUNK ? e->numel - lo : OS_PARAM_CHUNK;
            }
        }
#pragma omp parallel for schedule(static) if (n_chunks > 4)
        for (long k = 0; k < (long)n_chunks; k++) part[k] = sum_squares(p->grad + off[k], len[k]);
        for (size_t k = 0; k < n_chunks; k++) s += part[k];
    }
    free(part);
    free(off);
    free(len);
    return sqrt(s);
}
