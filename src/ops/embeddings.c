// Token + position + token-type embeddings (HF BertEmbeddings without its LayerNorm and dropout).
#include "ops/ops.h"
#include "ops/ops_internal.h"

void embeddings_forward(float *out, const int32_t *ids, const int32_t *type_ids, const float *wte,
                        const float *wpe, const float *wtt, int B, int T, int C) {
    const int N = B * T;
#pragma omp parallel for schedule(static) if ((size_t)N * C > OPS_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const float *e = wte + (size_t)ids[n] * C;
        const float *p = wpe + (size_t)(n % T) * C;
        const float *tt = wtt + (size_t)(type_ids ? type_ids[n] : 0) * C;
        float *o = out + (size_t)n * C;
        // HF order: (inputs_embeds + token_type_embeddings) + position_embeddings.
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = (e[c] + tt[c]) + p[c];
    }
}

void embeddings_backward(float *dwte, float *dwpe, float *dwtt, const float *dout, const int32_t *ids,
                         const int32_t *type_ids, int B, int T, int C) {
    const int N = B * T;
    // Rows scatter into shared table rows (repeated ids), so threads split the channels instead: each
    // thread owns a column block of every table and walks the rows in order (deterministic, no races).
    const int CB = 64;
    const int nblocks = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) if ((size_t)N * C > OPS_PAR_MIN && nblocks > 1)
    for (int blk = 0; blk < nblocks; blk++) {
        const int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * C;
            float *gs[3] = {dwte ? dwte + (size_t)ids[n] * C : NULL,
                            dwpe ? dwpe + (size_t)(n % T) * C : NULL,
                            dwtt ? dwtt + (size_t)(type_ids ? type_ids[n] : 0) * C : NULL};
            for (int g = 0; g < 3; g++) {
                float *dst = gs[g];
                if (!dst) continue;
#pragma omp simd
                for (int c = c0; c < c1; c++) dst[c] += d[c];
            }
        }
    }
}
