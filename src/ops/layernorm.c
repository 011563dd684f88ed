// LayerNorm over the last dimension, torch semantics: biased variance, eps inside the square root.
#include <math.h>
#include <omp.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

// One row: y = (x - mean) * rstd * w + b; saves mean and rstd.
static inline void normalize_row(float *restrict y, float *mean, float *rstd, const float *restrict x,
                                 const float *restrict w, const float *restrict b, int C, float eps) {
    // Two-pass moments accumulated in double: exact enough that eps = 1e-12 stays meaningful.
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int c = 0; c < C; c++) s += x[c];
    const double m = s / C;
    double v = 0.0;
#pragma omp simd reduction(+ : v)
    for (int c = 0; c < C; c++) {
        double d = x[c] - m;
        v += d * d;
    }
    v /= C;
    const float mf = (float)m;
    const float rs = (float)(1.0 / sqrt(v + (double)eps));
    // (x - mean) * rstd rather than torch's x * rstd - mean * rstd: equal to rounding on ordinary rows,
    // but no cancellation when |mean| >> std.
#pragma omp simd
    for (int c = 0; c < C; c++) y[c] = (x[c] - mf) * rs * w[c] + b[c];
    *mean = mf;
    *rstd = rs;
}

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > OPS_PAR_MIN)
    for (int n = 0; n < N; n++)
        normalize_row(out + (size_t)n * C, mean + n, rstd + n, inp + (size_t)n * C, w, b, C, eps);
}

void residual_layernorm_forward(float *out, float *res, float *mean, float *rstd, const float *a,
                                const float *r, const float *w, const float *b, int N, int C, float eps) {
    // Each row is summed and normalized while it is in cache (one pass instead of two over N x C).
#pragma omp parallel for schedule(static) if ((size_t)N * C > OPS_PAR_MIN)
    for (int n = 0; n < N; n++) {
        const size_t o = (size_t)n * C;
        float *x = res + o;
#pragma omp simd
        for (int c = 0; c < C; c++) x[c] = a[o + c] + r[o + c];
        normalize_row(out + o, mean + n, rstd + n, x, w, b, C, eps);
    }
}

// dinp accumulates (+=), or with `set` is written.
static void backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     const float *mean, const float *rstd, int N, int C, int set) {
    const int par = (size_t)N * C > OPS_PAR_MIN;
    if (dinp) {
        // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dout * w: one thread per row.
#pragma omp parallel for schedule(static) if (par)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C;
            const float *dy = dout + (size_t)n * C;
            float *dx = dinp + (size_t)n * C;
            const float m = mean[n], rs = rstd[n];
            float sg = 0.0f, sgx = 0.0f;
#pragma omp simd reduction(+ : sg, sgx)
            for (int c = 0; c < C; c++) {
                float g = dy[c] * w[c];
                sg += g;
                sgx += g * ((x[c] - m) * rs);
            }
            const float mg = sg / C, mgx = sgx / C;
            if (set) {
#pragma omp simd
                for (int c = 0; c < C; c++) {
                    const float xhat = (x[c] - m) * rs;
                    dx[c] = (dy[c] * w[c] - mg - xhat * mgx) * rs;
                }
            } else {
#pragma omp simd
                for (int c = 0; c < C; c++) {
                    const float xhat = (x[c] - m) * rs;
                    dx[c] += (dy[c] * w[c] - mg - xhat * mgx) * rs;
                }
            }
        }
    }
    if (dw || db) {
        // Column sums over the rows: each thread owns a contiguous range of channels and streams the rows
        // through it in order (whole runs of a row, not blocks of 64 channels that hop a row stride every 256
        // bytes), then adds its sums to the gradient once. Every sum adds the rows in order, whatever the
        // thread count.
        enum { CB = 512 };
#pragma omp parallel if (par && C >= 32)
        {
            const int nt = omp_get_num_threads(), t = omp_get_thread_num();
            const int lo = (int)((long long)C * t / nt), hi = (int)((long long)C * (t + 1) / nt);
            for (int c0 = lo; c0 < hi; c0 += CB) {
                const int nc = hi - c0 < CB ? hi - c0 : CB;
                float sw[CB], sb[CB];
                for (int c = 0; c < nc; c++) sw[c] = sb[c] = 0.0f;
                for (int n = 0; n < N; n++) {
                    const float *x = inp + (size_t)n * C + c0;
                    const float *dy = dout + (size_t)n * C + c0;
                    const float m = mean[n], rs = rstd[n];
#pragma omp simd
                    for (int c = 0; c < nc; c++) {
                        sw[c] += dy[c] * ((x[c] - m) * rs);
                        sb[c] += dy[c];
                    }
                }
                for (int c = 0; c < nc; c++) {
                    if (dw) dw[c0 + c] += sw[c];
                    if (db) db[c0 + c] += sb[c];
                }
            }
        }
    }
}

void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                        const float *mean, const float *rstd, int N, int C) {
    backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C, 0);
}

void layernorm_backward_set(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                            const float *w, const float *mean, const float *rstd, int N, int C) {
    backward(dinp, dw, db, dout, inp, w, mean, rstd, N, C, 1);
}
