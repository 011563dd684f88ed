// Scalar reference implementations: the tests' oracle for the fast kernels. Plain loops, double
// accumulation, no threads, no tricks; written from the formulas, not from the fast code.
#include <math.h>
#include <stdlib.h>

#include "ops/ops.h"

void linear_forward_ref(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++) {
            double s = b ? b[o] : 0.0;
            for (int c = 0; c < C; c++) s += (double)inp[(size_t)n * C + c] * w[(size_t)o * C + c];
            out[(size_t)n * OC + o] = (float)s;
        }
}

void linear_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int N, int C, int OC) {
    if (dinp)
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++) {
                double s = 0.0;
                for (int o = 0; o < OC; o++) s += (double)dout[(size_t)n * OC + o] * w[(size_t)o * C + c];
                dinp[(size_t)n * C + c] += (float)s;
            }
    if (dw)
        for (int o = 0; o < OC; o++)
            for (int c = 0; c < C; c++) {
                double s = 0.0;
                for (int n = 0; n < N; n++) s += (double)dout[(size_t)n * OC + o] * inp[(size_t)n * C + c];
                dw[(size_t)o * C + c] += (float)s;
            }
    if (db)
        for (int o = 0; o < OC; o++) {
            double s = 0.0;
            for (int n = 0; n < N; n++) s += dout[(size_t)n * OC + o];
            db[o] += (float)s;
        }
}

void layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double m = 0.0, v = 0.0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= C;  // biased, like torch
        double rs = 1.0 / sqrt(v + eps);
        for (int c = 0; c < C; c++) out[(size_t)n * C + c] = (float)((x[c] - m) * rs * w[c] + b[c]);
        mean[n] = (float)m;
        rstd[n] = (float)rs;
    }
}

// Whether key j takes part in sequence b's softmax: an unmasked key does; when no key of the sequence is
// unmasked, HF's additive finfo.min mask turns every score into the same finfo.min, so all keys do, with
// equal scores.
static int all_masked(const int32_t *mask, int b, int T) {
    if (!mask) return 0;
    for (int j = 0; j < T; j++)
        if (mask[(size_t)b * T + j]) return 0;
    return 1;
}

static int key_used(const int32_t *mask, int b, int T, int j, int none_real) {
    return none_real || !mask || mask[(size_t)b * T + j];
}

void attention_forward_ref(float *out, float *probs, const float *q, const float *k, const float *v,
                           const int32_t *mask, int B, int T, int NH, int HS) {
    const size_t C = (size_t)NH * HS;
    double *s = malloc((size_t)(T ? T : 1) * sizeof *s);
    if (!s) abort();
    for (int b = 0; b < B; b++) {
        const int none_real = all_masked(mask, b, T);
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                const float *qi = q + ((size_t)b * T + i) * C + (size_t)h * HS;
                double mx = -INFINITY;
                for (int j = 0; j < T; j++) {
                    const float *kj = k + ((size_t)b * T + j) * C + (size_t)h * HS;
                    double dot = 0.0;
                    for (int d = 0; d < HS; d++) dot += (double)qi[d] * kj[d];
                    s[j] = none_real ? 0.0 : dot / sqrt((double)HS);
                    if (key_used(mask, b, T, j, none_real) && s[j] > mx) mx = s[j];
                }
                double sum = 0.0;
                for (int j = 0; j < T; j++) {
                    s[j] = key_used(mask, b, T, j, none_real) ? exp(s[j] - mx) : 0.0;
                    sum += s[j];
                }
                float *Pi = probs + (((size_t)b * NH + h) * T + i) * T;
                for (int j = 0; j < T; j++) {
                    s[j] /= sum;
                    Pi[j] = (float)s[j];
                }
                for (int d = 0; d < HS; d++) {
                    double o = 0.0;
                    for (int j = 0; j < T; j++) o += s[j] * v[((size_t)b * T + j) * C + (size_t)h * HS + d];
                    out[((size_t)b * T + i) * C + (size_t)h * HS + d] = (float)o;
                }
            }
    }
    free(s);
}

void attention_backward_ref(float *dq, float *dk, float *dv, const float *dout, const float *q,
                            const float *k, const float *v, const float *probs, const int32_t *mask,
                            int B, int T, int NH, int HS) {
    const size_t C = (size_t)NH * HS;
    // Double accumulators for the whole (B,T,C) gradients, added to the float outputs at the end.
    const size_t total = (size_t)B * T * C;
    double *gq = calloc(total ? total : 1, sizeof *gq), *gk = calloc(total ? total : 1, sizeof *gk),
           *gv = calloc(total ? total : 1, sizeof *gv), *dp = malloc((size_t)(T ? T : 1) * sizeof *dp);
    if (!gq || !gk || !gv || !dp) abort();
    for (int b = 0; b < B; b++) {
        const int none_real = all_masked(mask, b, T);
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                const size_t ri = ((size_t)b * T + i) * C + (size_t)h * HS;
                const float *Pi = probs + (((size_t)b * NH + h) * T + i) * T;
                // out_i = sum_j P_ij v_j  =>  dv_j += P_ij dout_i,  dP_ij = dout_i · v_j
                double dot = 0.0;
                for (int j = 0; j < T; j++) {
                    const size_t rj = ((size_t)b * T + j) * C + (size_t)h * HS;
                    double g = 0.0;
                    for (int d = 0; d < HS; d++) {
                        gv[rj + d] += (double)Pi[j] * dout[ri + d];
                        g += (double)dout[ri + d] * v[rj + d];
                    }
                    dp[j] = g;
                    dot += Pi[j] * g;
                }
                // softmax: dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik); scores = q·k / sqrt(HS)
                for (int j = 0; j < T; j++) {
                    if (!key_used(mask, b, T, j, none_real)) continue;
                    const size_t rj = ((size_t)b * T + j) * C + (size_t)h * HS;
                    const double ds = Pi[j] * (dp[j] - dot) / sqrt((double)HS);
                    for (int d = 0; d < HS; d++) {
                        gq[ri + d] += ds * k[rj + d];
                        gk[rj + d] += ds * q[ri + d];
                    }
                }
            }
    }
    for (size_t i = 0; i < total; i++) {
        if (dq) dq[i] += (float)gq[i];
        if (dk) dk[i] += (float)gk[i];
        if (dv) dv[i] += (float)gv[i];
    }
    free(gq);
    free(gk);
    free(gv);
    free(dp);
}

void gelu_forward_ref(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double x = inp[i];
        out[i] = (float)(0.5 * x * (1.0 + erf(x / sqrt(2.0))));
    }
}

void softmax_forward_ref(float *out, const float *inp, int N, int C) {
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        double mx = -INFINITY, sum = 0.0;
        for (int c = 0; c < C; c++)
            if (x[c] > mx) mx = x[c];
        for (int c = 0; c < C; c++) sum += exp(x[c] - mx);
        for (int c = 0; c < C; c++) out[(size_t)n * C + c] = (float)(exp(x[c] - mx) / sum);
    }
}
