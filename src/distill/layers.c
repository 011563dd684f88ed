#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distill/layer_loss.h"
#include "distill/layers.h"
#include "io/safetensors.h"
#include "util/fileio.h"
#include "util/rng.h"

static const float *hidden_state(const os_model *m, int l) {
    return l == 0 ? m->acts.emb_ln : m->acts.layers[l - 1].ln2;
}

os_status os_kd_layers_init(os_kd_layers *L, const os_distill_config *cfg, os_model *student, os_model *teacher,
                            const os_opt_config *opt, const char *teacher_dir, uint64_t seed) {
    memset(L, 0, sizeof *L);
    L->cfg = cfg;
    L->student = student;
    L->teacher = teacher;
    const int Ls = student->cfg.num_hidden_layers, Lt = teacher->cfg.num_hidden_layers;
    const int64_t Cs = student->cfg.hidden_size, Ct = teacher->cfg.hidden_size;
    for (int i = 0; i < cfg->n_hidden_pairs; i++)
        if (cfg->hidden_pairs[i][0] > Ls || cfg->hidden_pairs[i][1] > Lt)
            return os_fail(OS_ERR_INPUT, "distill.layers.hidden[%d] = [%d, %d]: the student has hidden states 0..%d, "
                                         "teacher %s 0..%d", i, cfg->hidden_pairs[i][0], cfg->hidden_pairs[i][1], Ls,
                           teacher_dir, Lt);
    for (int i = 0; i < cfg->n_attention_pairs; i++)
        if (cfg->attention_pairs[i][0] > Ls || cfg->attention_pairs[i][1] > Lt)
            return os_fail(OS_ERR_INPUT, "distill.layers.attention[%d] = [%d, %d]: the student has layers 1..%d, "
                                         "teacher %s 1..%d", i, cfg->attention_pairs[i][0], cfg->attention_pairs[i][1],
                           Ls, teacher_dir, Lt);
    for (int i = 0; i < cfg->n_hidden_pairs; i++) {
        char name[64];
        const int64_t ws[2] = {Ct, Cs}, bs[1] = {Ct};
        snprintf(name, sizeof name, "proj.%d.weight", i);
        L->w[i] = os_params_add(&L->proj, name, 2, ws, 0);
        snprintf(name, sizeof name, "proj.%d.bias", i);
        L->b[i] = os_params_add(&L->proj, name, 1, bs, 1);
    }
    os_status st = os_params_alloc(&L->proj);
    if (st) return st;
    for (int i = 0; i < L->proj.n; i++) L->proj.entries[i].lr_scale = 1.0f;
    os_rng r;
    os_rng_seed(&r, seed ^ 0x9a0ec7ULL);
    for (int i = 0; i < cfg->n_hidden_pairs; i++)
        for (int64_t k = 0; k < Ct * Cs; k++) L->proj.data[L->w[i] + k] = student->cfg.initializer_range * os_rng_normal(&r);
    L->lr = opt->lr;
    if (L->proj.total) st = os_optimizer_init(&L->opt, opt, &L->proj);
    L->has_hidden = calloc((size_t)Ls + 1, 1);
    L->has_attn = calloc((size_t)Ls + 1, 1);
    if (!st && (!L->has_hidden || !L->has_attn)) st = os_fail(OS_ERR_NOMEM, "out of memory");
    return st;
}

void os_kd_layers_free(os_kd_layers *L) {
    os_optimizer_free(&L->opt);
    os_params_free(&L->proj);
    free(L->d_hidden);
    free(L->d_attn);
    free(L->has_hidden);
    free(L->has_attn);
    free(L->proj_out);
    free(L->d_proj);
    memset(L, 0, sizeof *L);
}

static int grow(float **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    free(*p);
    *p = malloc(need * sizeof(float));
    *cap = *p ? need : 0;
    return *p == NULL;
}

// The encoder's backward hook: adds the stored gradients to hidden state l / attention layer l.
static void extra_grad(void *ctx, int l, float *d_hidden, float *d_q, float *d_k) {
    os_kd_layers *L = ctx;
    const os_encoder_acts *a = &L->student->acts;
    const int C = L->student->cfg.hidden_size, NH = L->student->cfg.num_attention_heads;
    const size_t NC = (size_t)a->B * a->T * C;
    if (d_hidden && L->has_hidden[l]) {
        const float *g = L->d_hidden + (size_t)l * L->cap_n * C;
        for (size_t i = 0; i < NC; i++) d_hidden[i] += g[i];
    }
    if (d_q && l >= 1 && L->has_attn[l]) {
        const os_layer_acts *la = &a->layers[l - 1];
        os_kd_attention_backprop(L->d_attn + (size_t)(l - 1) * L->cap_pt, la->probs, la->q, la->k, a->B, a->T, NH,
                                 C / NH, d_q, d_k);
    }
}

os_status os_kd_layers_step(os_kd_layers *L, float *loss) {
    os_model *s = L->student, *t = L->teacher;
    const os_encoder_acts *a = &s->acts;
    const int B = a->B, T = a->T, N = B * T, Ls = s->cfg.num_hidden_layers;
    const int Cs = s->cfg.hidden_size, Ct = t->cfg.hidden_size;
    const int NHs = s->cfg.num_attention_heads, NHt = t->cfg.num_attention_heads;
    const size_t PT = (size_t)B * NHs * T * T;
    if (t->acts.B != B || t->acts.T != T) return os_fail(OS_ERR_INTERNAL, "teacher and student saw different batches");
    // Gradient slots sized for this batch (kept between batches; regrown when a batch is larger).
    if ((size_t)N > L->cap_n) {
        free(L->d_hidden);
        L->d_hidden = malloc((size_t)(Ls + 1) * N * Cs * sizeof(float));
        L->cap_n = L->d_hidden ? (size_t)N : 0;
    }
    if (PT > L->cap_pt) {
        free(L->d_attn);
        L->d_attn = malloc((size_t)(Ls ? Ls : 1) * PT * sizeof(float));
        L->cap_pt = L->d_attn ? PT : 0;
    }
    size_t ct_need = (size_t)N * Ct, ct_cap = L->cap_ct;
    if (!L->d_hidden || !L->d_attn || grow(&L->proj_out, &ct_cap, ct_need) || grow(&L->d_proj, &L->cap_ct, ct_need))
        return os_fail(OS_ERR_NOMEM, "out of memory for layer distillation on a %dx%d batch", B, T);
    memset(L->has_hidden, 0, (size_t)Ls + 1);
    memset(L->has_attn, 0, (size_t)Ls + 1);
    os_params_zero_grad(&L->proj);
    double hl = 0, al = 0;
    for (int i = 0; i < L->cfg->n_hidden_pairs; i++) {
        const int ls = L->cfg->hidden_pairs[i][0], lt = L->cfg->hidden_pairs[i][1];
        float *d = L->d_hidden + (size_t)ls * L->cap_n * Cs;
        if (!L->has_hidden[ls]) memset(d, 0, (size_t)N * Cs * sizeof(float));
        L->has_hidden[ls] = 1;
        hl += os_kd_hidden_loss(hidden_state(s, ls), hidden_state(t, lt), a->mask, N, Cs, Ct, L->proj.data + L->w[i],
                                L->proj.data + L->b[i], L->proj_out, L->d_proj, d, L->proj.grad + L->w[i],
                                L->proj.grad + L->b[i], (float)L->cfg->hidden_weight);
    }
    for (int i = 0; i < L->cfg->n_attention_pairs; i++) {
        const int ls = L->cfg->attention_pairs[i][0], lt = L->cfg->attention_pairs[i][1];
        float *d = L->d_attn + (size_t)(ls - 1) * L->cap_pt;
        if (!L->has_attn[ls]) memset(d, 0, PT * sizeof(float));
        L->has_attn[ls] = 1;
        al += os_kd_attention_loss(a->layers[ls - 1].probs, t->acts.layers[lt - 1].probs, a->mask, B, T, NHs, NHt, d,
                                   (float)L->cfg->attention_weight);
    }
    L->hidden_loss = (float)(L->cfg->hidden_weight * hl);
    L->attention_loss = (float)(L->cfg->attention_weight * al);
    *loss = L->hidden_loss + L->attention_loss;
    if (L->proj.total) os_optimizer_step(&L->opt, &L->proj, L->lr);
    s->acts.extra_grad = extra_grad;
    s->acts.extra_grad_ctx = L;
    return OS_OK;
}

#define LAYERS_FILE "distill_layers.safetensors"

os_status os_kd_layers_save(const os_kd_layers *L, const char *dir) {
    if (!L->proj.total) return OS_OK;
    const os_params *p = &L->proj;
    os_st_entry e[3 * 2 * OS_KD_MAX_PAIRS];
    char names[3 * 2 * OS_KD_MAX_PAIRS][OS_PARAM_NAME_MAX + 16];
    size_t n = 0;
    for (int i = 0; i < p->n; i++) {
        const os_param_entry *pe = &p->entries[i];
        const float *bufs[3] = {p->data, L->opt.m, L->opt.v};
        const char *kinds[3] = {"", "exp_avg.", "exp_avg_sq."};
        for (int k = 0; k < 3; k++) {
            if (!bufs[k]) continue;
            snprintf(names[n], sizeof names[n], "%s%s", kinds[k], pe->name);
            e[n] = (os_st_entry){names[n], OS_DT_F32, bufs[k] + pe->offset, pe->ndim, pe->shape};
            n++;
        }
    }
    char step[32];
    snprintf(step, sizeof step, "%ld", L->opt.step);
    const char *meta[] = {"optimizer_step", step, NULL};
    char *path = os_path_join(dir, LAYERS_FILE);
    os_status st = os_st_write(path, e, n, meta);
    free(path);
    return st;
}

os_status os_kd_layers_load(os_kd_layers *L, const char *dir) {
    if (!L->proj.total) return OS_OK;
    char *path = os_path_join(dir, LAYERS_FILE);
    os_safetensors f = {0};
    os_status st = os_st_open(&f, path);
    const os_params *p = &L->proj;
    for (int i = 0; i < p->n && !st; i++) {
        const os_param_entry *pe = &p->entries[i];
        float *bufs[3] = {p->data, L->opt.m, L->opt.v};
        const char *kinds[3] = {"", "exp_avg.", "exp_avg_sq."};
        for (int k = 0; k < 3 && !st; k++) {
            if (!bufs[k]) continue;
            char name[OS_PARAM_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s%s", kinds[k], pe->name);
            st = os_st_read_f32(&f, name, bufs[k] + pe->offset, pe->shape, pe->ndim);
        }
    }
    const char *step = st ? NULL : os_st_meta(&f, "optimizer_step");
    if (!st && !step) st = os_fail(OS_ERR_INPUT, "%s: no optimizer_step in the metadata", path);
    if (!st) L->opt.step = atol(step);
    os_st_close(&f);
    free(path);
    return st;
}
