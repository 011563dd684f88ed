// Aligned-MTL (Senushkin et al., CVPR 2023 "Independent component alignment for multi-task learning"), as in
// LibMTL: M = G G^T = V diag(l) V^T, keep the eigenpairs with l > max(l) * n * eps_float32 (rank r),
//   B = sqrt(l_min) V_r diag(l_r)^(-1/2) V_r^T,   weights = B^T 1 (column sums),   g = sum_i weights_i G_i,
// which makes the rows of B G orthogonal with equal norm sqrt(l_min) (stable condition number).
#include <float.h>
#include <math.h>
#include <string.h>

#include "weighting/weighting_internal.h"

static os_status aligned_gram_weights(os_weighting *w, const double *M, const float *losses, double *weights) {
    (void)losses;
    int n = w->n;
    double A[n * n], V[n * n], l[n], lmax = 0;
    memcpy(A, M, sizeof A);
    os_wt_symeig(A, n, l, V);
    for (int i = 0; i < n; i++)
        if (l[i] > lmax) lmax = l[i];
    double tol = lmax * n * FLT_EPSILON, lmin = INFINITY;
    for (int i = 0; i < n; i++)
        if (l[i] > tol && l[i] < lmin) lmin = l[i];
    for (int i = 0; i < n; i++) weights[i] = 0;
    if (!(lmax > 0)) return OS_OK;  // all gradients zero
    double sl = sqrt(lmin);
    for (int k = 0; k < n; k++) {
        if (!(l[k] > tol)) continue;
        double vs = 0;  // 1^T v_k
        for (int i = 0; i < n; i++) vs += V[i * n + k];
        for (int i = 0; i < n; i++) weights[i] += sl / sqrt(l[k]) * V[i * n + k] * vs;
    }
    return OS_OK;
}

const os_weighting_vt os_wvt_aligned_mtl = {"aligned_mtl", 1, NULL, NULL, NULL, aligned_gram_weights, NULL};
