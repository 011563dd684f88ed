// Multi-task loss weighting and gradient balancing: one object per strategy, created by name.
//
// Two ways to use a strategy (see docs/weighting.md for each strategy's formula, paper and inputs):
//  - loss weighting: os_weighting_loss_weights(losses) -> lambda (n); the trainer backpropagates sum lambda_i L_i.
//    Works for the losses-only strategies (ew, static, uw, dwa, gls, rlw) and returns the current weights of
//    gradnorm.
//  - gradient balancing: os_weighting_combine(G, D, losses) -> combined gradient g (D) and the effective
//    per-task weights (n, for logging), where G is the n x D row-major matrix of per-task gradients of the
//    shared parameters (or of the shared representation for MGDA-UB). Every strategy accepts this call; the
//    losses-only ones return g = sum_i lambda_i G_i.
// Memory: besides the caller's G, a strategy allocates only O(n^2) floats; solvers work on the Gram matrix G G^T.
#ifndef ONESTONE_WEIGHTING_WEIGHTING_H
#define ONESTONE_WEIGHTING_WEIGHTING_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct os_weighting os_weighting;

typedef struct {
    const float *static_weights;  // "static": lambda (n_tasks values, copied at create); NULL = all ones
    float dwa_T;                  // DWA temperature (2.0)
    float gradnorm_alpha;         // GradNorm asymmetry alpha (1.5)
    float gradnorm_lr;            // GradNorm weight learning rate (0.025)
    float cagrad_c;               // CAGrad c (0.5)
    int cagrad_rescale;           // CAGrad rescale: 0 none, 1 divide by 1+c^2 (default), 2 divide by 1+c
    int mgda_normalize;           // MGDA gradient normalisation: 0 none (default), 1 l2, 2 loss, 3 loss+
    float upgrad_norm_eps;        // UPGrad Gram normalisation threshold (1e-4, as torchjd)
    float upgrad_reg_eps;         // UPGrad Gram regularisation added to the diagonal (1e-4, as torchjd)
    float gradvac_beta;           // GradVac EMA rate of the cosine targets (0.01)
    float famo_lr;                // FAMO logit learning rate (Adam, 0.025)
    float famo_gamma;             // FAMO logit weight decay (0.001)
    float graddrop_leak;          // GradDrop leak (0: pure sign dropout, as LibMTL)
    float dbmtl_beta;             // DB-MTL gradient EMA rate beta (0.9)
    float dbmtl_beta_sigma;       // DB-MTL EMA decay exponent: beta_t = beta / t^beta_sigma (0.5)
} os_weighting_options;

// Fills `o` with the paper defaults listed above.
void os_weighting_default_options(os_weighting_options *o);

// Creates strategy `name` (ew, static, uw, dwa, gls, rlw, gradnorm, mgda, mgda_ub, pcgrad, cagrad, imtl_g,
// aligned_mtl, upgrad, gradvac, nash_mtl, famo, graddrop, dbmtl) for 1 <= n_tasks <= 128 tasks (solvers keep n x n matrices on the stack). opt NULL = defaults. seed drives RLW and PCGrad's task order.
os_status os_weighting_create(const char *name, int n_tasks, const os_weighting_options *opt, uint64_t seed,
                              os_weighting **out);
void os_weighting_free(os_weighting *w);
const char *os_weighting_name(const os_weighting *w);
int os_weighting_n_tasks(const os_weighting *w);
// 1 when the strategy needs per-task gradients (os_weighting_combine), 0 when losses suffice.
int os_weighting_needs_grads(const os_weighting *w);
// Comma-separated list of the registered names (for error messages and --help).
const char *os_weighting_names(void);

// Loss weights of this step (losses: n finite per-task losses; may be NULL except for gls and famo).
// Fails with OS_ERR_USAGE for the gradient-balancing strategies.
os_status os_weighting_loss_weights(os_weighting *w, const float *losses, float *lambda);

// Combines the per-task gradients G (n x D, row-major) into g (D). weights (n, may be NULL) receives the
// effective coefficients: g = sum_i weights_i G_i for every strategy except graddrop (weights = fraction of
// coordinates kept per task); dbmtl is refused (use os_weighting_dbmtl). losses may be NULL except where the
// strategy needs them (gls, famo, gradnorm, mgda with loss normalisation).
os_status os_weighting_combine(os_weighting *w, const float *G, size_t D, const float *losses, float *g,
                               float *weights);

// DWA: records this epoch's average per-task losses (the weights of the next epoch use the last two).
// A no-op for the other strategies.
os_status os_weighting_epoch_end(os_weighting *w, const float *epoch_losses);

// Learnable parameters (UW: s_i = log sigma_i^2; GradNorm: w_i), or NULL with *count = 0.
float *os_weighting_params(os_weighting *w, int *count);
// UW: total loss sum_i L_i / (2 exp(s_i)) + s_i / 2 into *total and d total / d s_i into grad (n).
os_status os_weighting_uw_grad(os_weighting *w, const float *losses, double *total, float *grad);
// GradNorm: one update of the task weights from the gradient norms of the UNWEIGHTED task losses w.r.t. the
// last shared layer (grad_norms_i = ||grad_W L_i||) and the loss ratios r_i = L_i(t) / L_i(0).
// Writes the updated weights (renormalised to sum n) into lambda (n, may be NULL).
os_status os_weighting_gradnorm_update(os_weighting *w, const float *grad_norms, const float *loss_ratios,
                                       float *lambda);

// GradDrop on representation gradients: per_grads is n x B x R (task i's gradient of the shared representation
// for each of the B examples), rep (B x R, may be NULL = all positive) the representation itself. Writes the
// combined representation gradient (B x R) into out and, if kept (n, may be NULL), the fraction of the R
// coordinates where task i's gradient survived. os_weighting_combine on G (n x D) is this with B = 1, rep NULL.
os_status os_weighting_graddrop(os_weighting *w, const float *per_grads, const float *rep, size_t B, size_t R,
                                float *out, float *kept);

// DB-MTL step. buffer (n x D) is the caller-owned EMA of the log-loss gradients, zero before the first step and
// saved with the trainer's checkpoint (it is model-sized, so the library does not own it). Writes g (D) and
// alpha (n, may be NULL): g = sum_i alpha_i buffer_i. os_weighting_combine fails for dbmtl (it has no buffer).
os_status os_weighting_dbmtl(os_weighting *w, const float *G, size_t D, const float *losses, float *buffer,
                             float *g, float *alpha);

// Exact-resume state as a flat float array (step counter, RNG state, strategy state).
size_t os_weighting_state_size(const os_weighting *w);
os_status os_weighting_state_save(const os_weighting *w, float *buf, size_t len);
os_status os_weighting_state_load(os_weighting *w, const float *buf, size_t len);
#endif
