// Residual connection: out = a + b; the gradient flows unchanged into both branches.
#include "ops/ops.h"
#include "ops/ops_internal.h"

void residual_forward(float *out, const float *a, const float *b, size_t n) {
    const ptrdiff_t m = (ptrdiff_t)n;
#pragma omp parallel for simd schedule(static) if (parallel : n > 4 * OPS_PAR_MIN)
    for (ptrdiff_t i = 0; i < m; i++) out[i] = a[i] + b[i];
}

static void accumulate(float *dst, const float *src, size_t n) {
    const ptrdiff_t m = (ptrdiff_t)n;
#pragma omp parallel for simd schedule(static) if (parallel : n > 4 * OPS_PAR_MIN)
    for (ptrdiff_t i = 0; i < m; i++) dst[i] += src[i];
}

// da and db may be the same buffer (x + x): it then receives dout twice.
void residual_backward(float *da, float *db, const float *dout, size_t n) {
    if (da) accumulate(da, dout, n);
    if (db) accumulate(db, dout, n);
}
