#include <stdlib.h>
#include <string.h>

#include "metrics/multilabel.h"

os_status os_multilabel_eval(const int *gold, const int *pred, size_t n, int num_labels,
                             os_multilabel_scores *out, os_prf *per_label) {
    memset(out, 0, sizeof *out);
    if (num_labels < 1)
        return os_fail(OS_ERR_INPUT, "multi-label metrics need >= 1 label, got %d", num_labels);
    size_t L = (size_t)num_labels;
    for (size_t i = 0; i < n * L; i++)
        if ((gold[i] != 0 && gold[i] != 1) || (pred[i] != 0 && pred[i] != 1))
            return os_fail(OS_ERR_INPUT,
                           "multi-label value at row %zu, label %zu is not 0/1 (gold %d, pred %d)", i / L,
                           i % L, gold[i], pred[i]);
    // Three counters per label: tp, predicted, gold.
    int64_t *cnt = os_calloc(3 * L, sizeof *cnt);
    os_prf *rows = os_calloc(L, sizeof *rows);
    if (!cnt || !rows) {
        free(cnt);
        free(rows);
        return OS_ERR_NOMEM;
    }
    size_t exact = 0, wrong_cells = 0;
    for (size_t i = 0; i < n; i++) {
        size_t wrong = 0;
        for (size_t j = 0; j < L; j++) {
            int g = gold[i * L + j], p = pred[i * L + j];
            cnt[3 * j] += g & p;
            cnt[3 * j + 1] += p;
            cnt[3 * j + 2] += g;
            wrong += g != p;
        }
        exact += wrong == 0;
        wrong_cells += wrong;
    }
    for (size_t j = 0; j < L; j++) rows[j] = os_prf_from_counts(cnt[3 * j], cnt[3 * j + 1], cnt[3 * j + 2]);
    out->micro = os_prf_average(rows, NULL, L, OS_AVG_MICRO);
    out->macro = os_prf_average(rows, NULL, L, OS_AVG_MACRO);
    out->weighted = os_prf_average(rows, NULL, L, OS_AVG_WEIGHTED);
    if (n > 0) {
        out->subset_accuracy = (double)exact / (double)n;
        out->hamming_loss = (double)wrong_cells / ((double)n * (double)L);
    }
    if (per_label) memcpy(per_label, rows, L * sizeof *rows);
    free(cnt);
    free(rows);
    return OS_OK;
}
