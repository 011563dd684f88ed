// Internals shared by the strategy files: the object layout, the strategy table and small dense helpers.
#ifndef ONESTONE_WEIGHTING_INTERNAL_H
#define ONESTONE_WEIGHTING_INTERNAL_H
#include <stddef.h>

#include "util/rng.h"
#include "weighting/weighting.h"

typedef struct os_weighting_vt {
    const char *name;
    int needs_grads;
    // Floats of persistent strategy state for n tasks (saved/loaded verbatim).
    size_t (*state_len)(int n);
    // Initialises the state (zeroed before the call); may be NULL.
    os_status (*init)(os_weighting *w);
    // Loss weights; NULL for gradient-balancing strategies.
    os_status (*loss_weights)(os_weighting *w, const float *losses, float *lambda);
    // Effective weights from the Gram matrix M = G G^T (n x n, double, row-major) and the losses;
    // NULL to use loss_weights. The caller forms g = sum_i weights_i G_i.
    os_status (*gram_weights)(os_weighting *w, const double *M, const float *losses, double *weights);
    // Whole combine on the raw G for strategies that are not a weighted sum of rows (graddrop, dbmtl); may be NULL.
    os_status (*raw_combine)(os_weighting *w, const float *G, size_t D, const float *losses, float *g, float *weights);
} os_weighting_vt;

struct os_weighting {
    const os_weighting_vt *vt;
    int n;
    os_weighting_options opt;
    os_rng rng;
    uint64_t step;  // combine / loss_weights calls so far
    float *state;
    size_t state_len;
};

extern const os_weighting_vt os_wvt_ew, os_wvt_static, os_wvt_uw, os_wvt_dwa, os_wvt_gls, os_wvt_rlw,
    os_wvt_gradnorm, os_wvt_mgda, os_wvt_mgda_ub, os_wvt_pcgrad, os_wvt_cagrad, os_wvt_imtl_g,
    os_wvt_aligned_mtl, os_wvt_upgrad, os_wvt_gradvac, os_wvt_nash_mtl, os_wvt_famo,
    os_wvt_graddrop, os_wvt_dbmtl;

// Checks that losses is non-NULL and finite (strategy `who` needs them).
os_status os_wt_check_losses(const char *who, const float *losses, int n);

// Euclidean projection of v (n) onto the probability simplex, in place.
void os_wt_project_simplex(double *v, int n);
// Min-norm point of the convex hull of the rows behind Gram M: argmin_{a in simplex} a^T M a (into a).
void os_wt_min_norm(const double *M, int n, double *a);
// Solves A x = b (n x n, row-major; A and b are overwritten) with partial pivoting; -1 when singular.
int os_wt_solve(double *A, double *b, int n);
// Symmetric eigendecomposition by cyclic Jacobi: A (n x n) -> eigenvalues evals (n), eigenvectors as columns
// of V (n x n, row-major). A is overwritten.
void os_wt_symeig(double *A, int n, double *evals, double *V);
#endif
