// Inference-only encoder layers with int8 or fp32 linears and per-layer head counts / FFN widths.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy.h"
#include "deploy/gelu_int8.h"
#include "ops/ops.h"

static const char *const lin_sub[6] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                       "attention.output.dense", "intermediate.dense", "output.dense"};
static const char *const ln_sub[4] = {"attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
                                      "output.LayerNorm.weight", "output.LayerNorm.bias"};

#define LAYER_PREFIX "bert.encoder.layer."

int os_deploy_owns_param(const char *name) { return !strncmp(name, LAYER_PREFIX, strlen(LAYER_PREFIX)); }

static void name_linear(os_dlinear *l, int layer, int which) {
    snprintf(l->name, sizeof l->name, LAYER_PREFIX "%d.%s", layer, lin_sub[which]);
    snprintf(l->wname, sizeof l->wname, "%s.weight", l->name);
    snprintf(l->bname, sizeof l->bname, "%s.bias", l->name);
    snprintf(l->sname, sizeof l->sname, "%s.weight_scale", l->name);
}

static void set_shape(os_dlinear *l, int OC, int K) {
    l->OC = OC;
    l->K = K;
    l->wshape[0] = OC;
    l->wshape[1] = K;
    l->bshape[0] = OC;
}

static void free_linear(os_dlinear *l) {
    free(l->w);
    free(l->b);
    os_qmatrix_free(&l->q);
    l->w = l->b = NULL;
}

void os_deploy_free(os_deploy *d) {
    if (!d) return;
    for (int l = 0; l < d->n_layers && d->layers; l++) {
        os_dlayer *L = &d->layers[l];
        for (int i = 0; i < 6; i++) free_linear(&L->lin[i]);
        for (int i = 0; i < 4; i++) free(L->ln[i]);
        free(L->pruned);
    }
    free(d->layers);
    free(d);
}

static os_status deploy_new(os_deploy **out, const os_bert_config *cfg) {
    os_deploy *d = calloc(1, sizeof *d);
    if (!d || !(d->layers = calloc((size_t)cfg->num_hidden_layers, sizeof *d->layers))) {
        free(d);
        return os_fail(OS_ERR_NOMEM, "out of memory");
    }
    d->n_layers = cfg->num_hidden_layers;
    d->C = cfg->hidden_size;
    d->orig_heads = cfg->num_attention_heads;
    d->HS = cfg->hidden_size / cfg->num_attention_heads;
    d->cshape[0] = d->C;
    for (int l = 0; l < d->n_layers; l++) {
        os_dlayer *L = &d->layers[l];
        for (int i = 0; i < 6; i++) name_linear(&L->lin[i], l, i);
        for (int i = 0; i < 4; i++) snprintf(L->ln_names[i], sizeof L->ln_names[i], LAYER_PREFIX "%d.%s", l, ln_sub[i]);
    }
    *out = d;
    return OS_OK;
}

// The shapes of layer L's linears for its head count and FFN width.
static void layer_shapes(os_dlayer *L, int C, int HS) {
    const int A = L->heads * HS;
    for (int i = OS_DL_Q; i <= OS_DL_V; i++) set_shape(&L->lin[i], A, C);
    set_shape(&L->lin[OS_DL_AO], C, A);
    set_shape(&L->lin[OS_DL_I], L->inter, C);
    set_shape(&L->lin[OS_DL_O], C, L->inter);
}

static float *dup_floats(const float *x, size_t n) {
    float *y = malloc(n * sizeof *y);
    if (y) memcpy(y, x, n * sizeof *y);
    return y;
}

static const float *param(const os_model *m, const char *name, size_t numel) {
    int i = os_params_find(&m->params, name);
    return i >= 0 && m->params.entries[i].numel == numel ? m->params.data + m->params.entries[i].offset : NULL;
}

os_status os_deploy_from_model(os_deploy **out, const os_model *m) {
    *out = NULL;
    if (m->deploy) return os_fail(OS_ERR_INPUT, "the model is already compressed (int8 or pruned)");
    os_deploy *d;
    os_status st = deploy_new(&d, &m->cfg);
    if (st) return st;
    for (int l = 0; l < d->n_layers && !st; l++) {
        os_dlayer *L = &d->layers[l];
        L->heads = m->cfg.num_attention_heads;
        L->inter = m->cfg.intermediate_size;
        layer_shapes(L, d->C, d->HS);
        for (int i = 0; i < 6 && !st; i++) {
            os_dlinear *li = &L->lin[i];
            const float *w = param(m, li->wname, (size_t)li->OC * li->K), *b = param(m, li->bname, (size_t)li->OC);
            if (!w || !b) st = os_fail(OS_ERR_INTERNAL, "encoder tensor '%s' not found", li->name);
            else if (!(li->w = dup_floats(w, (size_t)li->OC * li->K)) || !(li->b = dup_floats(b, (size_t)li->OC)))
                st = os_fail(OS_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < 4 && !st; i++) {
            const float *v = param(m, L->ln_names[i], (size_t)d->C);
            if (!v) st = os_fail(OS_ERR_INTERNAL, "encoder tensor '%s' not found", L->ln_names[i]);
            else if (!(L->ln[i] = dup_floats(v, (size_t)d->C))) st = os_fail(OS_ERR_NOMEM, "out of memory");
        }
    }
    if (st) os_deploy_free(d);
    else *out = d;
    return st;
}

// Keeps the rows (by_rows) or columns of l whose group (of `group` consecutive rows/columns) is kept.
static os_status keep_groups(os_dlinear *l, int by_rows, const uint8_t *keep, int n_groups, int group, int kept) {
    const int OC = by_rows ? kept * group : l->OC, K = by_rows ? l->K : kept * group;
    float *w = malloc((size_t)OC * K * sizeof *w), *b = malloc((size_t)OC * sizeof *b);
    if (!w || !b) {
        free(w), free(b);
        return os_fail(OS_ERR_NOMEM, "out of memory");
    }
    if (by_rows) {
        int r = 0;
        for (int g = 0; g < n_groups; g++)
            if (keep[g])
                for (int j = 0; j < group; j++, r++) {
                    memcpy(w + (size_t)r * K, l->w + (size_t)(g * group + j) * K, (size_t)K * sizeof *w);
                    b[r] = l->b[g * group + j];
                }
    } else {
        for (int o = 0; o < OC; o++) {
            int c = 0;
            for (int g = 0; g < n_groups; g++)
                if (keep[g])
                    for (int j = 0; j < group; j++) w[(size_t)o * K + c++] = l->w[(size_t)o * l->K + g * group + j];
        }
        memcpy(b, l->b, (size_t)OC * sizeof *b);
    }
    free(l->w);
    free(l->b);
    l->w = w;
    l->b = b;
    set_shape(l, OC, K);
    return OS_OK;
}

static int count(const uint8_t *x, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += x[i] != 0;
    return c;
}

os_status os_deploy_compact(os_deploy *d, uint8_t *const *keep_head, uint8_t *const *keep_ffn) {
    if (d->int8) return os_fail(OS_ERR_INPUT, "structured pruning needs fp32 weights (prune before quantising)");
    for (int l = 0; l < d->n_layers; l++) {
        os_dlayer *L = &d->layers[l];
        os_status st;
        if (keep_head && keep_head[l]) {
            const int kept = count(keep_head[l], L->heads);
            if (kept < 1) return os_fail(OS_ERR_INPUT, "layer %d: every attention head would be pruned (keep at least one)", l);
            if (kept < L->heads) {
                // Original indices of the current heads (pruned ones are skipped), then the new removals.
                int *orig = malloc((size_t)L->heads * sizeof *orig), *pruned = realloc(L->pruned, (size_t)d->orig_heads * sizeof *pruned);
                if (!orig || !pruned) {
                    free(orig);
                    if (pruned) L->pruned = pruned;
                    return os_fail(OS_ERR_NOMEM, "out of memory");
                }
                L->pruned = pruned;
                for (int h = 0, c = 0; h < d->orig_heads; h++) {
                    int gone = 0;
                    for (int j = 0; j < L->n_pruned; j++) gone |= L->pruned[j] == h;
                    if (!gone) orig[c++] = h;
                }
                for (int h = 0; h < L->heads; h++)
                    if (!keep_head[l][h]) L->pruned[L->n_pruned++] = orig[h];
                free(orig);
                for (int i = OS_DL_Q; i <= OS_DL_V; i++)
                    if ((st = keep_groups(&L->lin[i], 1, keep_head[l], L->heads, d->HS, kept))) return st;
                if ((st = keep_groups(&L->lin[OS_DL_AO], 0, keep_head[l], L->heads, d->HS, kept))) return st;
                L->heads = kept;
            }
        }
        if (keep_ffn && keep_ffn[l]) {
            const int kept = count(keep_ffn[l], L->inter);
            if (kept < 1) return os_fail(OS_ERR_INPUT, "layer %d: every feed-forward unit would be pruned (keep at least one)", l);
            if (kept < L->inter) {
                if ((st = keep_groups(&L->lin[OS_DL_I], 1, keep_ffn[l], L->inter, 1, kept))) return st;
                if ((st = keep_groups(&L->lin[OS_DL_O], 0, keep_ffn[l], L->inter, 1, kept))) return st;
                L->inter = kept;
            }
        }
    }
    return OS_OK;
}

static os_status quantize_linear(os_dlinear *l) {
    if (!l->w) return OS_OK;
    int8_t *q = malloc((size_t)l->OC * l->K);
    float *s = malloc((size_t)l->OC * sizeof *s);
    os_status st = q && s ? OS_OK : os_fail(OS_ERR_NOMEM, "out of memory");
    if (!st) {
        os_quantize_rows(q, s, l->w, l->OC, l->K);
        st = os_qmatrix_init(&l->q, q, s, l->OC, l->K);
    }
    free(q);
    free(s);
    if (!st) {
        free(l->w);
        l->w = NULL;
    }
    return st;
}

os_status os_deploy_quantize(os_deploy *d) {
    for (int l = 0; l < d->n_layers; l++)
        for (int i = 0; i < 6; i++) {
            os_status st = quantize_linear(&d->layers[l].lin[i]);
            if (st) return st;
        }
    d->int8 = 1;
    return OS_OK;
}

size_t os_deploy_weight_bytes(const os_deploy *d) {
    size_t n = 0;
    for (int l = 0; l < d->n_layers; l++)
        for (int i = 0; i < 6; i++) {
            const os_dlinear *li = &d->layers[l].lin[i];
            n += (size_t)li->OC * li->K * (li->w ? 4 : 1) + (size_t)li->OC * (li->w ? 4 : 8);
        }
    return n;
}

// ---- forward ------------------------------------------------------------------------------------------

typedef struct {  // activation scratch, one per thread (contexts sharing one model run concurrently)
    float *q, *k, *v, *ctx, *probs, *t, *h, *inter, *mean, *rstd;
    os_qacts qa;
    float *block;
    size_t cap;  // floats in block
} scratch;

// Kept between calls (fresh buffers per batch cost page faults that showed as 5 % of int8 inference time);
// grows to the largest batch a thread has run.
static _Thread_local scratch tls;

static os_status scratch_get(scratch **out, const os_deploy *d, int B, int T) {
    scratch *s = &tls;
    size_t N = (size_t)B * T, C = (size_t)d->C, A = 0, I = 0, PT = 0;
    for (int l = 0; l < d->n_layers; l++) {
        const os_dlayer *L = &d->layers[l];
        if ((size_t)L->heads * d->HS > A) A = (size_t)L->heads * d->HS;
        if ((size_t)L->inter > I) I = (size_t)L->inter;
        if ((size_t)B * L->heads * T * T > PT) PT = (size_t)B * L->heads * T * T;
    }
    const size_t sizes[10] = {N * A, N * A, N * A, N * A, PT, N * C, N * C, N * I, N, N};
    size_t total = 0;
    for (int i = 0; i < 10; i++) total += (sizes[i] + 15) / 16 * 16;
    if (total > s->cap) {
        free(s->block);
        s->cap = 0;
        if (!(s->block = aligned_alloc(64, total * sizeof(float)))) return os_fail(OS_ERR_NOMEM, "out of memory for a %dx%d batch", B, T);
        s->cap = total;
    }
    float *p = s->block;
    float **dst[10] = {&s->q, &s->k, &s->v, &s->ctx, &s->probs, &s->t, &s->h, &s->inter, &s->mean, &s->rstd};
    for (int i = 0; i < 10; i++) {
        *dst[i] = p;
        p += (sizes[i] + 15) / 16 * 16;
    }
    const int K = (int)(I > C ? I : C);
    if (d->int8 && (s->qa.N_max < (int)N || s->qa.Kp_max < K)) {
        os_qacts_free(&s->qa);
        os_status st = os_qacts_alloc(&s->qa, (int)N, K);
        if (st) return st;
    }
    *out = s;
    return OS_OK;
}

// out(N,OC) = linear(x); int8 linears quantise x into s->qa first unless `quantized` says it already holds x.
static void run_linear(float *out, const float *x, const os_dlinear *l, scratch *s, int N, int quantized) {
    if (l->w) {
        linear_forward(out, x, l->w, l->b, N, l->K, l->OC);
        return;
    }
    if (!quantized) os_qacts_set_k(&s->qa, l->K), os_qacts_quantize(&s->qa, x, N);
    os_qgemm(out, &s->qa, &l->q, l->b);
}

os_status os_deploy_forward(const os_deploy *d, os_model *m, const os_batch_input *in, int training) {
    if (training) return os_fail(OS_ERR_INPUT, "an int8 or pruned model is for inference only; train the fp32 model");
    os_encoder_acts *a = &m->acts;
    // Embeddings (with the encoder's own input checks) through the ordinary encoder, minus layers and pooler.
    os_encoder emb = m->enc;
    emb.cfg.num_hidden_layers = 0;
    emb.has_pooler = 0;
    os_status st = os_encoder_forward(&emb, &m->params, a, in->ids, in->type_ids, in->mask, in->B, in->T, 0, 0);
    if (st) return st;
    const int B = in->B, T = in->T, N = B * T, C = d->C, HS = d->HS;
    const float eps = m->cfg.layer_norm_eps;
    scratch *sp;
    if ((st = scratch_get(&sp, d, B, T))) return st;
    scratch s = *sp;
    float *x = a->emb_ln, *out = os_encoder_output(&m->enc, a);
    for (int l = 0; l < d->n_layers; l++) {
        const os_dlayer *L = &d->layers[l];
        const os_dlinear *W = L->lin;
        float *y = l == d->n_layers - 1 ? out : x;
        run_linear(s.q, x, &W[OS_DL_Q], &s, N, 0);
        run_linear(s.k, x, &W[OS_DL_K], &s, N, 1);  // the query's quantised input is x as well
        run_linear(s.v, x, &W[OS_DL_V], &s, N, 1);
        attention_forward(s.ctx, s.probs, s.q, s.k, s.v, in->mask, B, T, L->heads, HS);
        run_linear(s.t, s.ctx, &W[OS_DL_AO], &s, N, 0);
        residual_forward(s.t, s.t, x, (size_t)N * C);
        layernorm_forward(s.h, s.mean, s.rstd, s.t, L->ln[0], L->ln[1], N, C, eps);
        run_linear(s.inter, s.h, &W[OS_DL_I], &s, N, 0);
        // The output layer's int8 input is quantised to 7 bits: an approximate GELU is enough there.
        if (W[OS_DL_O].w) gelu_forward(s.inter, s.inter, (size_t)N * L->inter);
        else os_deploy_gelu(s.inter, s.inter, (size_t)N * L->inter);
        run_linear(s.t, s.inter, &W[OS_DL_O], &s, N, 0);
        residual_forward(s.t, s.t, s.h, (size_t)N * C);
        layernorm_forward(y, s.mean, s.rstd, s.t, L->ln[2], L->ln[3], N, C, eps);
        x = y;
    }
    if (m->enc.has_pooler) {
        const float *p = m->params.data;
        for (int b = 0; b < B; b++) memcpy(a->pool_in + (size_t)b * C, out + (size_t)b * T * C, (size_t)C * sizeof(float));
        linear_forward(a->pool_pre, a->pool_in, p + m->enc.pool_w, p + m->enc.pool_b, B, C, C);
        tanh_forward(a->pool, a->pool_pre, (size_t)B * C);
    }
    return OS_OK;
}

// ---- saving -------------------------------------------------------------------------------------------

size_t os_deploy_n_tensors(const os_deploy *d) {
    size_t n = 0;
    for (int l = 0; l < d->n_layers; l++)
        for (int i = 0; i < 6; i++) n += d->layers[l].lin[i].w ? 2 : 3;
    return n + 4 * (size_t)d->n_layers;
}

void os_deploy_tensors(const os_deploy *d, os_st_entry *out) {
    size_t n = 0;
    for (int l = 0; l < d->n_layers; l++) {
        const os_dlayer *L = &d->layers[l];
        for (int i = 0; i < 6; i++) {
            const os_dlinear *li = &L->lin[i];
            if (li->w) {
                out[n++] = (os_st_entry){li->wname, OS_DT_F32, li->w, 2, li->wshape};
            } else {
                out[n++] = (os_st_entry){li->wname, OS_DT_I8, li->q.q, 2, li->wshape};
                out[n++] = (os_st_entry){li->sname, OS_DT_F32, li->q.scale, 1, li->bshape};
            }
            out[n++] = (os_st_entry){li->bname, OS_DT_F32, li->b, 1, li->bshape};
        }
        for (int i = 0; i < 4; i++) out[n++] = (os_st_entry){L->ln_names[i], OS_DT_F32, L->ln[i], 1, d->cshape};
    }
}

void os_deploy_annotate_config(const os_deploy *d, json_t *root) {
    json_t *spec = json_object(), *layers = json_array(), *hf_pruned = json_object();
    json_object_set_new(spec, "format", json_integer(1));
    json_object_set_new(spec, "weights", json_string(d->int8 ? "int8" : "float32"));
    for (int l = 0; l < d->n_layers; l++) {
        const os_dlayer *L = &d->layers[l];
        json_t *o = json_object(), *pr = json_array();
        json_object_set_new(o, "num_heads", json_integer(L->heads));
        json_object_set_new(o, "intermediate_size", json_integer(L->inter));
        for (int j = 0; j < L->n_pruned; j++) json_array_append_new(pr, json_integer(L->pruned[j]));
        if (L->n_pruned) {
            char key[16];
            snprintf(key, sizeof key, "%d", l);
            json_object_set(hf_pruned, key, pr);
        }
        json_object_set_new(o, "pruned_heads", pr);
        json_array_append_new(layers, o);
    }
    json_object_set_new(spec, "layers", layers);
    json_t *os = json_object_get(root, "onestone");
    if (os) json_object_set_new(os, "deploy", spec);
    else json_decref(spec);
    // transformers' BertModel re-applies prune_heads from this field (fp32 models without FFN pruning load there).
    if (json_object_size(hf_pruned)) json_object_set_new(root, "pruned_heads", hf_pruned);
    else json_decref(hf_pruned);
}

// ---- loading ------------------------------------------------------------------------------------------

static os_status spec_int(const json_t *o, const char *key, int lo, int hi, const char *where, int l, int *out) {
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return os_fail(OS_ERR_INPUT, "%s: onestone.deploy.layers[%d].%s must be an integer in [%d, %d]", where, l, key, lo, hi);
    *out = (int)json_integer_value(v);
    return OS_OK;
}

static os_status load_linear(os_dlinear *li, const os_safetensors *st, const char *fp, int *is_int8) {
    char fname[OS_PARAM_NAME_MAX + 16];
    snprintf(fname, sizeof fname, "%s%s", fp, li->wname + 5);  // our names start with "bert."
    const os_st_tensor *t = os_st_find(st, fname);
    if (!t) return os_fail(OS_ERR_INPUT, "%s: tensor '%s' missing (config.json's onestone.deploy expects it)", st->path, fname);
    os_status rc = os_st_check_shape(st, t, li->wshape, 2);
    if (rc) return rc;
    const size_t n = (size_t)li->OC * li->K;
    *is_int8 = t->dtype == OS_DT_I8;
    if (*is_int8) {
        char sname[OS_PARAM_NAME_MAX + 16];
        snprintf(sname, sizeof sname, "%s%s", fp, li->sname + 5);
        float *scale = malloc((size_t)li->OC * sizeof *scale);
        if (!scale) return os_fail(OS_ERR_NOMEM, "out of memory");
        rc = os_st_read_f32(st, sname, scale, li->bshape, 1);
        for (int o = 0; !rc && o < li->OC; o++)
            if (!(scale[o] > 0) || !isfinite(scale[o]))
                rc = os_fail(OS_ERR_INPUT, "%s: tensor '%s': scale %d is %g (must be positive and finite)", st->path, sname, o, scale[o]);
        if (!rc) rc = os_qmatrix_init(&li->q, os_st_raw(st, t), scale, li->OC, li->K);
        free(scale);
        if (rc) return rc;
    } else {
        if (!(li->w = malloc(n * sizeof(float)))) return os_fail(OS_ERR_NOMEM, "out of memory");
        if ((rc = os_st_tensor_f32(st, t, li->w, n))) return rc;
    }
    snprintf(fname, sizeof fname, "%s%s", fp, li->bname + 5);
    if (!(li->b = malloc((size_t)li->OC * sizeof(float)))) return os_fail(OS_ERR_NOMEM, "out of memory");
    return os_st_read_f32(st, fname, li->b, li->bshape, 1);
}

static os_status load_layer(os_deploy *d, int l, const json_t *o, const os_safetensors *st, const char *fp,
                            const char *where, int *n_int8) {
    os_dlayer *L = &d->layers[l];
    os_status rc;
    if (!json_is_object(o)) return os_fail(OS_ERR_INPUT, "%s: onestone.deploy.layers[%d] must be an object", where, l);
    if ((rc = spec_int(o, "num_heads", 1, d->orig_heads, where, l, &L->heads)) ||
        (rc = spec_int(o, "intermediate_size", 1, 1 << 24, where, l, &L->inter)))
        return rc;
    const json_t *pr = json_object_get(o, "pruned_heads");
    if (pr && (!json_is_array(pr) || (int)json_array_size(pr) != d->orig_heads - L->heads))
        return os_fail(OS_ERR_INPUT, "%s: onestone.deploy.layers[%d].pruned_heads must list %d head indices", where, l,
                       d->orig_heads - L->heads);
    if (pr && json_array_size(pr)) {
        if (!(L->pruned = malloc(json_array_size(pr) * sizeof *L->pruned))) return os_fail(OS_ERR_NOMEM, "out of memory");
        for (size_t j = 0; j < json_array_size(pr); j++) {
            const json_t *v = json_array_get(pr, j);
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= d->orig_heads)
                return os_fail(OS_ERR_INPUT, "%s: onestone.deploy.layers[%d].pruned_heads[%zu] must be a head index below %d",
                               where, l, j, d->orig_heads);
            L->pruned[L->n_pruned++] = (int)json_integer_value(v);
        }
    }
    layer_shapes(L, d->C, d->HS);
    for (int i = 0; i < 6; i++) {
        int q = 0;
        if ((rc = load_linear(&L->lin[i], st, fp, &q))) return rc;
        *n_int8 += q;
    }
    for (int i = 0; i < 4; i++) {
        char fname[OS_PARAM_NAME_MAX + 16];
        snprintf(fname, sizeof fname, "%s%s", fp, L->ln_names[i] + 5);
        if (!(L->ln[i] = malloc((size_t)d->C * sizeof(float)))) return os_fail(OS_ERR_NOMEM, "out of memory");
        if ((rc = os_st_read_f32(st, fname, L->ln[i], d->cshape, 1))) return rc;
    }
    return OS_OK;
}

os_status os_deploy_load(os_deploy **out, const os_safetensors *st, const json_t *spec, const os_bert_config *cfg,
                         const char *file_prefix, const char *cfg_path) {
    *out = NULL;
    const json_t *layers = json_object_get(spec, "layers"), *fmt = json_object_get(spec, "format");
    if (!json_is_object(spec) || !json_is_integer(fmt) || json_integer_value(fmt) != 1)
        return os_fail(OS_ERR_INPUT, "%s: onestone.deploy.format must be 1 (a newer onestone wrote this model?)", cfg_path);
    if (!json_is_array(layers) || (int)json_array_size(layers) != cfg->num_hidden_layers)
        return os_fail(OS_ERR_INPUT, "%s: onestone.deploy.layers must be an array of num_hidden_layers (%d) objects",
                       cfg_path, cfg->num_hidden_layers);
    os_deploy *d;
    os_status rc = deploy_new(&d, cfg);
    if (rc) return rc;
    int n_int8 = 0;
    for (int l = 0; l < d->n_layers && !rc; l++)
        rc = load_layer(d, l, json_array_get(layers, (size_t)l), st, file_prefix, cfg_path, &n_int8);
    if (rc) {
        os_deploy_free(d);
        return rc;
    }
    d->int8 = n_int8 == 6 * d->n_layers;
    *out = d;
    return OS_OK;
}
