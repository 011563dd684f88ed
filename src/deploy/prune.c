#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/deploy.h"
#include "deploy/prune.h"

// The block linears' weight tensors of layer l (or every layer when l < 0), by their HF names.
static int is_block_weight(const os_param_entry *e, int l) {
    if (!os_deploy_owns_param(e->name) || e->ndim != 2) return 0;
    if (l < 0) return 1;
    char pre[64];
    snprintf(pre, sizeof pre, "bert.encoder.layer.%d.", l);
    return !strncmp(e->name, pre, strlen(pre));
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

// Prunes the k smallest |w| of the group of block weights of layer l (l < 0: all layers).
static os_status prune_group(os_model *m, int l, double sparsity, uint8_t *mask) {
    os_params *p = &m->params;
    size_t n = 0;
    for (int i = 0; i < p->n; i++)
        if (is_block_weight(&p->entries[i], l)) n += p->entries[i].numel;
    const size_t k = (size_t)floor(sparsity * (double)n);
    if (!k) return OS_OK;
    float *mag = malloc(n * sizeof *mag);
    if (!mag) return os_fail(OS_ERR_NOMEM, "out of memory");
    size_t j = 0;
    for (int i = 0; i < p->n; i++)
        if (is_block_weight(&p->entries[i], l))
            for (size_t e = 0; e < p->entries[i].numel; e++) mag[j++] = fabsf(p->data[p->entries[i].offset + e]);
    qsort(mag, n, sizeof *mag, cmp_float);
    const float thr = mag[k - 1];  // the k-th smallest magnitude
    free(mag);
    // Everything strictly below the threshold, then ties at it in order until exactly k are pruned.
    size_t below = 0, done = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->n; i++) {
            const os_param_entry *en = &p->entries[i];
            if (!is_block_weight(en, l)) continue;
            for (size_t e = 0; e < en->numel; e++) {
                float *w = &p->data[en->offset + e];
                const float a = fabsf(*w);
                if (pass == 0 ? a < thr : (a == thr && done < k - below)) {
                    *w = 0;
                    mask[en->offset + e] = 0;
                    if (pass == 0) below++;
                    else done++;
                }
            }
        }
    return OS_OK;
}

os_status os_prune_magnitude(os_model *m, double sparsity, int global, uint8_t *mask) {
    if (!(sparsity >= 0 && sparsity < 1)) return os_fail(OS_ERR_USAGE, "sparsity must be in [0, 1), got %g", sparsity);
    if (m->deploy) return os_fail(OS_ERR_INPUT, "the model is already compressed (int8 or pruned); prune the fp32 model");
    if (global) return prune_group(m, -1, sparsity, mask);
    for (int l = 0; l < m->cfg.num_hidden_layers; l++) {
        os_status st = prune_group(m, l, sparsity, mask);
        if (st) return st;
    }
    return OS_OK;
}

void os_prune_count(const os_model *m, size_t *zeros, size_t *total) {
    *zeros = *total = 0;
    for (int i = 0; i < m->params.n; i++) {
        const os_param_entry *e = &m->params.entries[i];
        if (!is_block_weight(e, -1)) continue;
        *total += e->numel;
        for (size_t j = 0; j < e->numel; j++) *zeros += m->params.data[e->offset + j] == 0.0f;
    }
}

// ---- structured -----------------------------------------------------------------------------------------

static const float *tensor(const os_model *m, int l, const char *sub, size_t *offset) {
    char name[OS_PARAM_NAME_MAX];
    snprintf(name, sizeof name, "bert.encoder.layer.%d.%s", l, sub);
    int i = os_params_find(&m->params, name);
    if (i < 0) return NULL;
    if (offset) *offset = m->params.entries[i].offset;
    return m->params.data + m->params.entries[i].offset;
}

// Norm of rows [r0, r0+nr) (cols = 0) or of columns [r0, r0+nr) (cols = 1) of a (R, K) matrix.
static double block_norm(const float *w, int R, int K, int r0, int nr, int cols) {
    double s = 0;
    if (!cols) {
        for (int r = r0; r < r0 + nr; r++)
            for (int k = 0; k < K; k++) s += (double)w[(size_t)r * K + k] * w[(size_t)r * K + k];
    } else {
        for (int r = 0; r < R; r++)
            for (int k = r0; k < r0 + nr; k++) s += (double)w[(size_t)r * K + k] * w[(size_t)r * K + k];
    }
    return sqrt(s);
}

// keep[i] = 0 for the n_remove lowest scores (ties: the lower index goes first).
static void drop_lowest(uint8_t *keep, const double *score, int n, int n_remove) {
    memset(keep, 1, (size_t)n);
    for (int r = 0; r < n_remove; r++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (keep[i] && (best < 0 || score[i] < score[best])) best = i;
        keep[best] = 0;
    }
}

void os_prune_plan_free(os_prune_plan *plan) {
    for (int l = 0; l < plan->n_layers; l++) {
        if (plan->keep_head) free(plan->keep_head[l]);
        if (plan->keep_ffn) free(plan->keep_ffn[l]);
    }
    free(plan->keep_head);
    free(plan->keep_ffn);
    memset(plan, 0, sizeof *plan);
}

os_status os_prune_plan_structured(os_prune_plan *plan, const os_model *m, double heads_frac, double ffn_frac) {
    memset(plan, 0, sizeof *plan);
    if (!(heads_frac >= 0 && heads_frac < 1)) return os_fail(OS_ERR_USAGE, "--heads must be in [0, 1), got %g", heads_frac);
    if (!(ffn_frac >= 0 && ffn_frac < 1)) return os_fail(OS_ERR_USAGE, "--ffn must be in [0, 1), got %g", ffn_frac);
    if (m->deploy) return os_fail(OS_ERR_INPUT, "the model is already compressed (int8 or pruned); prune the fp32 model");
    const int L = m->cfg.num_hidden_layers, NH = m->cfg.num_attention_heads, I = m->cfg.intermediate_size;
    const int C = m->cfg.hidden_size, HS = C / NH;
    plan->n_layers = L;
    plan->n_heads = NH;
    plan->inter = I;
    plan->keep_head = calloc((size_t)L, sizeof *plan->keep_head);
    plan->keep_ffn = calloc((size_t)L, sizeof *plan->keep_ffn);
    double *score = malloc((size_t)(NH > I ? NH : I) * sizeof *score);
    os_status st = plan->keep_head && plan->keep_ffn && score ? OS_OK : os_fail(OS_ERR_NOMEM, "out of memory");
    int rm_heads = (int)lround(heads_frac * NH), rm_ffn = (int)lround(ffn_frac * I);
    if (rm_heads >= NH) rm_heads = NH - 1;
    if (rm_ffn >= I) rm_ffn = I - 1;
    for (int l = 0; l < L && !st; l++) {
        const float *wv = tensor(m, l, "attention.self.value.weight", NULL);
        const float *wao = tensor(m, l, "attention.output.dense.weight", NULL);
        const float *wi = tensor(m, l, "intermediate.dense.weight", NULL), *wo = tensor(m, l, "output.dense.weight", NULL);
        plan->keep_head[l] = malloc((size_t)NH);
        plan->keep_ffn[l] = malloc((size_t)I);
        if (!wv || !wao || !wi || !wo) st = os_fail(OS_ERR_INTERNAL, "layer %d: encoder tensors not found", l);
        else if (!plan->keep_head[l] || !plan->keep_ffn[l]) st = os_fail(OS_ERR_NOMEM, "out of memory");
        if (st) break;
        for (int h = 0; h < NH; h++)
            score[h] = block_norm(wv, C, C, h * HS, HS, 0) * block_norm(wao, C, C, h * HS, HS, 1);
        drop_lowest(plan->keep_head[l], score, NH, rm_heads);
        for (int j = 0; j < I; j++) score[j] = block_norm(wi, I, C, j, 1, 0) * block_norm(wo, C, I, j, 1, 1);
        drop_lowest(plan->keep_ffn[l], score, I, rm_ffn);
    }
    free(score);
    if (st) os_prune_plan_free(plan);
    return st;
}

// Zeroes rows [r0, r0+nr) (cols = 0) or columns [r0, r0+nr) (cols = 1) of the (R, K) tensor at offset.
static void zero_block(os_params *p, uint8_t *mask, size_t off, int R, int K, int r0, int nr, int cols) {
    const int rb = cols ? 0 : r0, re = cols ? R : r0 + nr, kb = cols ? r0 : 0, ke = cols ? r0 + nr : K;
    for (int r = rb; r < re; r++)
        for (int k = kb; k < ke; k++) p->data[off + (size_t)r * K + k] = 0, mask[off + (size_t)r * K + k] = 0;
}

os_status os_prune_apply_plan(os_model *m, const os_prune_plan *plan, uint8_t *mask) {
    const int C = m->cfg.hidden_size, HS = C / plan->n_heads, I = plan->inter;
    static const char *const qkv[6] = {"attention.self.query.weight", "attention.self.query.bias",
                                       "attention.self.key.weight",   "attention.self.key.bias",
                                       "attention.self.value.weight", "attention.self.value.bias"};
    for (int l = 0; l < plan->n_layers; l++) {
        size_t off[6], ao, wi, bi, wo;
        for (int i = 0; i < 6; i++)
            if (!tensor(m, l, qkv[i], &off[i])) return os_fail(OS_ERR_INTERNAL, "layer %d: '%s' not found", l, qkv[i]);
        if (!tensor(m, l, "attention.output.dense.weight", &ao) || !tensor(m, l, "intermediate.dense.weight", &wi) ||
            !tensor(m, l, "intermediate.dense.bias", &bi) || !tensor(m, l, "output.dense.weight", &wo))
            return os_fail(OS_ERR_INTERNAL, "layer %d: encoder tensors not found", l);
        for (int h = 0; h < plan->n_heads; h++) {
            if (plan->keep_head[l][h]) continue;
            for (int i = 0; i < 6; i += 2) {
                zero_block(&m->params, mask, off[i], C, C, h * HS, HS, 0);
                zero_block(&m->params, mask, off[i + 1], C, 1, h * HS, HS, 0);
            }
            zero_block(&m->params, mask, ao, C, C, h * HS, HS, 1);
        }
        for (int j = 0; j < I; j++) {
            if (plan->keep_ffn[l][j]) continue;
            zero_block(&m->params, mask, wi, I, C, j, 1, 0);
            zero_block(&m->params, mask, bi, I, 1, j, 1, 0);
            zero_block(&m->params, mask, wo, C, I, j, 1, 1);
        }
    }
    return OS_OK;
}

void os_prune_mask_apply(os_params *p, const uint8_t *mask) {
    for (size_t i = 0; i < p->total; i++)
        if (!mask[i]) p->data[i] = 0;
}

uint8_t *os_prune_mask_transfer(const os_params *from, const uint8_t *mask, const os_params *to) {
    uint8_t *out = malloc(to->total ? to->total : 1);
    if (!out) return NULL;
    memset(out, 1, to->total);
    for (int i = 0; i < to->n; i++) {
        const os_param_entry *e = &to->entries[i];
        int j = os_params_find(from, e->name);
        if (j >= 0 && from->entries[j].numel == e->numel) memcpy(out + e->offset, mask + from->entries[j].offset, e->numel);
    }
    return out;
}
