// Geometric loss strategy (Chennupati et al., CVPRW 2019 "MultiNet++"): L = (prod_i L_i)^(1/n).
// Its gradient is sum_i lambda_i grad L_i with lambda_i = L / (n L_i), which is what this returns
// (the losses must be > 0).
#include <math.h>

#include "weighting/weighting_internal.h"

static os_status gls_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    os_status st = os_wt_check_losses("gls", losses, w->n);
    if (st) return st;
    double lg = 0;
    for (int i = 0; i < w->n; i++) {
        if (!(losses[i] > 0))
            return os_fail(OS_ERR_NUMERIC, "weighting gls: loss of task %d must be > 0 for the geometric mean "
                           "(got %g)", i, (double)losses[i]);
        lg += log(losses[i]);
    }
    double L = exp(lg / w->n);
    for (int i = 0; i < w->n; i++) lambda[i] = (float)(L / (w->n * (double)losses[i]));
    return OS_OK;
}

const os_weighting_vt os_wvt_gls = {"gls", 0, NULL, NULL, gls_loss_weights, NULL, NULL};
