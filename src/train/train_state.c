#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "util/fileio.h"
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

// DIR.tmp, emptied.
static char *fresh_tmp_dir(const char *dir) {
    char *tmp = malloc(strlen(dir) + 8);
    if (!tmp) return NULL;
    sprintf(tmp, "%s.tmp", dir);
    os_remove_flat_dir(tmp);
    return tmp;
}

os_status os_checkpoint_write(const char *dir, const os_model *m, const os_optimizer *o, const json_t *state,
                              os_status (*extra)(void *ctx, const char *tmp_dir), void *ctx) {
    char *tmp = fresh_tmp_dir(dir);
    if (!tmp) return os_fail(OS_ERR_NOMEM, "out of memory");
    os_status st = os_model_save(m, tmp, NULL);
    char *opt_path = os_path_join(tmp, "optimizer.safetensors"), *state_path = os_path_join(tmp, "state.json");
    if (!st) st = os_optimizer_save_moments(o, &m->params, opt_path);
    if (!st) {
        char *text = json_dumps(state, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
        st = text ? os_write_file_atomic(state_path, text, strlen(text)) : os_fail(OS_ERR_NOMEM, "out of memory");
        free(text);
    }
    if (!st && extra) st = extra(ctx, tmp);
    if (!st) st = os_replace_dir(tmp, dir);
    free(opt_path);
    free(state_path);
    free(tmp);
    return st;
}

os_status os_checkpoint_read(const char *dir, os_params *p, os_optimizer *o, json_t **state) {
    char *model_path = os_path_join(dir, "model.safetensors");
    char *opt_path = os_path_join(dir, "optimizer.safetensors");
    char *state_path = os_path_join(dir, "state.json");
    *state = NULL;
    os_status st = os_train_state_load_tensors(p, o, model_path, opt_path);
    if (!st) {
        json_error_t err;
        *state = json_load_file(state_path, 0, &err);
        if (!*state) st = os_fail(OS_ERR_INPUT, "%s:%d: %s", state_path, err.line, err.text);
    }
    free(model_path);
    free(opt_path);
    free(state_path);
    return st;
}

os_status os_model_dir_write(const char *dir, const os_model *m, const os_tokenizer *tok, const json_t *meta) {
    char *tmp = fresh_tmp_dir(dir);
    if (!tmp) return os_fail(OS_ERR_NOMEM, "out of memory");
    os_status st = os_model_save(m, tmp, meta);
    if (!st) st = os_tokenizer_save(tok, tmp);
    if (!st) st = os_replace_dir(tmp, dir);
    free(tmp);
    return st;
}

void os_metrics_append(FILE *f, json_t *ev) {
    char *s = json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(7));
    if (s && f) {
        fprintf(f, "%s\n", s);
        fflush(f);
    }
    free(s);
    json_decref(ev);
}
