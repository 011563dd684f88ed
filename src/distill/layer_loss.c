#include <math.h>
#include <string.h>

#include "distill/layer_loss.h"
#include "ops/ops.h"

float os_kd_hidden_loss(const float *hs, const float *ht, const int32_t *mask, int N, int Cs, int Ct, const float *W,
                        const float *b, float *proj, float *dproj, float *d_hs, float *dW, float *db, float scale) {
    int n = 0;
    for (int i = 0; i < N; i++) n += !mask || mask[i];
    if (!n) return 0;
    linear_forward(proj, hs, W, b, N, Cs, Ct);
    double sum = 0;
    const double norm = (double)n * Ct;
    for (int i = 0; i < N; i++) {
        const int real = !mask || mask[i];
        for (int j = 0; j < Ct; j++) {
            const size_t k = (size_t)i * Ct + j;
            const double e = real ? (double)proj[k] - ht[k] : 0.0;
            sum += e * e;
            dproj[k] = (float)(scale * 2.0 * e / norm);
        }
    }
    if (d_hs || dW || db) linear_backward(d_hs, dW, db, dproj, hs, W, N, Cs, Ct);
    return (float)(sum / norm);
}

// Row i of head h: probabilities, or the mean over heads (into tmp) when averaging.
static const float *row_of(const float *p, int b, int h, int i, int NH, int T, int avg, float *tmp) {
    if (!avg) return p + (((size_t)b * NH + h) * T + i) * T;
    memset(tmp, 0, (size_t)T * sizeof *tmp);
    for (int g = 0; g < NH; g++) {
        const float *r = p + (((size_t)b * NH + g) * T + i) * T;
        for (int j = 0; j < T; j++) tmp[j] += r[j] / (float)NH;
    }
    return tmp;
}

float os_kd_attention_loss(const float *ps, const float *pt, const int32_t *mask, int B, int T, int NHs, int NHt,
                           float *d_ps, float scale) {
    const int avg = NHs != NHt, H = avg ? 1 : NHs;
    int rows = 0;
    for (int i = 0; i < B * T; i++) rows += !mask || mask[i];
    if (!rows) return 0;
    float as_[T], at_[T];
    double sum = 0;
    const double norm = (double)rows * H;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            if (mask && !mask[(size_t)b * T + i]) continue;
            for (int h = 0; h < H; h++) {
                const float *rs = row_of(ps, b, h, i, NHs, T, avg, as_), *rt = row_of(pt, b, h, i, NHt, T, avg, at_);
                for (int j = 0; j < T; j++) {
                    const double e = (double)rs[j] - rt[j];
                    sum += e * e;
                    if (!d_ps) continue;
                    const float g = (float)(scale * 2.0 * e / norm);
                    if (avg)  // d(mean over heads)/d(each head) = 1 / NHs
                        for (int g2 = 0; g2 < NHs; g2++) d_ps[(((size_t)b * NHs + g2) * T + i) * T + j] += g / (float)NHs;
                    else
                        d_ps[(((size_t)b * NHs + h) * T + i) * T + j] += g;
                }
            }
        }
    return (float)(sum / norm);
}

void os_kd_attention_backprop(const float *d_probs, const float *probs, const float *q, const float *k, int B, int T,
                              int NH, int HS, float *d_q, float *d_k) {
    const size_t C = (size_t)NH * HS;
    const float inv_sq = 1.0f / sqrtf((float)HS);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < T; i++) {
                const float *P = probs + (((size_t)b * NH + h) * T + i) * T;
                const float *G = d_probs + (((size_t)b * NH + h) * T + i) * T;
                double dot = 0;
                for (int j = 0; j < T; j++) dot += (double)P[j] * G[j];
                const float *qi = q + ((size_t)b * T + i) * C + (size_t)h * HS;
                float *dqi = d_q + ((size_t)b * T + i) * C + (size_t)h * HS;
                for (int j = 0; j < T; j++) {
                    const float ds = (float)(P[j] * (G[j] - dot)) * inv_sq;  // softmax, then score scaling
                    if (ds == 0.0f) continue;
                    const float *kj = k + ((size_t)b * T + j) * C + (size_t)h * HS;
                    float *dkj = d_k + ((size_t)b * T + j) * C + (size_t)h * HS;
                    for (int d = 0; d < HS; d++) {
                        dqi[d] += ds * kj[d];
                        dkj[d] += ds * qi[d];
                    }
                }
            }
}
