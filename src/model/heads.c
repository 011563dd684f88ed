#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/heads.h"
#include "ops/ops.h"
#include "util/rng.h"

void os_head_register(os_head *h, os_params *p, const char *prefix, int hidden) {
    char name[OS_PARAM_NAME_MAX];
    int64_t ws[2] = {h->num_labels, hidden}, bs[1] = {h->num_labels};
    snprintf(name, sizeof name, "%sclassifier.weight", prefix);
    h->w = os_params_add(p, name, 2, ws, 0);
    snprintf(name, sizeof name, "%sclassifier.bias", prefix);
    h->b = os_params_add(p, name, 1, bs, 1);
}

void os_head_init(const os_head *h, os_params *p, int hidden, float std, uint64_t seed) {
    os_rng r;
    os_rng_seed(&r, seed);
    const size_t nw = (size_t)h->num_labels * hidden;
    for (size_t j = 0; j < nw; j++) p->data[h->w + j] = std * os_rng_normal(&r);
    memset(p->data + h->b, 0, (size_t)h->num_labels * sizeof(float));
}

static int head_rows(const os_head *h, int B, int T) { return h->level == OS_TASK_SEQUENCE ? B : B * T; }

os_status os_head_plan(os_head *h, int B_max, int T_max, int hidden) {
    size_t rows = (size_t)head_rows(h, B_max, T_max), C = (size_t)hidden, L = (size_t)h->num_labels;
    os_head_free(h);
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
    h->x = h->logits = h->probs = h->d_logits = h->d_x = NULL;
    h->keep = NULL;
}

// The encoder rows this head reads: pooled [CLS] vectors or the whole sequence output.
static const float *head_input(const os_head *h, const os_encoder *e, const os_encoder_acts *a) {
    return h->level == OS_TASK_SEQUENCE ? a->pool : os_encoder_output(e, a);
}

void os_head_forward(os_head *h, const os_params *p, const os_encoder *e, const os_encoder_acts *a, int training,
                     uint64_t seed) {
    const int C = e->cfg.hidden_size;
    h->rows = head_rows(h, a->B, a->T);
    h->has_grad = 0;
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
    const int C = e->cfg.hidden_size;
    const size_t n = (size_t)h->rows * C;
    memset(h->d_x, 0, n * sizeof(float));
    linear_backward(h->d_x, p->grad + h->w, p->grad + h->b, h->d_logits, h->x, p->data + h->w, h->rows, C,
                    h->num_labels);
    float *dst = h->level == OS_TASK_SEQUENCE ? a->d_pool : a->d_seq;
    if (a->training && h->dropout > 0)
        dropout_backward(dst, h->d_x, h->keep, n, h->dropout);
    else
        for (size_t i = 0; i < n; i++) dst[i] += h->d_x[i];
}

int os_head_argmax(const os_head *h, int r) {
    const float *x = h->logits + (size_t)r * h->num_labels;
    int best = 0;
    for (int i = 1; i < h->num_labels; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

const char *os_task_level_name(os_task_level l) { return l == OS_TASK_SEQUENCE ? "sequence" : "token"; }

const char *os_problem_name(os_problem pr) {
    switch (pr) {
    case OS_PROBLEM_SINGLE_LABEL: return "single_label_classification";
    case OS_PROBLEM_MULTI_LABEL: return "multi_label_classification";
    case OS_PROBLEM_REGRESSION: return "regression";
    }
    return "?";
}
