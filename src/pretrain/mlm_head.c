#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "pretrain/mlm_head.h"
#include "util/rng.h"

void os_mlm_head_register(os_mlm_head *h, os_params *p, const os_encoder *e) {
    memset(h, 0, sizeof *h);
    const int64_t C = e->cfg.hidden_size, V = e->cfg.vocab_size;
    const int64_t cc[2] = {C, C}, c1[1] = {C}, v1[1] = {V};
    h->C = (int)C;
    h->V = (int)V;
    h->eps = e->cfg.layer_norm_eps;
    h->wte = e->wte;
    h->dense_w = os_params_add(p, "cls.predictions.transform.dense.weight", 2, cc, 0);
    h->dense_b = os_params_add(p, "cls.predictions.transform.dense.bias", 1, c1, 1);
    h->ln_w = os_params_add(p, "cls.predictions.transform.LayerNorm.weight", 1, c1, 1);
    h->ln_b = os_params_add(p, "cls.predictions.transform.LayerNorm.bias", 1, c1, 1);
    h->bias = os_params_add(p, "cls.predictions.bias", 1, v1, 1);
}

void os_mlm_head_init(const os_mlm_head *h, os_params *p, float std, uint64_t seed) {
    os_rng r;
    os_rng_seed(&r, seed);
    const size_t C = (size_t)h->C;
    float *w = p->data + h->dense_w;
    for (size_t i = 0; i < C * C; i++) w[i] = std * os_rng_normal(&r);
    memset(p->data + h->dense_b, 0, C * sizeof(float));
    for (size_t i = 0; i < C; i++) p->data[h->ln_w + i] = 1.0f;
    memset(p->data + h->ln_b, 0, C * sizeof(float));
    memset(p->data + h->bias, 0, (size_t)h->V * sizeof(float));
}

os_status os_mlm_head_plan(os_mlm_head *h, int M_max) {
    if (h->M_max >= M_max) return OS_OK;
    os_mlm_head_free(h);
    const size_t MC = (size_t)M_max * h->C, MV = (size_t)M_max * h->V;
    float **mc[] = {&h->x, &h->t, &h->g, &h->h, &h->d_h, &h->d_g, &h->d_t, &h->d_x};
    for (size_t i = 0; i < sizeof mc / sizeof mc[0]; i++) *mc[i] = os_calloc(MC, sizeof(float));
    h->mean = os_calloc((size_t)M_max, sizeof(float));
    h->rstd = os_calloc((size_t)M_max, sizeof(float));
    h->logits = os_calloc(MV, sizeof(float));
    h->probs = os_calloc(MV, sizeof(float));
    h->d_logits = os_calloc(MV, sizeof(float));
    int ok = h->mean && h->rstd && h->logits && h->probs && h->d_logits;
    for (size_t i = 0; i < sizeof mc / sizeof mc[0]; i++) ok &= *mc[i] != NULL;
    if (!ok) {
        os_mlm_head_free(h);
        return OS_ERR_NOMEM;
    }
    h->M_max = M_max;
    return OS_OK;
}

void os_mlm_head_free(os_mlm_head *h) {
    float **all[] = {&h->x, &h->t, &h->g, &h->h, &h->d_h, &h->d_g, &h->d_t, &h->d_x,
                     &h->mean, &h->rstd, &h->logits, &h->probs, &h->d_logits};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
    h->M_max = h->M = 0;
}

void os_mlm_head_forward(os_mlm_head *h, const os_params *p, const float *seq, const int32_t *rows, int M) {
    const int C = h->C;
    h->M = M;
    for (int i = 0; i < M; i++) memcpy(h->x + (size_t)i * C, seq + (size_t)rows[i] * C, (size_t)C * sizeof(float));
    const float *P = p->data;
    linear_forward(h->t, h->x, P + h->dense_w, P + h->dense_b, M, C, C);
    gelu_forward(h->g, h->t, (size_t)M * C);
    layernorm_forward(h->h, h->mean, h->rstd, h->g, P + h->ln_w, P + h->ln_b, M, C, h->eps);
    linear_forward(h->logits, h->h, P + h->wte, P + h->bias, M, C, h->V);
}

float os_mlm_head_loss(os_mlm_head *h, const int32_t *targets, float scale, int *correct) {
    const int M = h->M, V = h->V;
    int n_valid = 0;
    float loss = cross_entropy_forward(h->probs, h->logits, targets, M, V, -100, &n_valid);
    memset(h->d_logits, 0, (size_t)M * V * sizeof(float));
    if (n_valid) cross_entropy_backward(h->d_logits, h->probs, targets, M, V, -100, n_valid, scale);
    if (correct) {
        int hits = 0;
        for (int i = 0; i < M; i++) {
            const float *l = h->logits + (size_t)i * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (l[v] > l[best]) best = v;
            hits += best == targets[i];
        }
        *correct = hits;
    }
    return loss;
}

void os_mlm_head_backward(os_mlm_head *h, os_params *p, const int32_t *rows, float *d_seq) {
    const int M = h->M, C = h->C;
    const size_t MC = (size_t)M * C;
    const float *P = p->data;
    float *G = p->grad;
    memset(h->d_h, 0, MC * sizeof(float));
    memset(h->d_g, 0, MC * sizeof(float));
    memset(h->d_t, 0, MC * sizeof(float));
    memset(h->d_x, 0, MC * sizeof(float));
    linear_backward(h->d_h, G + h->wte, G + h->bias, h->d_logits, h->h, P + h->wte, M, C, h->V);
    layernorm_backward(h->d_g, G + h->ln_w, G + h->ln_b, h->d_h, h->g, P + h->ln_w, h->mean, h->rstd, M, C);
    gelu_backward(h->d_t, h->t, h->d_g, MC);
    linear_backward(h->d_x, G + h->dense_w, G + h->dense_b, h->d_t, h->x, P + h->dense_w, M, C, C);
    for (int i = 0; i < M; i++) {
        float *dst = d_seq + (size_t)rows[i] * C;
        const float *src = h->d_x + (size_t)i * C;
        for (int c = 0; c < C; c++) dst[c] += src[c];
    }
}
