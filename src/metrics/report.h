// sklearn's classification_report layout (text and the output_dict form as JSON) for any table of
// per-class P/R/F1 rows followed by average rows; the classification and entity-level metrics share it.
#ifndef ONESTONE_METRICS_REPORT_H
#define ONESTONE_METRICS_REPORT_H
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "metrics/prf.h"
#include "util/error.h"

typedef struct {
    const char *name;  // row heading: a class name, "macro avg", "accuracy", ...
    os_prf prf;        // support printed is prf.n_gold
    bool accuracy;     // sklearn's accuracy row: only prf.f1 (= the accuracy) and the support are shown
} os_report_row;

// Writes the report text into `buf` (cap bytes, always NUL-terminated when cap > 0, like snprintf) and
// returns its full length; `digits` is the number of decimals (sklearn's default is 2).
size_t os_report_format(const os_report_row *classes, size_t n_classes, const os_report_row *avgs,
                        size_t n_avgs, int digits, char *buf, size_t cap);
// Writes the same text to `fp`; OS_ERR_IO when the stream reports an error.
os_status os_report_print(const os_report_row *classes, size_t n_classes, const os_report_row *avgs,
                          size_t n_avgs, int digits, FILE *fp);
// sklearn's output_dict=True shape: {name: {"precision","recall","f1-score","support"}, ...,
// "accuracy": number}; NULL (error set) when out of memory.
json_t *os_report_json(const os_report_row *classes, size_t n_classes, const os_report_row *avgs,
                       size_t n_avgs);
#endif
