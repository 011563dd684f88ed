// Multi-head self-attention core: probs = softmax(q·k^T / sqrt(HS) + mask), out = probs_used · v.
//
// Parallel over (batch, head) pairs with OpenMP; each pair is computed start to finish by one thread with
// hand-written loops, so results do not depend on the thread count. (cblas_sgemm is deliberately not
// called per pair inside the parallel loop: Debian's pthread OpenBLAS would start its own threads under
// OpenMP's.) Every inner loop runs along a contiguous row (a key/value row of HS floats, or a row of
// scores) as an axpy, which vectorizes without reordering any sum; K and V are gathered transposed into a
// per-thread buffer where a loop would otherwise run across rows.
//
// Masking: keys with mask 0 are left out of the max and the sum and get probability exactly 0, which is
// what HF's additive finfo(float32).min mask yields. When a sequence has no real key at all, every score
// plus finfo.min rounds to the same finfo.min in HF, so its rows are uniform (1/T over all keys) and the
// gradient flows through all keys; we reproduce that. Padded query rows are computed like real ones.
#include <math.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

// Indices of the real (unmasked) keys of sequence b; returns how many.
static int real_keys(int *idx, const int32_t *mask, int b, int T) {
    int nk = 0;
    for (int j = 0; j < T; j++)
        if (!mask || mask[(size_t)b * T + j]) idx[nk++] = j;
    return nk;
}

// dst[0..n) += a * src[0..n)
static inline void axpy(float *restrict dst, float a, const float *restrict src, int n) {
#pragma omp simd
    for (int i = 0; i < n; i++) dst[i] += a * src[i];
}

// kt(HS, nk) = rows idx[0..nk) of the head's slice of x (row stride C), transposed.
static void gather_transposed(float *kt, const float *x, const int *idx, int nk, size_t C, int HS) {
    for (int jj = 0; jj < nk; jj++) {
        const float *xj = x + (size_t)idx[jj] * C;
        for (int d = 0; d < HS; d++) kt[(size_t)d * nk + jj] = xj[d];
    }
}

// row[0..nk) = qi · kt  (kt is HS x nk)
static void row_times_transposed(float *row, const float *qi, const float *kt, int nk, int HS) {
    memset(row, 0, (size_t)nk * sizeof *row);
    for (int d = 0; d < HS; d++) axpy(row, qi[d], kt + (size_t)d * nk, nk);
}

void attention_probs_forward(float *probs, const float *q, const float *k, const int32_t *mask, int B, int T,
                             int NH, int HS) {
    const size_t C = (size_t)NH * HS;
    const float sq = sqrtf((float)HS);  // HF divides the scores by sqrt(head size)
    const size_t work = (size_t)B * NH * T * T * HS;
#pragma omp parallel if (work > OPS_PAR_MIN)
    {
        float *kt = ops_xmalloc((size_t)HS * T * sizeof *kt);
        float *row = ops_xmalloc((size_t)T * sizeof *row);
        int *idx = ops_xmalloc((size_t)T * sizeof *idx);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * NH; bh++) {
            const int b = bh / NH, h = bh % NH;
            float *P = probs + (size_t)bh * T * T;
            const int nk = real_keys(idx, mask, b, T);
            if (nk == 0) {  // no real key: HF's rows are uniform
                for (size_t i = 0; i < (size_t)T * T; i++) P[i] = 1.0f / (float)T;
                continue;
            }
            const float *qb = q + (size_t)b * T * C + (size_t)h * HS;
            gather_transposed(kt, k + (size_t)b * T * C + (size_t)h * HS, idx, nk, C, HS);
            for (int i = 0; i < T; i++) {
                row_times_transposed(row, qb + (size_t)i * C, kt, nk, HS);
#pragma omp simd
                for (int jj = 0; jj < nk; jj++) row[jj] = row[jj] / sq;
                const float inv = (float)(1.0 / ops_exp_shifted(row, row, nk, NULL));
                float *Pi = P + (size_t)i * T;
                if (nk < T) memset(Pi, 0, (size_t)T * sizeof *Pi);
                for (int jj = 0; jj < nk; jj++) Pi[idx[jj]] = row[jj] * inv;
            }
        }
        free(kt);
        free(row);
        free(idx);
    }
}

void attention_weighted_sum(float *out, const float *probs_used, const float *v, int B, int T, int NH,
                            int HS) {
    const size_t C = (size_t)NH * HS;
    const size_t work = (size_t)B * NH * T * T * HS;
#pragma omp parallel for schedule(static) if (work > OPS_PAR_MIN)
    for (int bh = 0; bh < B * NH; bh++) {
        const int b = bh / NH, h = bh % NH;
        const float *P = probs_used + (size_t)bh * T * T;
        const float *vb = v + (size_t)b * T * C + (size_t)h * HS;
        for (int i = 0; i < T; i++) {
            float *oi = out + ((size_t)b * T + i) * C + (size_t)h * HS;
            memset(oi, 0, (size_t)HS * sizeof *oi);
            const float *Pi = P + (size_t)i * T;
            for (int j = 0; j < T; j++)
                if (Pi[j] != 0.0f) axpy(oi, Pi[j], vb + (size_t)j * C, HS);  // masked / dropped: skip
        }
    }
}

void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       const int32_t *mask, int B, int T, int NH, int HS) {
    attention_probs_forward(probs, q, k, mask, B, T, NH, HS);
    attention_weighted_sum(out, probs, v, B, T, NH, HS);
}

// Adds the head's (T, HS) gradient block g into the strided tensor dst.
static void add_head_block(float *dst, const float *g, int T, size_t C, int HS) {
    for (int i = 0; i < T; i++) axpy(dst + (size_t)i * C, 1.0f, g + (size_t)i * HS, HS);
}

void attention_backward(float *dq, float *dk, float *dv, float *dprobs_scratch, const float *dout,
                        const float *q, const float *k, const float *v, const float *probs,
                        const float *probs_used, const uint8_t *drop_keep, float drop_p,
                        int B, int T, int NH, int HS) {
    const size_t C = (size_t)NH * HS;
    const float sq = sqrtf((float)HS);
    // Dropout between probs and the weighted sum: dP = dP_used * keep / (1 - p) (all dropped when p >= 1).
    const float drop_scale = drop_keep ? (drop_p < 1.0f ? 1.0f / (1.0f - drop_p) : 0.0f) : 1.0f;
    const size_t work = (size_t)B * NH * T * T * HS;
#pragma omp parallel if (work > OPS_PAR_MIN)
    {
        float *vt = ops_xmalloc((size_t)HS * T * sizeof *vt);
        float *row = ops_xmalloc((size_t)T * sizeof *row);
        float *gq = ops_xmalloc((size_t)T * HS * sizeof *gq);
        float *gk = ops_xmalloc((size_t)T * HS * sizeof *gk);
        float *gv = ops_xmalloc((size_t)T * HS * sizeof *gv);
        int *idx = ops_xmalloc((size_t)T * sizeof *idx);
#pragma omp for schedule(static)
        for (int bh = 0; bh < B * NH; bh++) {
            const int b = bh / NH, h = bh % NH;
            const size_t head = (size_t)b * T * C + (size_t)h * HS;  // offset of (b, t=0, head h)
            const float *P = probs + (size_t)bh * T * T;
            const float *U = probs_used + (size_t)bh * T * T;
            const uint8_t *keep = drop_keep ? drop_keep + (size_t)bh * T * T : NULL;
            float *D = dprobs_scratch + (size_t)bh * T * T;
            const float *dob = dout + head;
            if (dv) {  // dV = U^T · dout
                memset(gv, 0, (size_t)T * HS * sizeof *gv);
                for (int i = 0; i < T; i++) {
                    const float *Ui = U + (size_t)i * T;
                    for (int j = 0; j < T; j++)
                        if (Ui[j] != 0.0f) axpy(gv + (size_t)j * HS, Ui[j], dob + (size_t)i * C, HS);
                }
                add_head_block(dv + head, gv, T, C, HS);
            }
            if (!dq && !dk) continue;
            // Keys with probability 0 in every row (the masked ones) get no score gradient: leave them out.
            int nk = 0;
            for (int j = 0; j < T; j++) {
                int active = 0;
                for (int i = 0; i < T && !active; i++) active = P[(size_t)i * T + j] != 0.0f;
                if (active) idx[nk++] = j;
            }
            gather_transposed(vt, v + head, idx, nk, C, HS);
            memset(gq, 0, (size_t)T * HS * sizeof *gq);
            memset(gk, 0, (size_t)T * HS * sizeof *gk);
            const float *qb = q + head, *kb = k + head;
            for (int i = 0; i < T; i++) {
                const float *Pi = P + (size_t)i * T;
                float *Di = D + (size_t)i * T;
                row_times_transposed(row, dob + (size_t)i * C, vt, nk, HS);  // dP_used[i, keys]
                float dot = 0.0f;  // sum_j P_ij dP_ij
                for (int jj = 0; jj < nk; jj++) {
                    const size_t j = (size_t)idx[jj];
                    float g = keep ? (keep[(size_t)i * T + j] ? row[jj] * drop_scale : 0.0f) : row[jj];
                    row[jj] = g;
                    dot += Pi[j] * g;
                }
                // Score gradient (softmax backward, then the 1/sqrt(HS) scaling) into the scratch row.
                memset(Di, 0, (size_t)T * sizeof *Di);
                for (int jj = 0; jj < nk; jj++) {
                    const size_t j = (size_t)idx[jj];
                    Di[j] = Pi[j] * (row[jj] - dot) / sq;
                }
                for (int jj = 0; jj < nk; jj++) {
                    const size_t j = (size_t)idx[jj];
                    const float ds = Di[j];
                    if (ds == 0.0f) continue;
                    axpy(gq + (size_t)i * HS, ds, kb + j * C, HS);  // dq_i += dS_ij k_j
                    axpy(gk + j * HS, ds, qb + (size_t)i * C, HS);  // dk_j += dS_ij q_i
                }
            }
            if (dq) add_head_block(dq + head, gq, T, C, HS);
            if (dk) add_head_block(dk + head, gk, T, C, HS);
        }
        free(vt);
        free(row);
        free(gq);
        free(gk);
        free(gv);
        free(idx);
    }
}
