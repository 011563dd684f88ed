// Precision / recall / F1 from counts, and the three ways of averaging them over classes (sklearn's
// average="micro" | "macro" | "weighted" with zero_division=0). Shared by every classification-style metric.
#ifndef ONESTONE_METRICS_PRF_H
#define ONESTONE_METRICS_PRF_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t tp;                    // true positives (correct predictions / correct entities)
    int64_t n_pred;                // predicted positives (tp + fp)
    int64_t n_gold;                // gold positives (tp + fn), i.e. the support
    double precision, recall, f1;  // fractions in [0, 1]
} os_prf;

typedef enum { OS_AVG_MICRO, OS_AVG_MACRO, OS_AVG_WEIGHTED } os_average;

// P = tp/n_pred, R = tp/n_gold, F1 = 2PR/(P+R); each is 0 when its denominator is 0 (zero_division=0).
os_prf os_prf_from_counts(int64_t tp, int64_t n_pred, int64_t n_gold);
// Averages `n` per-class rows; `use` (may be NULL = all) selects which rows take part. Counts of the result
// are the sums over the selected rows in every mode, so n_gold is the average row's support.
os_prf os_prf_average(const os_prf *rows, const unsigned char *use, size_t n, os_average avg);
#endif
