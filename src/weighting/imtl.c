// IMTL-G (Liu et al., ICLR 2021 "Towards impartial multi-task learning"), gradient part, as in LibMTL:
//   u_i = G_i / ||G_i||,  D_k = G_1 - G_k,  U_k = u_1 - u_k  (k = 2..n),
//   alpha_{2..n} = G_1 U^T (D U^T)^{-1},  alpha_1 = 1 - sum alpha_{2..n},  g = sum_i alpha_i G_i,
// so g has the same projection onto every unit task gradient (g . u_i equal for all i). Runs on the Gram matrix.
#include <math.h>

#include "weighting/weighting_internal.h"

static os_status imtl_gram_weights(os_weighting *w, const double *M, const float *losses, double *weights) {
    (void)losses;
    int n = w->n;
    if (n == 1) {
        weights[0] = 1;
        return OS_OK;
    }
    double nr[n];
    for (int i = 0; i < n; i++) {
        nr[i] = sqrt(M[i * n + i] > 0 ? M[i * n + i] : 0);
        if (!(nr[i] > 0)) return os_fail(OS_ERR_NUMERIC, "weighting imtl_g: gradient of task %d is zero", i);
    }
    int m = n - 1;
    double DU[m * m], a[m];
    // (G_1 U^T)_k = G_1.u_1 - G_1.u_k; (D U^T)_{jk} = (G_1 - G_j).(u_1 - u_k); alpha (1 x m) solves alpha DU = a,
    // i.e. DU^T alpha^T = a^T.
    for (int k = 1; k < n; k++) {
        a[k - 1] = M[0] / nr[0] - M[k] / nr[k];
        for (int j = 1; j < n; j++) {
            double v = M[0] / nr[0] - M[k] / nr[k] - M[j * n] / nr[0] + M[j * n + k] / nr[k];
            DU[(k - 1) * m + (j - 1)] = v;  // transposed
        }
    }
    if (os_wt_solve(DU, a, m))
        return os_fail(OS_ERR_NUMERIC, "weighting imtl_g: singular system (task gradients linearly dependent)");
    double s = 0;
    for (int k = 0; k < m; k++) {
        weights[k + 1] = a[k];
        s += a[k];
    }
    weights[0] = 1 - s;
    return OS_OK;
}

const os_weighting_vt os_wvt_imtl_g = {"imtl_g", 1, NULL, NULL, NULL, imtl_gram_weights, NULL};
