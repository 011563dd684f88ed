#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/heads.h"
#include "ops/ops.h"
#include "util/rng.h"

void os_head_register(os_head *h, os_params *p, const char *prefix, int hidden) {
    char name[OS_PARAM_NAME_MAX];
    h->in_dim = h->level == OS_TASK_ENTITY_PAIR ? 2 * hidden : hidden;
    int64_t ws[2] = {h->num_labels, h->in_dim}, bs[1] = {h->num_labels};
    snprintf(name, sizeof name, "%sclassifier.weight", prefix);
    h->w = os_params_add(p, name, 2, ws, 0);
    snprintf(name, sizeof name, "%sclassifier.bias", prefix);
    h->b = os_params_add(p, name, 1, bs, 1);
    if (h->crf) {  // pytorch-crf's parameter names
        int64_t tk[2] = {h->num_labels, h->num_labels};
        snprintf(name, sizeof name, "%scrf.start_transitions", prefix);
        h->crf_start = os_params_add(p, name, 1, bs, 1);
        snprintf(name, sizeof name, "%scrf.end_transitions", prefix);
        h->crf_end = os_params_add(p, name, 1, bs, 1);
        snprintf(name, sizeof name, "%scrf.transitions", prefix);
        h->crf_trans = os_params_add(p, name, 2, tk, 1);
    }
}

void os_head_init(const os_head *h, os_params *p, int hidden, float std, uint64_t seed) {
    os_rng r;
    os_rng_seed(&r, seed);
    (void)hidden;
    const size_t nw = (size_t)h->num_labels * h->in_dim;
    for (size_t j = 0; j < nw; j++) p->data[h->w + j] = std * os_rng_normal(&r);
    memset(p->data + h->b, 0, (size_t)h->num_labels * sizeof(float));
    if (h->crf) {  // pytorch-crf: uniform(-0.1, 0.1)
        const size_t K = (size_t)h->num_labels;
        for (size_t j = 0; j < K; j++) p->data[h->crf_start + j] = 0.2f * os_rng_uniform(&r) - 0.1f;
        for (size_t j = 0; j < K; j++) p->data[h->crf_end + j] = 0.2f * os_rng_uniform(&r) - 0.1f;
        for (size_t j = 0; j < K * K; j++) p->data[h->crf_trans + j] = 0.2f * os_rng_uniform(&r) - 0.1f;
    }
}

static void free_buffers(os_head *h);

static int head_rows(const os_head *h, int B, int T) { return h->level == OS_TASK_TOKEN ? B * T : B; }

os_status os_head_plan(os_head *h, int B_max, int T_max, int hidden) {
    size_t rows = (size_t)head_rows(h, B_max, T_max), C = (size_t)h->in_dim, L = (size_t)h->num_labels;
    (void)hidden;
    free_buffers(h);
    if (h->level == OS_TASK_ENTITY_PAIR && !(h->gathered = os_calloc(rows * C, sizeof(float)))) return OS_ERR_NOMEM;
    h->x = os_calloc(rows * C, sizeof(float));
    h->keep = os_calloc(rows * C, 1);
    h->logits = os_calloc(rows * L, sizeof(float));
    h->probs = os_calloc(rows * L, sizeof(float));
    h->d_logits = os_calloc(rows * L, sizeof(float));
    h->d_x = os_calloc(rows * C, sizeof(float));
    if (!h->x || !h->keep || !h->logits || !h->probs || !h->d_logits || !h->d_x) return OS_ERR_NOMEM;
    if (h->crf) {
        const size_t BT = (size_t)B_max * T_max, K = L;
        h->em = os_calloc(BT * K, sizeof(float));
        h->d_em = os_calloc(BT * K, sizeof(float));
        h->em_pos = os_calloc(BT, sizeof(int32_t));
        h->em_tags = os_calloc(BT, sizeof(int32_t));
        h->em_len = os_calloc((size_t)B_max, sizeof(int32_t));
        h->alpha = os_calloc(BT * K, sizeof(double));
        h->beta = os_calloc(BT * K, sizeof(double));
        h->logz = os_calloc((size_t)B_max, sizeof(double));
        h->d_start = os_calloc(K, sizeof(float));
        h->d_end = os_calloc(K, sizeof(float));
        h->d_trans = os_calloc(K * K, sizeof(float));
        if (!h->em || !h->d_em || !h->em_pos || !h->em_tags || !h->em_len || !h->alpha || !h->beta || !h->logz ||
            !h->d_start || !h->d_end || !h->d_trans)
            return OS_ERR_NOMEM;
    }
    return OS_OK;
}

void os_head_free(os_head *h) {
    crf_constraints_free(&h->cons);
    free_buffers(h);
}

static void free_buffers(os_head *h) {
    free(h->x);
    free(h->keep);
    free(h->logits);
    free(h->probs);
    free(h->d_logits);
    free(h->d_x);
    free(h->gathered);
    h->gathered = NULL;
    free(h->em);
    free(h->d_em);
    free(h->em_pos);
    free(h->em_tags);
    free(h->em_len);
    free(h->alpha);
    free(h->beta);
    free(h->logz);
    free(h->d_start);
    free(h->d_end);
    free(h->d_trans);
    h->em = h->d_em = h->d_start = h->d_end = h->d_trans = NULL;
    h->em_pos = h->em_tags = h->em_len = NULL;
    h->alpha = h->beta = h->logz = NULL;
    h->x = h->logits = h->probs = h->d_logits = h->d_x = NULL;
    h->keep = NULL;
}

// The rows this head reads: pooled [CLS] vectors, the whole sequence output, or (entity pairs) the two
// marked token vectors of each sequence side by side.
static const float *head_input(os_head *h, const os_encoder *e, const os_encoder_acts *a) {
    if (h->level == OS_TASK_SEQUENCE) return a->pool;
    const float *seq = os_encoder_output(e, a);
    if (h->level == OS_TASK_TOKEN) return seq;
    const size_t C = (size_t)e->cfg.hidden_size;
    for (int b = 0; b < a->B; b++)
        for (int k = 0; k < 2; k++)
            memcpy(h->gathered + ((size_t)b * 2 + k) * C, seq + ((size_t)b * a->T + h->pair_pos[2 * b + k]) * C,
                   C * sizeof(float));
    return h->gathered;
}

void os_head_forward(os_head *h, const os_params *p, const os_encoder *e, const os_encoder_acts *a,
                     const int32_t *pair_pos, const uint8_t *word_first, int training, uint64_t seed) {
    const int C = h->in_dim;
    h->rows = head_rows(h, a->B, a->T);
    h->has_grad = 0;
    h->pair_pos = pair_pos;
    h->word_first = word_first;
    h->cur_B = a->B;
    h->cur_T = a->T;
    h->params = p;
    size_t n = (size_t)h->rows * C;
    const float *in = head_input(h, e, a);
    if (training && h->dropout > 0)
        dropout_forward(h->x, h->keep, in, n, h->dropout, seed);
    else
        memcpy(h->x, in, n * sizeof(float));
    linear_forward(h->logits, h->x, p->data + h->w, p->data + h->b, h->rows, C, h->num_labels);
}

static float sigmoid(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

// Gathers each row's word-first emissions (and gold tags) into the compact CRF layout. A row whose words
// are not all labelled (or that has no word_first mask) gets length 0: the CRF needs whole gold paths.
static void crf_gather(os_head *h, const int32_t *gold, int B, int T) {
    const int K = h->num_labels;
    for (int b = 0; b < B; b++) {
        int n = 0, complete = 1;
        for (int t = 0; t < T; t++) {
            if (!h->word_first || !h->word_first[(size_t)b * T + t]) continue;
            const size_t src = (size_t)b * T + t, dst = (size_t)b * T + n;
            memcpy(h->em + dst * K, h->logits + src * K, (size_t)K * sizeof(float));
            h->em_pos[dst] = t;
            h->em_tags[dst] = gold ? gold[src] : 0;
            if (gold && gold[src] < 0) complete = 0;
            n++;
        }
        h->em_len[b] = complete ? n : 0;
    }
}

static float crf_loss(os_head *h, const int32_t *gold, float grad_scale, int *n_labelled) {
    const int K = h->num_labels, rowsB = h->cur_B, T = h->cur_T;
    const float *pstart = h->params->data + h->crf_start, *pend = h->params->data + h->crf_end;
    const float *ptrans = h->params->data + h->crf_trans;
    crf_gather(h, gold, rowsB, T);
    int n = 0;
    for (int b = 0; b < rowsB; b++) n += h->em_len[b];
    *n_labelled = n;
    if (!n) return 0.0f;
    const crf_constraints *cons = h->cons.K ? &h->cons : NULL;
    float loss = crf_nll_forward(NULL, h->alpha, h->beta, h->logz, h->em, h->em_tags, h->em_len, pstart,
                                 pend, ptrans, cons, rowsB, T, K, CRF_REDUCE_TOKEN_MEAN);
    if (grad_scale != 0) {
        memset(h->d_em, 0, (size_t)rowsB * T * K * sizeof(float));
        memset(h->d_start, 0, (size_t)K * sizeof(float));
        memset(h->d_end, 0, (size_t)K * sizeof(float));
        memset(h->d_trans, 0, (size_t)K * K * sizeof(float));
        crf_nll_backward(h->d_em, h->d_start, h->d_end, h->d_trans, h->alpha, h->beta, h->logz, h->em, h->em_tags,
                         h->em_len, ptrans, cons, rowsB, T, K, CRF_REDUCE_TOKEN_MEAN, grad_scale);
        memset(h->d_logits, 0, (size_t)rowsB * T * K * sizeof(float));
        for (int b = 0; b < rowsB; b++)
            for (int i = 0; i < h->em_len[b]; i++) {
                const size_t c = (size_t)b * T + i, src = (size_t)b * T + h->em_pos[c];
                memcpy(h->d_logits + src * K, h->d_em + c * K, (size_t)K * sizeof(float));
            }
        h->has_grad = 1;
    }
    return loss;
}

float os_head_loss(os_head *h, const os_head_labels *labels, float grad_scale,
                   int *n_labelled) {
    const int R = h->rows, L = h->num_labels;
    float loss = 0;
    int n = 0;
    if (h->crf) {
        loss = (labels && labels->classes) ? crf_loss(h, labels->classes, grad_scale, &n) : 0.0f;
        softmax_forward(h->probs, h->logits, R, L);
    } else if (h->problem == OS_PROBLEM_SINGLE_LABEL) {
        if (labels && labels->classes) {
            loss = cross_entropy_forward(h->probs, h->logits, labels->classes, R, L, OS_IGNORE_LABEL, &n);
            if (grad_scale != 0 && n > 0) {
                memset(h->d_logits, 0, (size_t)R * L * sizeof(float));
                cross_entropy_backward(h->d_logits, h->probs, labels->classes, R, L, OS_IGNORE_LABEL, n,
                                       grad_scale);
                h->has_grad = 1;
            }
        } else {
            softmax_forward(h->probs, h->logits, R, L);
        }
    } else if (labels && labels->values) {
        // Rows whose first target is NaN are unlabelled: losses average over labelled rows only.
        double sum = 0;
        if (grad_scale != 0) memset(h->d_logits, 0, (size_t)R * L * sizeof(float));
        for (int r = 0; r < R; r++) {
            const float *t = labels->values + (size_t)r * L;
            if (isnan(t[0])) continue;
            n++;
        }
        for (int r = 0; r < R && n > 0; r++) {
            const float *t = labels->values + (size_t)r * L, *x = h->logits + (size_t)r * L;
            if (isnan(t[0])) continue;
            float *d = h->d_logits + (size_t)r * L;
            // Row losses are means over L values; the batch loss is the mean over n rows, as torch's
            // mean-reduced losses over an (n, L) tensor.
            if (h->problem == OS_PROBLEM_REGRESSION) {
                sum += mse_forward(x, t, (size_t)L);
                if (grad_scale != 0) mse_backward(d, x, t, (size_t)L, grad_scale / (float)n);
            } else {
                sum += bce_logits_forward(x, t, (size_t)L);
                if (grad_scale != 0) bce_logits_backward(d, x, t, (size_t)L, grad_scale / (float)n);
            }
        }
        loss = n ? (float)(sum / n) : 0.0f;
        h->has_grad = grad_scale != 0 && n > 0;
    }
    if (h->problem == OS_PROBLEM_MULTI_LABEL)
        for (size_t i = 0; i < (size_t)R * L; i++) h->probs[i] = sigmoid(h->logits[i]);
    else if (h->problem == OS_PROBLEM_REGRESSION)
        memcpy(h->probs, h->logits, (size_t)R * L * sizeof(float));
    if (n_labelled) *n_labelled = n;
    return loss;
}

void os_head_backward(os_head *h, os_params *p, const os_encoder *e, os_encoder_acts *a) {
    if (!h->has_grad) return;
    const int C = h->in_dim;
    if (h->crf) {
        const size_t K = (size_t)h->num_labels;
        for (size_t j = 0; j < K; j++) p->grad[h->crf_start + j] += h->d_start[j];
        for (size_t j = 0; j < K; j++) p->grad[h->crf_end + j] += h->d_end[j];
        for (size_t j = 0; j < K * K; j++) p->grad[h->crf_trans + j] += h->d_trans[j];
    }
    const size_t n = (size_t)h->rows * C;
    memset(h->d_x, 0, n * sizeof(float));
    linear_backward(h->d_x, p->grad + h->w, p->grad + h->b, h->d_logits, h->x, p->data + h->w, h->rows, C,
                    h->num_labels);
    if (a->training && h->dropout > 0) {  // d_x becomes the gradient before dropout, in place
        const float scale = 1.0f / (1.0f - h->dropout);
        for (size_t i = 0; i < n; i++) h->d_x[i] = h->keep[i] ? h->d_x[i] * scale : 0.0f;
    }
    if (h->level == OS_TASK_ENTITY_PAIR) {  // scatter back to the two marked tokens of each sequence
        const size_t H = (size_t)e->cfg.hidden_size;
        for (int b = 0; b < a->B; b++)
            for (int k = 0; k < 2; k++) {
                float *dst = a->d_seq + ((size_t)b * a->T + h->pair_pos[2 * b + k]) * H;
                const float *src = h->d_x + ((size_t)b * 2 + k) * H;
                for (size_t i = 0; i < H; i++) dst[i] += src[i];
            }
        return;
    }
    float *dst = h->level == OS_TASK_SEQUENCE ? a->d_pool : a->d_seq;
    for (size_t i = 0; i < n; i++) dst[i] += h->d_x[i];
}

int os_head_argmax(const os_head *h, int r) {
    const float *x = h->logits + (size_t)r * h->num_labels;
    int best = 0;
    for (int i = 1; i < h->num_labels; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

const char *os_task_level_name(os_task_level l) {
    return l == OS_TASK_SEQUENCE ? "sequence" : l == OS_TASK_TOKEN ? "token" : "entity_pair";
}

const char *os_problem_name(os_problem pr) {
    switch (pr) {
    case OS_PROBLEM_SINGLE_LABEL: return "single_label_classification";
    case OS_PROBLEM_MULTI_LABEL: return "multi_label_classification";
    case OS_PROBLEM_REGRESSION: return "regression";
    }
    return "?";
}

os_status os_head_crf_setup(os_head *h) {
    crf_constraints_free(&h->cons);
    memset(&h->cons, 0, sizeof h->cons);
    if (!h->crf || !h->tag_scheme || !strcmp(h->tag_scheme, "none")) return OS_OK;
    os_tag_scheme scheme;
    if (os_tag_scheme_parse(h->tag_scheme, &scheme) < 0)
        return os_fail(OS_ERR_INPUT, "task '%s': unknown tag scheme '%s'", h->name, h->tag_scheme);
    char msg[300];
    os_status st = crf_constraints_build(&h->cons, scheme, (const char *const *)h->labels, h->num_labels);
    if (st) {
        snprintf(msg, sizeof msg, "%s", os_last_error());
        return os_fail(st, "task '%s': %s", h->name, msg);
    }
    return OS_OK;
}

void os_head_decode_row(os_head *h, const os_params *p, int b, int T, int32_t *out) {
    const int K = h->num_labels;
    if (!h->crf) {
        for (int t = 0; t < T; t++) out[t] = os_head_argmax(h, b * T + t);
        return;
    }
    for (int t = 0; t < T; t++) out[t] = -1;
    int n = 0;
    float *em = h->em + (size_t)b * T * K;
    int32_t *pos = h->em_pos + (size_t)b * T, *tags = h->em_tags + (size_t)b * T;
    for (int t = 0; t < T; t++) {
        if (!h->word_first || !h->word_first[(size_t)b * T + t]) continue;
        memcpy(em + (size_t)n * K, h->logits + ((size_t)b * T + t) * K, (size_t)K * sizeof(float));
        pos[n++] = t;
    }
    if (!n) return;
    int32_t len = n;
    float score;
    crf_viterbi(tags, &score, em, &len, p->data + h->crf_start, p->data + h->crf_end, p->data + h->crf_trans,
                h->cons.K ? &h->cons : NULL, 1, n, K);
    for (int i = 0; i < n; i++) out[pos[i]] = tags[i];
}
