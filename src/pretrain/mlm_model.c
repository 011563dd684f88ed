#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "pretrain/mlm_model.h"
#include "util/fileio.h"

os_status os_mlm_model_create(os_mlm_model *m, const os_bert_config *cfg) {
    memset(m, 0, sizeof *m);
    os_status st = os_bert_config_validate(cfg, "model config");
    if (st) return st;
    os_model *b = &m->base;
    b->cfg = *cfg;
    os_encoder_register(&b->enc, &b->params, cfg, "bert.", 0);
    os_mlm_head_register(&m->mlm, &b->params, &b->enc);
    b->heads = os_calloc(1, sizeof *b->heads);
    b->head_prefixes = os_calloc(1, sizeof *b->head_prefixes);
    b->active = os_calloc(1, 1);
    if (!b->heads || !b->head_prefixes || !b->active) return OS_ERR_NOMEM;
    return os_params_alloc(&b->params);
}

void os_mlm_model_init_weights(os_mlm_model *m, uint64_t seed) {
    os_encoder_init(&m->base.enc, &m->base.params, seed);
    os_mlm_head_init(&m->mlm, &m->base.params, m->base.cfg.initializer_range, seed + 7777777ULL);
}

// Copies src's tensor into dst's entry when the shapes match, or the leading rows when only dim 0 of a
// vocabulary-sized tensor grew; returns 1 when copied.
static int copy_tensor(os_params *dst, const os_param_entry *e, const float *src, const int64_t *shape, int ndim) {
    if (ndim != e->ndim) return 0;
    int same = 1;
    for (int d = 0; d < ndim; d++) same &= shape[d] == e->shape[d];
    int grown_vocab = !same && shape[0] < e->shape[0] && (ndim == 1 || shape[1] == e->shape[1]) &&
                      (strstr(e->name, "word_embeddings") || !strcmp(e->name, "cls.predictions.bias"));
    if (!same && !grown_vocab) return 0;
    size_t n = (size_t)shape[0] * (ndim == 2 ? (size_t)shape[1] : 1);
    memcpy(dst->data + e->offset, src, n * sizeof(float));
    return 1;
}

os_status os_mlm_model_init_from(os_mlm_model *m, const char *dir, int *n_copied) {
    os_model src;
    os_status rc = os_model_load(&src, dir);  // the encoder, whatever HF naming the directory uses
    if (rc) return rc;
    os_params *p = &m->base.params;
    int copied = 0;
    for (int i = 0; i < p->n; i++) {
        const os_param_entry *e = &p->entries[i];
        int j = os_params_find(&src.params, e->name);
        if (j < 0) continue;
        const os_param_entry *f = &src.params.entries[j];
        copied += copy_tensor(p, e, src.params.data + f->offset, f->shape, f->ndim);
    }
    os_model_free(&src);
    // The MLM head, when the directory has one (BertForMaskedLM / BertForPreTraining / onestone pretraining).
    char *path = os_path_join(dir, "model.safetensors");
    os_safetensors st = {0};
    rc = os_st_open(&st, path);
    for (int i = 0; i < p->n && !rc; i++) {
        const os_param_entry *e = &p->entries[i];
        const os_st_tensor *t = strncmp(e->name, "cls.", 4) ? NULL : os_st_find(&st, e->name);
        if (!t || t->ndim != e->ndim || t->ndim > 2) continue;
        float *buf = malloc(t->numel * sizeof(float) + 1);
        if (!buf) {
            rc = os_fail(OS_ERR_NOMEM, "out of memory");
            break;
        }
        rc = os_st_tensor_f32(&st, t, buf, t->numel);
        if (!rc) copied += copy_tensor(p, e, buf, t->shape, t->ndim);
        free(buf);
    }
    os_st_close(&st);
    free(path);
    if (n_copied) *n_copied = copied;
    return rc;
}

void os_mlm_model_free(os_mlm_model *m) {
    os_mlm_head_free(&m->mlm);
    os_model_free(&m->base);
    memset(m, 0, sizeof *m);
}

os_status os_mlm_model_forward(os_mlm_model *m, const int32_t *ids, const int32_t *mask, int B, int T,
                               const int32_t *rows, int M, int training, uint64_t seed) {
    os_model *b = &m->base;
    os_status st = os_model_plan(b, B, T);
    if (!st) st = os_mlm_head_plan(&m->mlm, M > 0 ? M : 1);
    if (!st) st = os_encoder_forward(&b->enc, &b->params, &b->acts, ids, NULL, mask, B, T, training, seed);
    if (st) return st;
    os_mlm_head_forward(&m->mlm, &b->params, os_encoder_output(&b->enc, &b->acts), rows, M);
    return OS_OK;
}

void os_mlm_model_backward(os_mlm_model *m, const int32_t *rows) {
    os_model *b = &m->base;
    os_encoder_zero_output_grads(&b->enc, &b->acts);
    os_mlm_head_backward(&m->mlm, &b->params, rows, b->acts.d_seq);
    os_encoder_backward(&b->enc, &b->params, &b->acts, 0);
}
