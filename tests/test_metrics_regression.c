// MSE, Pearson and Spearman against scipy's documented outputs, hand-computed cases and the pseudo-random
// case of tests/ref/metrics_ref.py (scipy's rankdata(method="average") + pearsonr, ported).
#include "harness.h"
#include "metrics_testutil.h"
#include "metrics/regression.h"

// scipy.stats.pearsonr docstring: pearsonr([1, 2, 3, 4, 5], [10, 9, 2.5, 6, 4]) -> -0.7426106572325057.
// scipy.stats.spearmanr docstring: spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) -> 0.8207826816681233.
static void test_scipy_docs(void) {
    const double x[] = {1, 2, 3, 4, 5}, y[] = {10, 9, 2.5, 6, 4}, z[] = {5, 6, 7, 8, 7};
    CHECK_NEAR(os_pearson(x, y, 5), -0.7426106572325057, MT_TOL);
    double rho;
    CHECK(os_spearman(x, z, 5, &rho) == OS_OK);
    CHECK_NEAR(rho, 0.8207826816681233, MT_TOL);
}

// By hand: gold 1..5, pred (2, 4, 5, 4, 5).
//   MSE = (1 + 4 + 4 + 0 + 0) / 5 = 1.8
//   Pearson: centred gold (-2,-1,0,1,2), pred (-2,0,1,0,1): 6 / sqrt(10 * 6)
//   Spearman: pred ranks (1, 2.5, 4.5, 2.5, 4.5) (ties averaged): 7 / sqrt(10 * 9)
static void test_by_hand(void) {
    const float gold[] = {1, 2, 3, 4, 5}, pred[] = {2, 4, 5, 4, 5};
    os_regression_scores s;
    CHECK(os_regression_eval(gold, pred, 5, &s) == OS_OK);
    CHECK_NEAR(s.mse, 1.8, MT_TOL);
    CHECK_NEAR(s.pearson, 6.0 / sqrt(60.0), MT_TOL);
    CHECK_NEAR(s.spearman, 7.0 / sqrt(90.0), MT_TOL);
    // A perfect monotone but non-linear fit: Spearman 1, Pearson below 1.
    const double a[] = {1, 2, 3, 4}, b[] = {1, 4, 9, 100};
    double rho;
    CHECK(os_spearman(a, b, 4, &rho) == OS_OK);
    CHECK_NEAR(rho, 1.0, MT_TOL);
    CHECK(os_pearson(a, b, 4) < 0.9);
}

// Undefined correlations are 0; bad values are errors.
static void test_degenerate(void) {
    const double c[] = {3, 3, 3}, x[] = {1, 2, 3};
    double rho = -1;
    CHECK(os_pearson(c, x, 3) == 0.0);
    CHECK(os_spearman(c, x, 3, &rho) == OS_OK && rho == 0.0);
    CHECK(os_pearson(x, x, 1) == 0.0);
    CHECK(os_mse(x, x, 0) == 0.0);
    os_regression_scores s;
    CHECK(os_regression_eval(NULL, NULL, 0, &s) == OS_OK && s.mse == 0.0 && s.spearman == 0.0);
    const float g[] = {1, 2}, p[] = {1, NAN};
    CHECK(os_regression_eval(g, p, 2, &s) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "predicted value 1 is not finite") != NULL);
    const double inf[] = {1, INFINITY};
    CHECK(os_spearman(x, inf, 2, &rho) == OS_ERR_INPUT);
}

// metrics_ref.py regression_case: 300 values on a grid of quarters (many ties), exact in float.
static void test_reference_case(void) {
    unsigned s = 777;
    float gold[300], pred[300];
    for (int i = 0; i < 300; i++) {
        gold[i] = (float)(mt_lcg_next(&s) % 20) / 4.0f;
        pred[i] = gold[i] + (float)(mt_lcg_next(&s) % 9 - 4) / 8.0f;
    }
    os_regression_scores r;
    CHECK(os_regression_eval(gold, pred, 300, &r) == OS_OK);
    CHECK_NEAR(r.mse, 0.099375000000000005, MT_TOL);
    CHECK_NEAR(r.pearson, 0.97775300270954635, MT_TOL);
    CHECK_NEAR(r.spearman, 0.9788851989869779, MT_TOL);
}

int main(void) {
    RUN(test_scipy_docs);
    RUN(test_by_hand);
    RUN(test_degenerate);
    RUN(test_reference_case);
    return th_finish();
}
