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
}

void os_head_init(const os_head *h, os_params *p, int hidden, float std, uint64_t seed) {
    os_rng r;
    os_rng_seed(&r, seed);
    (void)hidden;
    const size_t nw = (size_t)h->num_labels * h->in_dim;
    for (size_t j = 0; j < nw; j++) p->data[h->w + j] = std * os_rng_normal(&r);
    memset(p->data + h->b, 0, (size_t)h->num_labels * sizeof(float));
}

static int head_rows(const os_head *h, int B, int T) { return h->level == OS_TASK_TOKEN ? B * T : B; }

os_status os_head_plan(os_head *h, int B_max, int T_max, int hidden) {
    size_t rows = (size_t)head_rows(h, B_max, T_max), C = (size_t)h->in_dim, L = (size_t)h->num_labels;
    (void)hidden;
    os_head_free(h);
    if (h->level == OS_TASK_ENTITY_PAIR && !(h->gathered = os_calloc(rows * C, sizeof(float)))) return OS_ERR_NOMEM;
    h->x = os_calloc(rows * C, sizeof(float));
    h->keep = os_calloc(rows * C, 1);
    h->logits = os_calloc(rows * L, sizeof(float));
    h->probs = os_calloc(rows * L, sizeof(float));
    h->d_logits = os_calloc(rows * L, sizeof(float));
    h->d_x = os_calloc(rows * C, sizeof(float));
    if (!h->x || !h->keep || !h->logits || !h->probs || !h->d_logits || !h->d_x) return OS_ERR_NOMEM;
    return OS_OK;
}

void os_head_free(os_head *h) {
    free(h->x);
    free(h->keep);
    free(h->logits);
    free(h->probs);
    free(h->d_logits);
    free(h->d_x);
    free(h->gathered);
    h->gathered = NULL;
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
                     const int32_t *pair_pos, int training, uint64_t seed) {
    const int C = h->in_dim;
    h->rows = head_rows(h, a->B, a->T);
    h->has_grad = 0;
    h->pair_pos = pair_pos;
    size_t n = (size_t)h->rows * C;
    const float *in = head_input(h, e, a);
    if (training && h->dropout > 0)
        dropout_forward(h->x, h->keep, in, n, h->dropout, seed);
    else
        memcpy(h->x, in, n * sizeof(float));
    linear_forward(h->logits, h->x, p->data + h->w, p->data + h->b, h->rows, C, h->num_labels);
}

static float sigmoid(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

float os_head_loss(os_head *h, const os_head_labels *labels, const int32_t *mask, float grad_scale,
                   int *n_labelled) {
    const int R = h->rows, L = h->num_labels;
    (void)mask;
    float loss = 0;
    int n = 0;
    if (h->problem == OS_PROBLEM_SINGLE_LABEL) {
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
