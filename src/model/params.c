#include <math.h>
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

void os_params_zero_grad(os_params *p) { memset(p->grad, 0, p->total * sizeof(float)); }

void os_params_free(os_params *p) {
    free(p->entries);
    free(p->data);
    free(p->grad);
    memset(p, 0, sizeof *p);
}

double os_params_grad_norm(const os_params *p) {
    double s = 0;
    for (int i = 0; i < p->n; i++) {
        const os_param_entry *e = &p->entries[i];
        if (e->frozen) continue;
        const float *g = p->grad + e->offset;
        for (size_t j = 0; j < e->numel; j++) s += (double)g[j] * g[j];
    }
    return sqrt(s);
}
