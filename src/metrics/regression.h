// Regression metrics: mean squared error, Pearson's r and Spearman's rho (Pearson's r of the ranks, ties
// given their average rank as scipy.stats.rankdata does). A correlation is undefined when one side is
// constant (scipy returns NaN); here it is 0, so it stays comparable and serialisable.
#ifndef ONESTONE_METRICS_REGRESSION_H
#define ONESTONE_METRICS_REGRESSION_H
#include <stddef.h>

#include "util/error.h"

typedef struct {
    double mse, pearson, spearman;
} os_regression_scores;

// Mean of (pred - gold)^2; 0 when n == 0.
double os_mse(const double *gold, const double *pred, size_t n);
// Pearson correlation of x and y; 0 when n < 2 or either side is constant.
double os_pearson(const double *x, const double *y, size_t n);
// Spearman rank correlation with average ranks for ties; OS_ERR_INPUT on a non-finite value.
os_status os_spearman(const double *x, const double *y, size_t n, double *rho);
// All three for a regression head's float outputs; OS_ERR_INPUT on a non-finite value.
os_status os_regression_eval(const float *gold, const float *pred, size_t n, os_regression_scores *out);
#endif
