// Single-label classification metrics from a confusion matrix, with sklearn's definitions and its
// zero_division=0 convention: accuracy; per-class precision/recall/F1/support; micro, macro and weighted
// averages (optionally leaving some classes out, e.g. "O" or "no_relation"); multi-class MCC; and
// classification_report as text or JSON. Counts accumulate batch by batch, so evaluation can stream.
#ifndef ONESTONE_METRICS_CLASSIFICATION_H
#define ONESTONE_METRICS_CLASSIFICATION_H
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics/prf.h"
#include "util/error.h"

typedef struct {
    int num_labels;
    int64_t *counts;  // (num_labels, num_labels): counts[gold * num_labels + pred]
} os_confusion;

// Allocates an all-zero num_labels x num_labels matrix (num_labels >= 1).
os_status os_confusion_init(os_confusion *cm, int num_labels);
// Releases the matrix; safe on a zeroed or already-freed struct.
void os_confusion_free(os_confusion *cm);
// Counts n (gold, pred) pairs. A negative gold label (-1, or -100 as torch's ignore_index) skips the pair;
// any other label outside [0, num_labels) is OS_ERR_INPUT and nothing of the batch is counted.
os_status os_confusion_add(os_confusion *cm, const int *gold, const int *pred, size_t n);
// Number of counted pairs.
int64_t os_confusion_total(const os_confusion *cm);

// Fraction of counted pairs with pred == gold (0 when none were counted).
double os_cls_accuracy(const os_confusion *cm);
// Precision, recall, F1 and support of one class.
os_prf os_cls_class_prf(const os_confusion *cm, int label);
// Averaged P/R/F1 over the classes that occur in gold or predictions, minus the n_exclude classes in
// `exclude` (may be NULL). Micro without exclusions equals accuracy for P, R and F1.
os_prf os_cls_average(const os_confusion *cm, os_average avg, const int *exclude, size_t n_exclude);
// Matthews correlation coefficient, multi-class (Gorodkin's R_K, as sklearn.metrics.matthews_corrcoef);
// 0 when undefined (a constant gold or predicted column).
double os_cls_mcc(const os_confusion *cm);

// sklearn's classification_report text into buf (snprintf semantics: returns the full length; 0 with the
// error set when out of memory).
// `names` (may be NULL: the label numbers are printed) has num_labels entries; `digits` decimals.
size_t os_cls_report(const os_confusion *cm, const char *const *names, const int *exclude, size_t n_exclude,
                     int digits, char *buf, size_t cap);
// The same report written to fp.
os_status os_cls_report_print(const os_confusion *cm, const char *const *names, const int *exclude,
                              size_t n_exclude, int digits, FILE *fp);
// classification_report(output_dict=True) as JSON, plus "mcc"; NULL (error set) on failure.
json_t *os_cls_report_json(const os_confusion *cm, const char *const *names, const int *exclude,
                           size_t n_exclude);
#endif
