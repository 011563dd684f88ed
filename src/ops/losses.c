// Losses, each returning the mean; backwards add scale * d(mean loss)/d(input).
#include <math.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

float cross_entropy_forward(float *probs, const float *logits, const int32_t *targets, int N, int C,
                            int ignore_index, int *n_valid) {
    // Per-row losses land in a buffer and are summed in row order: the result does not depend on threads.
    double *row_loss = ops_xmalloc((size_t)(N > 0 ? N : 1) * sizeof *row_loss);
#pragma omp parallel for schedule(static) if ((size_t)N * C > OPS_PAR_MIN / 4)
    for (int n = 0; n < N; n++) {
        const float *x = logits + (size_t)n * C;
        float *p = probs + (size_t)n * C;
        float mx;
        const double sum = ops_exp_shifted(p, x, C, &mx);
        const float inv = (float)(1.0 / sum);
#pragma omp simd
        for (int c = 0; c < C; c++) p[c] *= inv;
        const int t = targets[n];
        // -log_softmax(x)[t] = log(sum exp(x - max)) - (x[t] - max)
        row_loss[n] = t == ignore_index ? 0.0 : log(sum) - ((double)x[t] - (double)mx);
    }
    double total = 0.0;
    int valid = 0;
    for (int n = 0; n < N; n++) {
        if (targets[n] == ignore_index) continue;
        total += row_loss[n];
        valid++;
    }
    free(row_loss);
    if (n_valid) *n_valid = valid;
    return valid ? (float)(total / valid) : 0.0f;
}

void cross_entropy_backward(float *dlogits, const float *probs, const int32_t *targets, int N, int C,
                            int ignore_index, int n_valid, float scale) {
    if (n_valid <= 0) return;
    const float g = scale / (float)n_valid;
#pragma omp parallel for schedule(static) if ((size_t)N * C > OPS_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const int t = targets[n];
        if (t == ignore_index) continue;
        const float *p = probs + (size_t)n * C;
        float *d = dlogits + (size_t)n * C;
#pragma omp simd
        for (int c = 0; c < C; c++) d[c] += g * p[c];
        d[t] -= g;
    }
}

float mse_forward(const float *pred, const float *target, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)pred[i] - (double)target[i];
        s += d * d;
    }
    return n ? (float)(s / (double)n) : 0.0f;
}

void mse_backward(float *dpred, const float *pred, const float *target, size_t n, float scale) {
    if (!n) return;
    const float g = 2.0f * scale / (float)n;
    for (size_t i = 0; i < n; i++) dpred[i] += g * (pred[i] - target[i]);
}

float bce_logits_forward(const float *logits, const float *target, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = logits[i], t = target[i];
        s += (x > 0.0 ? x : 0.0) - x * t + log1p(exp(-fabs(x)));
    }
    return n ? (float)(s / (double)n) : 0.0f;
}

void bce_logits_backward(float *dlogits, const float *logits, const float *target, size_t n, float scale) {
    if (!n) return;
    const float g = scale / (float)n;
    for (size_t i = 0; i < n; i++) {
        const float x = logits[i];
        float sig;  // stable sigmoid
        if (x >= 0.0f) {
            sig = 1.0f / (1.0f + expf(-x));
        } else {
            float e = expf(x);
            sig = e / (1.0f + e);
        }
        dlogits[i] += g * (sig - target[i]);
    }
}
