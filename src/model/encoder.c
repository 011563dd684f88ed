#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/encoder.h"
#include "ops/ops.h"
#include "util/rng.h"

#define P(off) (p->data + (off))
#define G(off) (p->grad + (off))

static size_t reg(os_params *p, const char *prefix, const char *name, int64_t d0, int64_t d1, int no_decay) {
    char full[OS_PARAM_NAME_MAX];
    if (snprintf(full, sizeof full, "%s%s", prefix, name) >= (int)sizeof full) {
        fprintf(stderr, "onestone: parameter name '%s%s' too long\n", prefix, name);
        abort();  // names are built from fixed strings and task names checked at config time
    }
    int64_t shape[2] = {d0, d1};
    return os_params_add(p, full, d1 ? 2 : 1, shape, no_decay);
}

void os_encoder_register(os_encoder *e, os_params *p, const os_bert_config *cfg, const char *prefix,
                         int with_pooler) {
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    const int64_t C = cfg->hidden_size, I = cfg->intermediate_size;
    e->wte = reg(p, prefix, "embeddings.word_embeddings.weight", cfg->vocab_size, C, 0);
    e->wpe = reg(p, prefix, "embeddings.position_embeddings.weight", cfg->max_position_embeddings, C, 0);
    e->wtt = reg(p, prefix, "embeddings.token_type_embeddings.weight", cfg->type_vocab_size, C, 0);
    e->emb_ln_w = reg(p, prefix, "embeddings.LayerNorm.weight", C, 0, 1);
    e->emb_ln_b = reg(p, prefix, "embeddings.LayerNorm.bias", C, 0, 1);
    e->layers = calloc((size_t)cfg->num_hidden_layers, sizeof *e->layers);
    if (!e->layers && cfg->num_hidden_layers) {
        fprintf(stderr, "onestone: out of memory\n");
        abort();
    }
    for (int l = 0; l < cfg->num_hidden_layers; l++) {
        os_layer_params *L = &e->layers[l];
        char lp[64];
        if (snprintf(lp, sizeof lp, "%sencoder.layer.%d.", prefix, l) >= (int)sizeof lp) abort();
        L->q_w = reg(p, lp, "attention.self.query.weight", C, C, 0);
        L->q_b = reg(p, lp, "attention.self.query.bias", C, 0, 1);
        L->k_w = reg(p, lp, "attention.self.key.weight", C, C, 0);
        L->k_b = reg(p, lp, "attention.self.key.bias", C, 0, 1);
        L->v_w = reg(p, lp, "attention.self.value.weight", C, C, 0);
        L->v_b = reg(p, lp, "attention.self.value.bias", C, 0, 1);
        L->ao_w = reg(p, lp, "attention.output.dense.weight", C, C, 0);
        L->ao_b = reg(p, lp, "attention.output.dense.bias", C, 0, 1);
        L->ln1_w = reg(p, lp, "attention.output.LayerNorm.weight", C, 0, 1);
        L->ln1_b = reg(p, lp, "attention.output.LayerNorm.bias", C, 0, 1);
        L->i_w = reg(p, lp, "intermediate.dense.weight", I, C, 0);
        L->i_b = reg(p, lp, "intermediate.dense.bias", I, 0, 1);
        L->o_w = reg(p, lp, "output.dense.weight", C, I, 0);
        L->o_b = reg(p, lp, "output.dense.bias", C, 0, 1);
        L->ln2_w = reg(p, lp, "output.LayerNorm.weight", C, 0, 1);
        L->ln2_b = reg(p, lp, "output.LayerNorm.bias", C, 0, 1);
    }
    e->has_pooler = with_pooler;
    if (with_pooler) {
        e->pool_w = reg(p, prefix, "pooler.dense.weight", C, C, 0);
        e->pool_b = reg(p, prefix, "pooler.dense.bias", C, 0, 1);
    }
}

static void fill_normal(float *x, size_t n, float std, os_rng *r) {
    for (size_t i = 0; i < n; i++) x[i] = std * os_rng_normal(r);
}

static void fill_const(float *x, size_t n, float v) {
    for (size_t i = 0; i < n; i++) x[i] = v;
}

void os_encoder_init(const os_encoder *e, os_params *p, uint64_t seed) {
    const os_bert_config *c = &e->cfg;
    const size_t C = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    const float s = c->initializer_range;
    os_rng r;
    os_rng_seed(&r, seed);
    fill_normal(P(e->wte), (size_t)c->vocab_size * C, s, &r);
    if (c->pad_token_id >= 0 && c->pad_token_id < c->vocab_size) fill_const(P(e->wte) + (size_t)c->pad_token_id * C, C, 0);
    fill_normal(P(e->wpe), (size_t)c->max_position_embeddings * C, s, &r);
    fill_normal(P(e->wtt), (size_t)c->type_vocab_size * C, s, &r);
    fill_const(P(e->emb_ln_w), C, 1);
    fill_const(P(e->emb_ln_b), C, 0);
    for (int l = 0; l < c->num_hidden_layers; l++) {
        const os_layer_params *L = &e->layers[l];
        size_t sq[] = {L->q_w, L->k_w, L->v_w, L->ao_w};
        for (int i = 0; i < 4; i++) fill_normal(P(sq[i]), C * C, s, &r);
        size_t bc[] = {L->q_b, L->k_b, L->v_b, L->ao_b, L->ln1_b, L->o_b, L->ln2_b};
        for (int i = 0; i < 7; i++) fill_const(P(bc[i]), C, 0);
        fill_const(P(L->ln1_w), C, 1);
        fill_const(P(L->ln2_w), C, 1);
        fill_normal(P(L->i_w), I * C, s, &r);
        fill_const(P(L->i_b), I, 0);
        fill_normal(P(L->o_w), C * I, s, &r);
    }
    if (e->has_pooler) {
        fill_normal(P(e->pool_w), C * C, s, &r);
        fill_const(P(e->pool_b), C, 0);
    }
}

void os_encoder_free(os_encoder *e) {
    free(e->layers);
    e->layers = NULL;
}

// --- activation planning: one allocation carved into buffers (a two-pass bump allocator) -------------

typedef struct {
    char *base;  // NULL while counting
    size_t used;
} carver;

static void *carve(carver *cv, size_t bytes) {
    size_t off = (cv->used + 63) & ~(size_t)63;
    cv->used = off + bytes;
    return cv->base ? cv->base + off : NULL;
}
#define CARVE_F(cv, n) ((float *)carve((cv), (size_t)(n) * sizeof(float)))
#define CARVE_U8(cv, n) ((uint8_t *)carve((cv), (size_t)(n)))

static void plan(os_encoder_acts *a, const os_encoder *e, carver *cv) {
    const os_bert_config *c = &e->cfg;
    const size_t B = (size_t)a->B_max, T = (size_t)a->T_max, N = B * T, C = (size_t)c->hidden_size;
    const size_t I = (size_t)c->intermediate_size, NH = (size_t)c->num_attention_heads;
    const size_t PT = B * NH * T * T;
    const int attn_drop = c->attention_probs_dropout_prob > 0;
    a->emb_sum = CARVE_F(cv, N * C);
    a->emb_ln = CARVE_F(cv, N * C);
    a->emb_mean = CARVE_F(cv, N);
    a->emb_rstd = CARVE_F(cv, N);
    a->emb_keep = CARVE_U8(cv, N * C);
    for (int l = 0; l < c->num_hidden_layers; l++) {
        os_layer_acts *L = &a->layers[l];
        L->q = CARVE_F(cv, N * C);
        L->k = CARVE_F(cv, N * C);
        L->v = CARVE_F(cv, N * C);
        L->probs = CARVE_F(cv, PT);
        L->probs_drop = attn_drop ? CARVE_F(cv, PT) : NULL;
        L->probs_keep = attn_drop ? CARVE_U8(cv, PT) : NULL;
        L->ctx = CARVE_F(cv, N * C);
        L->ao = CARVE_F(cv, N * C);
        L->ao_keep = CARVE_U8(cv, N * C);
        L->res1 = CARVE_F(cv, N * C);
        L->ln1 = CARVE_F(cv, N * C);
        L->ln1_mean = CARVE_F(cv, N);
        L->ln1_rstd = CARVE_F(cv, N);
        L->inter_pre = CARVE_F(cv, N * I);
        L->inter_cdf = CARVE_F(cv, N * I);
        L->inter = CARVE_F(cv, N * I);
        L->o = CARVE_F(cv, N * C);
        L->o_keep = CARVE_U8(cv, N * C);
        L->res2 = CARVE_F(cv, N * C);
        L->ln2 = CARVE_F(cv, N * C);
        L->ln2_mean = CARVE_F(cv, N);
        L->ln2_rstd = CARVE_F(cv, N);
    }
    a->pool_in = CARVE_F(cv, B * C);
    a->pool_pre = CARVE_F(cv, B * C);
    a->pool = CARVE_F(cv, B * C);
    a->d_a = CARVE_F(cv, N * C);
    a->d_b = CARVE_F(cv, N * C);
    a->d_res = CARVE_F(cv, N * C);
    a->d_ln1 = CARVE_F(cv, N * C);
    a->d_ctx = CARVE_F(cv, N * C);
    a->d_q = CARVE_F(cv, N * C);
    a->d_k = CARVE_F(cv, N * C);
    a->d_v = CARVE_F(cv, N * C);
    a->d_inter = CARVE_F(cv, N * I);
    a->d_probs = CARVE_F(cv, PT);
    a->d_pool = CARVE_F(cv, B * C);
    a->d_seq = CARVE_F(cv, N * C);
}

os_status os_encoder_acts_alloc(os_encoder_acts *a, const os_encoder *e, int B_max, int T_max) {
    memset(a, 0, sizeof *a);
    if (B_max <= 0 || T_max <= 0)
        return os_fail(OS_ERR_INPUT, "batch shape must be positive, got B=%d T=%d", B_max, T_max);
    if (T_max > e->cfg.max_position_embeddings)
        return os_fail(OS_ERR_INPUT, "sequence length %d exceeds max_position_embeddings %d", T_max,
                       e->cfg.max_position_embeddings);
    a->B_max = B_max;
    a->T_max = T_max;
    a->layers = os_calloc((size_t)(e->cfg.num_hidden_layers ? e->cfg.num_hidden_layers : 1), sizeof *a->layers);
    if (!a->layers) return OS_ERR_NOMEM;
    carver cv = {NULL, 0};
    plan(a, e, &cv);
    // Zeroed (padded rows stay defined) by calloc, whose large blocks are fresh zero pages: a page becomes
    // resident only when written, so inference never pays for the backward's buffers or dropout masks.
    a->block = calloc(1, cv.used + 64);
    if (!a->block) {
        free(a->layers);
        a->layers = NULL;
        return os_fail(OS_ERR_NOMEM, "out of memory planning activations for batch %dx%d (%zu MB)", B_max,
                       T_max, cv.used >> 20);
    }
    cv.base = (char *)(((uintptr_t)a->block + 63) & ~(uintptr_t)63);
    cv.used = 0;
    plan(a, e, &cv);
    return OS_OK;
}

void os_encoder_acts_free(os_encoder_acts *a) {
    free(a->block);
    free(a->layers);
    memset(a, 0, sizeof *a);
}

// --- forward ---------------------------------------------------------------------------------------

// A distinct dropout seed for every dropout site of one forward pass.
static uint64_t site_seed(uint64_t seed, int site) {
    return seed * 0x9e3779b97f4a7c15ULL + (uint64_t)site * 0xd1b54a32d192ed03ULL + 1;
}

static int dropping(const os_encoder_acts *a, float prob) { return a->training && prob > 0; }

float *os_encoder_output(const os_encoder *e, const os_encoder_acts *a) {
    int L = e->cfg.num_hidden_layers;
    return L ? a->layers[L - 1].ln2 : a->emb_ln;
}

os_status os_encoder_forward(const os_encoder *e, const os_params *p, os_encoder_acts *a, const int32_t *ids,
                             const int32_t *type_ids, const int32_t *mask, int B, int T, int training,
                             uint64_t seed) {
    const os_bert_config *c = &e->cfg;
    if (B > a->B_max || T > a->T_max || B <= 0 || T <= 0)
        return os_fail(OS_ERR_INTERNAL, "batch %dx%d outside the planned %dx%d", B, T, a->B_max, a->T_max);
    const int C = c->hidden_size, I = c->intermediate_size, NH = c->num_attention_heads, HS = C / NH;
    const int N = B * T;
    const float eps = c->layer_norm_eps, ph = c->hidden_dropout_prob, pa = c->attention_probs_dropout_prob;
    for (int i = 0; i < N; i++) {
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return os_fail(OS_ERR_INPUT, "token id %d at position %d is outside the vocabulary (size %d)", ids[i],
                           i, c->vocab_size);
        if (type_ids && (type_ids[i] < 0 || type_ids[i] >= c->type_vocab_size))
            return os_fail(OS_ERR_INPUT, "token type id %d at position %d outside [0,%d)", type_ids[i], i,
                           c->type_vocab_size);
    }
    a->B = B;
    a->T = T;
    a->training = training;
    a->seed = seed;
    a->ids = ids;
    a->type_ids = type_ids;
    a->mask = mask;

    embeddings_forward(a->emb_sum, ids, type_ids, P(e->wte), P(e->wpe), P(e->wtt), B, T, C);
    layernorm_forward(a->emb_ln, a->emb_mean, a->emb_rstd, a->emb_sum, P(e->emb_ln_w), P(e->emb_ln_b), N, C, eps);
    if (dropping(a, ph)) dropout_forward(a->emb_ln, a->emb_keep, a->emb_ln, (size_t)N * C, ph, site_seed(seed, 0));
    const float *x = a->emb_ln;
    for (int l = 0; l < c->num_hidden_layers; l++) {
        const os_layer_params *W = &e->layers[l];
        os_layer_acts *L = &a->layers[l];
        {  // query, key and value: three products of x, computed together
            float *const qkv[] = {L->q, L->k, L->v};
            const float *const w[] = {P(W->q_w), P(W->k_w), P(W->v_w)};
            const float *const bias[] = {P(W->q_b), P(W->k_b), P(W->v_b)};
            linear_forward_n(3, qkv, x, w, bias, N, C, C);
        }
        if (dropping(a, pa)) {
            attention_probs_forward(L->probs, L->q, L->k, mask, B, T, NH, HS);
            dropout_forward(L->probs_drop, L->probs_keep, L->probs, (size_t)B * NH * T * T, pa,
                            site_seed(seed, 1 + 3 * l));
            attention_weighted_sum(L->ctx, L->probs_drop, L->v, B, T, NH, HS);
        } else {
            attention_forward(L->ctx, L->probs, L->q, L->k, L->v, mask, B, T, NH, HS);
        }
        linear_forward(L->ao, L->ctx, P(W->ao_w), P(W->ao_b), N, C, C);
        if (dropping(a, ph)) dropout_forward(L->ao, L->ao_keep, L->ao, (size_t)N * C, ph, site_seed(seed, 2 + 3 * l));
        residual_layernorm_forward(L->ln1, L->res1, L->ln1_mean, L->ln1_rstd, L->ao, x, P(W->ln1_w), P(W->ln1_b), N,
                                   C, eps);
        linear_gelu_forward_cdf(L->inter, L->inter_pre, training ? L->inter_cdf : NULL, L->ln1, P(W->i_w), P(W->i_b),
                                N, C, I);
        linear_forward(L->o, L->inter, P(W->o_w), P(W->o_b), N, I, C);
        if (dropping(a, ph)) dropout_forward(L->o, L->o_keep, L->o, (size_t)N * C, ph, site_seed(seed, 3 + 3 * l));
        residual_layernorm_forward(L->ln2, L->res2, L->ln2_mean, L->ln2_rstd, L->o, L->ln1, P(W->ln2_w),
                                   P(W->ln2_b), N, C, eps);
        x = L->ln2;
    }
    if (e->has_pooler) {
        for (int b = 0; b < B; b++) memcpy(a->pool_in + (size_t)b * C, x + (size_t)b * T * C, (size_t)C * sizeof(float));
        linear_forward(a->pool_pre, a->pool_in, P(e->pool_w), P(e->pool_b), B, C, C);
        tanh_forward(a->pool, a->pool_pre, (size_t)B * C);
    }
    return OS_OK;
}

// --- backward --------------------------------------------------------------------------------------

void os_encoder_zero_output_grads(const os_encoder *e, os_encoder_acts *a) {
    memset(a->d_seq, 0, (size_t)a->B * a->T * e->cfg.hidden_size * sizeof(float));
    memset(a->d_pool, 0, (size_t)a->B * e->cfg.hidden_size * sizeof(float));
}

// dst = the gradient before an inverted dropout from d, the gradient after it (dst may be d).
static void dropout_grad(float *dst, const float *d, const uint8_t *keep, size_t n, float prob) {
    const float scale = 1.0f / (1.0f - prob);
    const ptrdiff_t m = (ptrdiff_t)n;
#pragma omp parallel for simd schedule(static) if (parallel : n > 65536)
    for (ptrdiff_t i = 0; i < m; i++) dst[i] = d[i] * (keep[i] ? scale : 0.0f);
}

// Zeroing (N,C) / (N,I) gradient buffers, split over the threads in large chunks: run serially
// they are a visible share of a 2-thread step.
enum { CHUNK = 1 << 16 };
static void zero(float *x, size_t n) {
    const ptrdiff_t nc = (ptrdiff_t)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (nc > 1)
    for (ptrdiff_t c = 0; c < nc; c++) {
        const size_t i0 = (size_t)c * CHUNK;
        memset(x + i0, 0, (n - i0 < CHUNK ? n - i0 : CHUNK) * sizeof *x);
    }
}

void os_encoder_backward(const os_encoder *e, os_params *p, os_encoder_acts *a, int frozen_below) {
    const os_bert_config *c = &e->cfg;
    const int B = a->B, T = a->T, C = c->hidden_size, I = c->intermediate_size, NH = c->num_attention_heads;
    const int HS = C / NH, N = B * T, NL = c->num_hidden_layers;
    const size_t NC = (size_t)N * C, NI = (size_t)N * I;
    const float ph = c->hidden_dropout_prob, pa = c->attention_probs_dropout_prob;
    const int first_trainable_layer = frozen_below > 0 ? frozen_below - 1 : 0;

    if (e->has_pooler) {
        // d_pool -> through tanh and the dense layer -> into the [CLS] rows of d_seq.
        float *d_pre = a->d_res, *d_in = a->d_ctx;  // (B,C) views of free scratch
        zero(d_pre, (size_t)B * C);
        zero(d_in, (size_t)B * C);
        tanh_backward(d_pre, a->pool, a->d_pool, (size_t)B * C);
        linear_backward(d_in, G(e->pool_w), G(e->pool_b), d_pre, a->pool_in, P(e->pool_w), B, C, C);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < C; i++) a->d_seq[(size_t)b * T * C + i] += d_in[(size_t)b * C + i];
    }

    float *dout = a->d_seq;
    for (int l = NL - 1; l >= first_trainable_layer; l--) {
        const os_layer_params *W = &e->layers[l];
        os_layer_acts *L = &a->layers[l];
        const float *x_in = l > 0 ? a->layers[l - 1].ln2 : a->emb_ln;
        // Gradient for the layer input; not needed when everything below is frozen.
        const int need_dx = l > first_trainable_layer || frozen_below == 0;
        float *dx = need_dx ? (dout == a->d_a ? a->d_b : a->d_a) : NULL;
        if (a->extra_grad) a->extra_grad(a->extra_grad_ctx, l + 1, dout, NULL, NULL);  // distillation

        // res2 = o + ln1: LayerNorm's input gradient is ln1's (the FFN's input gradient is added to it below)
        // and, through the dropout when there is one, o's.
        layernorm_backward_set(a->d_ln1, G(W->ln2_w), G(W->ln2_b), dout, L->res2, P(W->ln2_w), L->ln2_mean,
                               L->ln2_rstd, N, C);
        const float *d_o = a->d_ln1;
        if (dropping(a, ph)) {
            dropout_grad(a->d_res, a->d_ln1, L->o_keep, NC, ph);
            d_o = a->d_res;
        }
        zero(a->d_inter, NI);
        linear_backward(a->d_inter, G(W->o_w), G(W->o_b), d_o, L->inter, P(W->o_w), N, I, C);
        // d_inter becomes the gradient of the pre-activation in place.
        // Phi(pre) from the forward when it was a training one (an eval-mode forward saves none).
        linear_gelu_backward_cdf(a->d_ln1, G(W->i_w), G(W->i_b), a->d_inter, a->d_inter, L->inter_pre,
                                 a->training ? L->inter_cdf : NULL, L->ln1, P(W->i_w), N, C, I);
        // res1 = ao + x_in: the same split, into dx (x_in's gradient, which the Q, K, V products add to) when
        // the layer below trains, else into scratch.
        float *d_res1 = dx ? dx : a->d_res;
        layernorm_backward_set(d_res1, G(W->ln1_w), G(W->ln1_b), a->d_ln1, L->res1, P(W->ln1_w), L->ln1_mean,
                               L->ln1_rstd, N, C);
        const float *d_ao = d_res1;
        if (dropping(a, ph)) {
            dropout_grad(a->d_res, d_res1, L->ao_keep, NC, ph);
            d_ao = a->d_res;
        }
        zero(a->d_ctx, NC);
        linear_backward(a->d_ctx, G(W->ao_w), G(W->ao_b), d_ao, L->ctx, P(W->ao_w), N, C, C);
        const int adrop = dropping(a, pa);
        attention_backward_set(a->d_q, a->d_k, a->d_v, a->d_probs, a->d_ctx, L->q, L->k, L->v, L->probs,
                               adrop ? L->probs_drop : L->probs, adrop ? L->probs_keep : NULL, adrop ? pa : 0.0f,
                               B, T, NH, HS);
        if (a->extra_grad) a->extra_grad(a->extra_grad_ctx, l + 1, NULL, a->d_q, a->d_k);  // distillation
        linear_backward(dx, G(W->q_w), G(W->q_b), a->d_q, x_in, P(W->q_w), N, C, C);
        linear_backward(dx, G(W->k_w), G(W->k_b), a->d_k, x_in, P(W->k_w), N, C, C);
        linear_backward(dx, G(W->v_w), G(W->v_b), a->d_v, x_in, P(W->v_w), N, C, C);
        if (!dx) return;
        dout = dx;
    }
    if (frozen_below > 0) return;
    if (a->extra_grad) a->extra_grad(a->extra_grad_ctx, 0, dout, NULL, NULL);  // distillation
    if (dropping(a, ph)) dropout_grad(dout, dout, a->emb_keep, NC, ph);
    layernorm_backward_set(a->d_res, G(e->emb_ln_w), G(e->emb_ln_b), dout, a->emb_sum, P(e->emb_ln_w),
                           a->emb_mean, a->emb_rstd, N, C);
    embeddings_backward(G(e->wte), G(e->wpe), G(e->wtt), a->d_res, a->ids, a->type_ids, B, T, C);
}
