// Multi-label classification metrics from (n, L) 0/1 indicator matrices, as sklearn computes them on
// label-indicator input: every column is a binary class; micro/macro/weighted P/R/F1 over the L columns
// (all L, even those never gold nor predicted) and subset accuracy (the whole row must match).
#ifndef ONESTONE_METRICS_MULTILABEL_H
#define ONESTONE_METRICS_MULTILABEL_H
#include <stddef.h>

#include "metrics/prf.h"
#include "util/error.h"

typedef struct {
    os_prf micro, macro, weighted;
    double subset_accuracy;  // fraction of rows whose L predictions all equal the gold row
    double hamming_loss;     // fraction of the n*L cells that differ
} os_multilabel_scores;

// Scores row-major (n, num_labels) matrices of 0/1; `per_label` (may be NULL) receives num_labels rows.
// Any value other than 0 or 1 is OS_ERR_INPUT. n == 0 gives all zeros.
os_status os_multilabel_eval(const int *gold, const int *pred, size_t n, int num_labels,
                             os_multilabel_scores *out, os_prf *per_label);
#endif
