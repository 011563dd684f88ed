// Row softmax with max subtraction (one thread per row).
#include "ops/ops.h"
#include "ops/ops_internal.h"

void softmax_forward(float *out, const float *inp, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > OPS_PAR_MIN / 4)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        const float inv = (float)(1.0 / ops_exp_shifted(y, x, C, NULL));
#pragma omp simd
        for (int c = 0; c < C; c++) y[c] *= inv;
    }
}

void softmax_backward(float *dinp, const float *out, const float *dout, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > OPS_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *y = out + (size_t)n * C;
        const float *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int c = 0; c < C; c++) dot += dy[c] * y[c];
#pragma omp simd
        for (int c = 0; c < C; c++) dx[c] += y[c] * (dy[c] - dot);
    }
}
