// Elementwise activations: exact (erf) GELU as HF's "gelu", and tanh (the pooler's).
#include <math.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

// erf and exp cost tens of flops per element, so these parallelise well below the usual threshold.
#define ACT_PAR_MIN (OPS_PAR_MIN / 4)

void gelu_forward(float *out, const float *inp, size_t n) {
    const ptrdiff_t m = (ptrdiff_t)n;
#pragma omp parallel for simd schedule(static) if (parallel : n > ACT_PAR_MIN)
    for (ptrdiff_t i = 0; i < m; i++) {
        float x = inp[i];
        out[i] = ops_gelu(x);
    }
}

void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    const ptrdiff_t m = (ptrdiff_t)n;
    // d/dx [x Phi(x)] = Phi(x) + x phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)  (torch's kBeta form)
    const float beta = (float)(M_2_SQRTPI * M_SQRT1_2 * 0.5);
#pragma omp parallel for simd schedule(static) if (parallel : n > ACT_PAR_MIN)
    for (ptrdiff_t i = 0; i < m; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + ops_erff(x * (float)M_SQRT1_2));
        float pdf = beta * ops_expf(x * x * -0.5f);
        dinp[i] += dout[i] * (cdf + x * pdf);
    }
}

void tanh_forward(float *out, const float *inp, size_t n) {
    const ptrdiff_t m = (ptrdiff_t)n;
#pragma omp parallel for schedule(static) if (n > ACT_PAR_MIN)
    for (ptrdiff_t i = 0; i < m; i++) out[i] = tanhf(inp[i]);
}

void tanh_backward(float *dinp, const float *out, const float *dout, size_t n) {
    const ptrdiff_t m = (ptrdiff_t)n;
#pragma omp parallel for simd schedule(static) if (parallel : n > 4 * OPS_PAR_MIN)
    for (ptrdiff_t i = 0; i < m; i++) dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}
