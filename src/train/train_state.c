#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "train/train_state.h"

os_status os_optimizer_save_moments(const os_optimizer *o, const os_params *p, const char *path) {
    os_st_entry *e = calloc((size_t)p->n * 2 + 1, sizeof *e);
    char **names = calloc((size_t)p->n * 2 + 1, sizeof *names);
    if (!e || !names) {
        free(e);
        free(names);
        return os_fail(OS_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (int i = 0; i < p->n; i++) {
        const os_param_entry *pe = &p->entries[i];
        for (int k = 0; k < 2; k++) {
            float *buf = k ? o->v : o->m;
            if (!buf) continue;
            names[n] = malloc(strlen(pe->name) + 16);
            sprintf(names[n], "%s.%s", k ? "exp_avg_sq" : "exp_avg", pe->name);
            e[n] = (os_st_entry){names[n], OS_DT_F32, buf + pe->offset, pe->ndim, pe->shape};
            n++;
        }
    }
    os_status st = os_st_write(path, e, n, NULL);
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    free(e);
    return st;
}

os_status os_train_state_load_tensors(os_params *p, os_optimizer *o, const char *model_path, const char *opt_path) {
    os_safetensors ms = {0}, os_ = {0};
    os_status st = os_st_open(&ms, model_path);
    if (!st) st = os_st_open(&os_, opt_path);
    for (int i = 0; i < p->n && !st; i++) {
        const os_param_entry *e = &p->entries[i];
        st = os_st_read_f32(&ms, e->name, p->data + e->offset, e->shape, e->ndim);
        char name[OS_PARAM_NAME_MAX + 16];
        for (int k = 0; k < 2 && !st; k++) {
            float *buf = k ? o->v : o->m;
            if (!buf) continue;
            snprintf(name, sizeof name, "%s.%s", k ? "exp_avg_sq" : "exp_avg", e->name);
            st = os_st_read_f32(&os_, name, buf + e->offset, e->shape, e->ndim);
        }
    }
    os_st_close(&ms);
    os_st_close(&os_);
    return st;
}
