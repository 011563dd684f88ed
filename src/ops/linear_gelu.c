// Fused intermediate dense + bias + exact GELU (BERT's feed-forward expansion).
// Forward: sgemm writes inp·w^T, then ONE pass adds the bias and applies GELU while the row is in cache
// (the unfused path copies the bias rows first and reads the whole pre-activation again for GELU).
// Backward: one pass forms d_pre = dout * gelu'(pre) into scratch (no zeroing pass), then the linear's
// backward. The sgemm sums are the same as linear_forward's (bias added to the same product), so the
// results equal the unfused ops.
#include <cblas.h>
#include <math.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

void linear_gelu_forward_cdf(float *out, float *pre, float *cdf, const float *inp, const float *w, const float *b,
                             int N, int C, int OC) {
    if (N <= 0 || OC <= 0) return;
    if (gemm_packed_use(N, C, OC)) {  // bias and GELU applied per row block, in cache (gemm_packed.c)
        linear_forward_packed(out, pre, cdf, inp, w, b, N, C, OC, GEMM_ACT_GELU);
        return;
    }
    if (C > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, 0.0f, pre, OC);
    else
        memset(pre, 0, (size_t)N * OC * sizeof *pre);
#pragma omp parallel for schedule(static) if ((size_t)N * OC > OPS_PAR_MIN / 4)
    for (int n = 0; n < N; n++) {
        float *restrict p = pre + (size_t)n * OC;
        if (b) {
#pragma omp simd
            for (int j = 0; j < OC; j++) p[j] = b[j] + p[j];  // linear_forward: sgemm adds the product to the bias row
        }
        ops_gelu_row(out + (size_t)n * OC, cdf ? cdf + (size_t)n * OC : NULL, p, OC);
    }
}

void linear_gelu_forward(float *out, float *pre, const float *inp, const float *w, const float *b, int N, int C,
                         int OC) {
    linear_gelu_forward_cdf(out, pre, NULL, inp, w, b, N, C, OC);
}

void linear_gelu_backward_cdf(float *dinp, float *dw, float *db, float *dpre, const float *dout, const float *pre,
                              const float *cdf, const float *inp, const float *w, int N, int C, int OC) {
    if (N <= 0 || OC <= 0) return;
    // d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)  (as gelu_backward); Phi comes from
    // the forward when it saved it (the same bits: ops_gelu_cdf either way).
    const float beta = (float)(M_2_SQRTPI * M_SQRT1_2 * 0.5);
    const ptrdiff_t m = (ptrdiff_t)N * OC;
    if (cdf) {
#pragma omp parallel for simd schedule(static) if (parallel : m > OPS_PAR_MIN / 4)
        for (ptrdiff_t i = 0; i < m; i++) {
            const float x = pre[i];
            const float pdf = beta * ops_expf(x * x * -0.5f);
            dpre[i] = dout[i] * (cdf[i] + x * pdf);
        }
    } else {
#pragma omp parallel for simd schedule(static) if (parallel : m > OPS_PAR_MIN / 4)
        for (ptrdiff_t i = 0; i < m; i++) {
            const float x = pre[i];
            const float pdf = beta * ops_expf(x * x * -0.5f);
            dpre[i] = dout[i] * (ops_gelu_cdf(x) + x * pdf);
        }
    }
    linear_backward(dinp, dw, db, dpre, inp, w, N, C, OC);
}

void linear_gelu_backward(float *dinp, float *dw, float *db, float *dpre, const float *dout, const float *pre,
                          const float *inp, const float *w, int N, int C, int OC) {
    linear_gelu_backward_cdf(dinp, dw, db, dpre, dout, pre, NULL, inp, w, N, C, OC);
}
