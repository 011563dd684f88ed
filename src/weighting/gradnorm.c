// GradNorm (Chen et al., ICML 2018). Task weights w_i (init 1) are learned to minimise
//   L_grad = sum_i | G_i - mean_j(G_j) * r~_i^alpha |,   G_i = w_i ||grad_W L_i||,  r~_i = r_i / mean_j r_j,
// with r_i = L_i(t) / L_i(0) and the target treated as a constant (paper, section 3.2); alpha = 1.5.
// One update: w_i <- w_i - lr * sign(G_i - target_i) * ||grad_W L_i||, then clamp to >= 1e-6 and renormalise
// to sum n. State: [w (n), L(0) (n), L(0) recorded flag].
// Via os_weighting_combine the gradient norms are the row norms of G, the loss ratios come from the losses and
// the first losses seen; g uses the current weights, which are then updated for the next step.
#include <math.h>
#include <string.h>

#include "weighting/weighting_internal.h"

static size_t gradnorm_state_len(int n) { return 2 * (size_t)n + 1; }

static os_status gradnorm_init(os_weighting *w) {
    for (int i = 0; i < w->n; i++) w->state[i] = 1.0f;
    return OS_OK;
}

static os_status gradnorm_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    (void)losses;
    for (int i = 0; i < w->n; i++) lambda[i] = w->state[i];
    return OS_OK;
}

os_status os_weighting_gradnorm_update(os_weighting *w, const float *grad_norms, const float *loss_ratios,
                                       float *lambda) {
    if (strcmp(w->vt->name, "gradnorm") != 0)
        return os_fail(OS_ERR_USAGE, "weighting %s: os_weighting_gradnorm_update is for gradnorm only", w->vt->name);
    int n = w->n;
    float *wt = w->state;
    double mean_G = 0, mean_r = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(grad_norms[i]) || grad_norms[i] < 0 || !isfinite(loss_ratios[i]) || !(loss_ratios[i] > 0))
            return os_fail(OS_ERR_NUMERIC, "weighting gradnorm: task %d has gradient norm %g, loss ratio %g "
                           "(need finite norm >= 0 and ratio > 0)", i, (double)grad_norms[i], (double)loss_ratios[i]);
        mean_G += (double)wt[i] * grad_norms[i] / n;
        mean_r += (double)loss_ratios[i] / n;
    }
    double alpha = w->opt.gradnorm_alpha, lr = w->opt.gradnorm_lr, sum = 0;
    for (int i = 0; i < n; i++) {
        double Gi = (double)wt[i] * grad_norms[i];
        double target = mean_G * pow(loss_ratios[i] / mean_r, alpha);
        double d = Gi - target, sg = d > 0 ? 1 : d < 0 ? -1 : 0;
        double nw = wt[i] - lr * sg * grad_norms[i];
        wt[i] = (float)(nw > 1e-6 ? nw : 1e-6);
        sum += wt[i];
    }
    for (int i = 0; i < n; i++) {
        wt[i] = (float)(wt[i] * n / sum);
        if (lambda) lambda[i] = wt[i];
    }
    return OS_OK;
}

static os_status gradnorm_gram_weights(os_weighting *w, const double *M, const float *losses, double *weights) {
    int n = w->n;
    os_status st = os_wt_check_losses("gradnorm", losses, n);
    if (st) return st;
    float *L0 = w->state + n;
    if (w->state[2 * n] == 0.0f) {
        for (int i = 0; i < n; i++)
            if (!(losses[i] > 0))
                return os_fail(OS_ERR_NUMERIC, "weighting gradnorm: initial loss of task %d must be > 0 (got %g)",
                               i, (double)losses[i]);
        memcpy(L0, losses, (size_t)n * sizeof(float));
        w->state[2 * n] = 1.0f;
    }
    float norms[n], ratios[n];
    for (int i = 0; i < n; i++) {
        weights[i] = w->state[i];
        norms[i] = (float)sqrt(M[i * n + i] > 0 ? M[i * n + i] : 0);
        ratios[i] = losses[i] / L0[i];
        if (!(ratios[i] > 0)) ratios[i] = 1e-12f;
    }
    return os_weighting_gradnorm_update(w, norms, ratios, NULL);
}

const os_weighting_vt os_wvt_gradnorm = {"gradnorm", 1, gradnorm_state_len, gradnorm_init, gradnorm_loss_weights,
                                         gradnorm_gram_weights, NULL};
