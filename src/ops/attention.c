// Multi-head self-attention core: probs = softmax(q·k^T / sqrt(HS) + mask), out = probs_used · v.
//
// Parallel over (batch, head) pairs with OpenMP; each pair is computed start to finish by one thread, so
// results do not depend on the thread count. The four products per pair (scores, weighted sum, and in the
// backward dV, dP, dQ, dK) are single-threaded sgemm calls that read and write the heads in place in the
// (B,T,NH*HS) tensors (leading dimension C = NH*HS): no gathering or transposing copies. Each thread sets its
// own OpenMP thread count to 1 inside the region, which OpenBLAS's OpenMP build reads, so a call inside the
// loop never starts threads of its own.
//
// On AVX2+FMA CPUs all six products use the packed-weight kernel instead (gemm_packed.c): the right operand of
// the pair (K, V, dout or Q) is packed into the thread's scratch and the left one read in place (U^T and dS^T
// too, read transposed), which skips OpenBLAS's packing of both operands and its zeroing pass for these small
// (T x T x HS) products.
//
// Masking: keys with mask 0 are left out of the max and the sum and get probability exactly 0, which is
// what HF's additive finfo(float32).min mask yields. When a sequence has no real key at all, every score
// plus finfo.min rounds to the same finfo.min in HF, so its rows are uniform (1/T over all keys) and the
// gradient flows through all keys; we reproduce that. Padded query rows are computed like real ones.
#include <cblas.h>
#include <math.h>
#include <omp.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

// Indices of the real (unmasked) keys of sequence b; returns how many.
static int real_keys(int *idx, const int32_t *mask, int b, int T) {
    int nk = 0;
    for (int j = 0; j < T; j++)
        if (!mask || mask[(size_t)b * T + j]) idx[nk++] = j;
    return nk;
}

void attention_probs_forward(float *probs, const float *q, const float *k, const int32_t *mask, int B, int T,
                             int NH, int HS) {
    const int C = NH * HS;
    const float sq = sqrtf((float)HS);  // HF divides the scores by sqrt(head size)
    const size_t work = (size_t)B * NH * T * T * HS;
#pragma omp parallel if (work > OPS_PAR_MIN)
    {
        omp_set_num_threads(1);  // this thread's sgemm calls stay on this thread
        float *row = ops_xmalloc((size_t)T * sizeof *row);
        int *idx = ops_xmalloc((size_t)T * sizeof *idx);
        const int packed = gemm_packed_cpu();
        float *pk = packed ? ops_xmalloc_aligned(gemm_packed_floats(T, HS) * sizeof *pk) : NULL;
#pragma omp for schedule(dynamic, 1)
        for (int bh = 0; bh < B * NH; bh++) {
            const int b = bh / NH, h = bh % NH;
            float *P = probs + (size_t)bh * T * T;
            const int nk = real_keys(idx, mask, b, T);
            if (nk == 0) {  // no real key: HF's rows are uniform
                for (size_t i = 0; i < (size_t)T * T; i++) P[i] = 1.0f / (float)T;
                continue;
            }
            const size_t head = (size_t)b * T * C + (size_t)h * HS;
            // Raw scores S = Q K^T of every key into P, then a softmax over the real keys of each row.
            if (packed) {
                gemm_pack_weight(pk, k + head, T, HS, C);
                gemm_packed_serial(P, T, q + head, C, pk, T, HS, T, 0);
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HS, 1.0f, q + head, C, k + head, C, 0.0f,
                            P, T);
            }
            for (int i = 0; i < T; i++) {
                float *Pi = P + (size_t)i * T;
                if (nk == T) {
#pragma omp simd
                    for (int j = 0; j < T; j++) Pi[j] = Pi[j] / sq;
                    const float inv = (float)(1.0 / ops_exp_shifted(Pi, Pi, T, NULL));
#pragma omp simd
                    for (int j = 0; j < T; j++) Pi[j] *= inv;
                } else {
                    for (int jj = 0; jj < nk; jj++) row[jj] = Pi[idx[jj]] / sq;
                    const float inv = (float)(1.0 / ops_exp_shifted(row, row, nk, NULL));
                    memset(Pi, 0, (size_t)T * sizeof *Pi);
                    for (int jj = 0; jj < nk; jj++) Pi[idx[jj]] = row[jj] * inv;
                }
            }
        }
        free(row);
        free(idx);
        free(pk);
    }
}

void attention_weighted_sum(float *out, const float *probs_used, const float *v, int B, int T, int NH,
                            int HS) {
    const int C = NH * HS;
    const size_t work = (size_t)B * NH * T * T * HS;
#pragma omp parallel if (work > OPS_PAR_MIN)
    {
        omp_set_num_threads(1);
        const int packed = gemm_packed_cpu();
        float *pk = packed ? ops_xmalloc_aligned(gemm_packed_floats(HS, T) * sizeof *pk) : NULL;
#pragma omp for schedule(dynamic, 1)
        for (int bh = 0; bh < B * NH; bh++) {
            const int b = bh / NH, h = bh % NH;
            const size_t head = (size_t)b * T * C + (size_t)h * HS;
            if (packed) {  // out = P · V: V (T x HS, row stride C) is the right operand as it is
                gemm_pack_kn(pk, v + head, T, HS, C);
                gemm_packed_serial(out + head, C, probs_used + (size_t)bh * T * T, T, pk, T, T, HS, 0);
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, HS, T, 1.0f,
                            probs_used + (size_t)bh * T * T, T, v + head, C, 0.0f, out + head, C);
            }
        }
        free(pk);
    }
}

void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       const int32_t *mask, int B, int T, int NH, int HS) {
    attention_probs_forward(probs, q, k, mask, B, T, NH, HS);
    attention_weighted_sum(out, probs, v, B, T, NH, HS);
}

// dq, dk, dv accumulate when acc, else are written.
static void backward(float *dq, float *dk, float *dv, float *dprobs_scratch, const float *dout, const float *q,
                     const float *k, const float *v, const float *probs, const float *probs_used,
                     const uint8_t *drop_keep, float drop_p, int B, int T, int NH, int HS, int acc) {
    const float beta = acc ? 1.0f : 0.0f;
    const int C = NH * HS;
    const float sq = sqrtf((float)HS);
    // Dropout between probs and the weighted sum: dP = dP_used * keep / (1 - p) (all dropped when p >= 1).
    const float drop_scale = drop_keep ? (drop_p < 1.0f ? 1.0f / (1.0f - drop_p) : 0.0f) : 1.0f;
    const size_t work = (size_t)B * NH * T * T * HS;
#pragma omp parallel if (work > OPS_PAR_MIN)
    {
        omp_set_num_threads(1);
        // All four products through the packed kernel, as in the forward. dV and dK need U^T and dS^T as the
        // left operand: the kernel reads them transposed in place (gemm_packed_serial_at).
        const int packed = gemm_packed_cpu();
        float *pk = packed ? ops_xmalloc_aligned(gemm_packed_floats(T > HS ? T : HS, T > HS ? T : HS) * sizeof *pk)
                           : NULL;
#pragma omp for schedule(dynamic, 1)
        for (int bh = 0; bh < B * NH; bh++) {
            const int b = bh / NH, h = bh % NH;
            const size_t head = (size_t)b * T * C + (size_t)h * HS;  // offset of (b, t=0, head h)
            const float *P = probs + (size_t)bh * T * T;
            const float *U = probs_used + (size_t)bh * T * T;
            const uint8_t *keep = drop_keep ? drop_keep + (size_t)bh * T * T : NULL;
            float *D = dprobs_scratch + (size_t)bh * T * T;
            const float *dob = dout + head;
            if (dv && packed) {  // dV (+)= U^T · dout
                gemm_pack_kn(pk, dob, T, HS, C);
                gemm_packed_serial_at(dv + head, C, U, T, pk, T, T, HS, acc);
            } else if (dv) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, HS, T, 1.0f, U, T, dob, C, beta, dv + head,
                            C);
            }
            if (!dq && !dk) continue;
            // dP_used = dout · V^T, then back through dropout and the softmax (keys with P = 0, the masked
            // ones, get dS = 0), and the 1/sqrt(HS) scaling: D = dS.
            if (packed) {
                gemm_pack_weight(pk, v + head, T, HS, C);
                gemm_packed_serial(D, T, dob, C, pk, T, HS, T, 0);
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, HS, 1.0f, dob, C, v + head, C, 0.0f, D,
                            T);
            }
            for (int i = 0; i < T; i++) {
                const float *Pi = P + (size_t)i * T;
                float *Di = D + (size_t)i * T;
                if (keep) {
                    const uint8_t *ki = keep + (size_t)i * T;
#pragma omp simd
                    for (int j = 0; j < T; j++) Di[j] = ops_select(ki[j], Di[j] * drop_scale, 0.0f);
                }
                float dot = 0.0f;  // sum_j P_ij dP_ij
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j < T; j++) dot += Pi[j] * Di[j];
#pragma omp simd
                for (int j = 0; j < T; j++) Di[j] = Pi[j] * (Di[j] - dot) / sq;
            }
            if (dq && packed) {  // dQ (+)= dS · K
                gemm_pack_kn(pk, k + head, T, HS, C);
                gemm_packed_serial(dq + head, C, D, T, pk, T, T, HS, acc);
            } else if (dq) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, HS, T, 1.0f, D, T, k + head, C, beta,
                            dq + head, C);
            }
            if (dk && packed) {  // dK (+)= dS^T · Q
                gemm_pack_kn(pk, q + head, T, HS, C);
                gemm_packed_serial_at(dk + head, C, D, T, pk, T, T, HS, acc);
            } else if (dk) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, HS, T, 1.0f, D, T, q + head, C, beta,
                            dk + head, C);
            }
        }
        free(pk);
    }
}

void attention_backward(float *dq, float *dk, float *dv, float *dprobs_scratch, const float *dout, const float *q,
                        const float *k, const float *v, const float *probs, const float *probs_used,
                        const uint8_t *drop_keep, float drop_p, int B, int T, int NH, int HS) {
    backward(dq, dk, dv, dprobs_scratch, dout, q, k, v, probs, probs_used, drop_keep, drop_p, B, T, NH, HS, 1);
}

void attention_backward_set(float *dq, float *dk, float *dv, float *dprobs_scratch, const float *dout,
                            const float *q, const float *k, const float *v, const float *probs,
                            const float *probs_used, const uint8_t *drop_keep, float drop_p, int B, int T, int NH,
                            int HS) {
    backward(dq, dk, dv, dprobs_scratch, dout, q, k, v, probs, probs_used, drop_keep, drop_p, B, T, NH, HS, 0);
}
