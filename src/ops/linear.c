// Fully connected layer in torch.nn.Linear layout: out(N,OC) = inp(N,C) · w(OC,C)^T + b, via OpenBLAS.
#include <cblas.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

void linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC) {
    if (N <= 0 || OC <= 0) return;
    // Start from the bias rows and let sgemm add the product (beta = 1): no second pass over out.
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)N * OC > 4 * OPS_PAR_MIN)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, b, (size_t)OC * sizeof *out);
    }
    if (C <= 0) {
        if (!b) memset(out, 0, (size_t)N * OC * sizeof *out);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, b ? 1.0f : 0.0f, out,
                OC);
}

void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int N, int C, int OC) {
    if (N <= 0 || OC <= 0) return;
    if (dinp && C > 0)  // dinp(N,C) += dout(N,OC) · w(OC,C)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, 1.0f, dinp, C);
    if (dw && C > 0)  // dw(OC,C) += dout^T(OC,N) · inp(N,C)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
    if (db) {
        // Column sums of dout: each thread owns a block of output channels and adds the rows in order.
        enum { CB = 64 };
        const int nblocks = (OC + CB - 1) / CB;
#pragma omp parallel for schedule(static) if ((size_t)N * OC > OPS_PAR_MIN && nblocks > 1)
        for (int blk = 0; blk < nblocks; blk++) {
            const int o0 = blk * CB, no = o0 + CB < OC ? CB : OC - o0;
            float s[CB] = {0};
            for (int n = 0; n < N; n++) {
                const float *d = dout + (size_t)n * OC + o0;
#pragma omp simd
                for (int o = 0; o < no; o++) s[o] += d[o];
            }
            for (int o = 0; o < no; o++) db[o0 + o] += s[o];
        }
    }
}
