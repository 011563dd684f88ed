// FAMO (Liu et al., NeurIPS 2023 "Fast adaptive multitask optimization"), as in the authors' and LibMTL's code
// (minimum losses taken as 0). Logits xi (init 0), z = softmax(xi), D_i = L_i + 1e-8:
//   the trainer minimises sum_i z_i log(D_i) / c with c = sum_j z_j / D_j held constant, whose gradient is
//   sum_i lambda_i grad L_i with lambda_i = z_i / (c D_i)  (what os_weighting_loss_weights returns; sum 1);
//   from the second step on, before computing lambda, xi takes one Adam step (lr 0.025, betas 0.9/0.999,
//   eps 1e-8, L2 weight decay gamma = 0.001) on the gradient d = J_softmax(xi)^T delta with
//   delta_i = log D_i(previous step) - log D_i(this step).
// State: [xi (n), Adam m (n), Adam v (n), Adam step, previous losses (n), previous recorded flag].
#include <math.h>
#include <string.h>

#include "weighting/weighting_internal.h"

static size_t famo_state_len(int n) { return 4 * (size_t)n + 2; }

static void softmax(const float *x, int n, double *z) {
    double mx = -INFINITY, s = 0;
    for (int i = 0; i < n; i++) mx = fmax(mx, x[i]);
    for (int i = 0; i < n; i++) s += z[i] = exp(x[i] - mx);
    for (int i = 0; i < n; i++) z[i] /= s;
}

static os_status famo_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    int n = w->n;
    os_status st = os_wt_check_losses("famo", losses, n);
    if (st) return st;
    for (int i = 0; i < n; i++)
        if (!(losses[i] > 0))
            return os_fail(OS_ERR_NUMERIC, "weighting famo: loss of task %d must be > 0 (got %g)", i, (double)losses[i]);
    float *xi = w->state, *m = xi + n, *v = m + n, *t = v + n, *prev = t + 1, *have = prev + n;
    double z[n];
    softmax(xi, n, z);
    if (*have != 0.0f) {
        double delta[n], zd = 0;
        for (int i = 0; i < n; i++) {
            delta[i] = log((double)prev[i] + 1e-8) - log((double)losses[i] + 1e-8);
            zd += z[i] * delta[i];
        }
        *t += 1.0f;
        double b1 = 0.9, b2 = 0.999, lr = w->opt.famo_lr, bc1 = 1 - pow(b1, *t), bc2 = 1 - pow(b2, *t);
        for (int i = 0; i < n; i++) {
            double d = z[i] * (delta[i] - zd) + w->opt.famo_gamma * xi[i];
            m[i] = (float)(b1 * m[i] + (1 - b1) * d);
            v[i] = (float)(b2 * v[i] + (1 - b2) * d * d);
            xi[i] = (float)(xi[i] - lr * (m[i] / bc1) / (sqrt(v[i] / bc2) + 1e-8));
        }
        softmax(xi, n, z);
    }
    double c = 0;
    for (int i = 0; i < n; i++) c += z[i] / ((double)losses[i] + 1e-8);
    for (int i = 0; i < n; i++) lambda[i] = (float)(z[i] / (c * ((double)losses[i] + 1e-8)));
    memcpy(prev, losses, (size_t)n * sizeof(float));
    *have = 1.0f;
    return OS_OK;
}

const os_weighting_vt os_wvt_famo = {"famo", 0, famo_state_len, NULL, famo_loss_weights, NULL, NULL};
