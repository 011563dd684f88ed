// Equal weighting (EW): lambda_i = 1 for every task.
#include "weighting/weighting_internal.h"

static os_status ew_loss_weights(os_weighting *w, const float *losses, float *lambda) {
    (void)losses;
    for (int i = 0; i < w->n; i++) lambda[i] = 1.0f;
    return OS_OK;
}

const os_weighting_vt os_wvt_ew = {"ew", 0, NULL, NULL, ew_loss_weights, NULL, NULL};
