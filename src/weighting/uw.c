// Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018), in LibMTL's form:
//   L = sum_i L_i / (2 exp(s_i)) + s_i / 2,   s_i = log sigma_i^2 learned (initialised to 0),
// so lambda_i = 1 / (2 exp(s_i)) and dL/ds_i = 1/2 - L_i / (2 exp(s_i)); the optimum is s_i = log L_i.
// The state is s (n); the trainer updates it with os_weighting_params + os_weighting_uw_grad.
#include <math.h>
#include <string.h>

#include "weighting/weighting_internal.h"

static size_t uw_state_len(int n) { return (size_t)n; }

static os_status uw_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    (void)losses;
    for (int i = 0; i < w->n; i++) lambda[i] = (float)(0.5 * exp(-(double)w->state[i]));
    return OS_OK;
}

os_status os_weighting_uw_grad(os_weighting *w, const float *losses, double *total, float *grad) {
    if (strcmp(w->vt->name, "uw") != 0)
        return os_fail(OS_ERR_USAGE, "weighting %s: os_weighting_uw_grad is for uw only", w->vt->name);
    os_status st = os_wt_check_losses("uw", losses, w->n);
    if (st) return st;
    double t = 0;
    for (int i = 0; i < w->n; i++) {
        double s = w->state[i], lam = 0.5 * exp(-s);
        t += lam * losses[i] + 0.5 * s;
        if (grad) grad[i] = (float)(0.5 - lam * losses[i]);
    }
    if (total) *total = t;
    return OS_OK;
}

const os_weighting_vt os_wvt_uw = {"uw", 0, uw_state_len, NULL, uw_loss_weights, NULL, NULL};
