#include "metrics/prf.h"

os_prf os_prf_from_counts(int64_t tp, int64_t n_pred, int64_t n_gold) {
    os_prf r = {.tp = tp, .n_pred = n_pred, .n_gold = n_gold};
    r.precision = n_pred > 0 ? (double)tp / (double)n_pred : 0.0;
    r.recall = n_gold > 0 ? (double)tp / (double)n_gold : 0.0;
    // F1 from P and R (conlleval's and the SemEval scorer's formula; sklearn's 2tp/(2tp+fp+fn) is the same
    // number up to the last bit).
    double s = r.precision + r.recall;
    r.f1 = s > 0.0 ? 2.0 * r.precision * r.recall / s : 0.0;
    return r;
}

os_prf os_prf_average(const os_prf *rows, const unsigned char *use, size_t n, os_average avg) {
    int64_t tp = 0, n_pred = 0, n_gold = 0;
    double p = 0.0, r = 0.0, f = 0.0, weight = 0.0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (use && !use[i]) continue;
        tp += rows[i].tp;
        n_pred += rows[i].n_pred;
        n_gold += rows[i].n_gold;
        // Macro weighs every class 1, weighted by its support.
        double w = avg == OS_AVG_WEIGHTED ? (double)rows[i].n_gold : 1.0;
        p += w * rows[i].precision;
        r += w * rows[i].recall;
        f += w * rows[i].f1;
        weight += w;
        k++;
    }
    if (avg == OS_AVG_MICRO) return os_prf_from_counts(tp, n_pred, n_gold);
    os_prf out = {.tp = tp, .n_pred = n_pred, .n_gold = n_gold};
    // No classes, or (weighted) no support at all: sklearn's zero_division=0 gives 0.
    if (k > 0 && weight > 0.0) {
        out.precision = p / weight;
        out.recall = r / weight;
        out.f1 = f / weight;
    }
    return out;
}
