#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/classification.h"
#include "metrics/report.h"

os_status os_confusion_init(os_confusion *cm, int num_labels) {
    memset(cm, 0, sizeof *cm);
    if (num_labels < 1)
        return os_fail(OS_ERR_INPUT, "a classification metric needs >= 1 label, got %d", num_labels);
    cm->counts = os_calloc((size_t)num_labels * (size_t)num_labels, sizeof *cm->counts);
    if (!cm->counts) return OS_ERR_NOMEM;
    cm->num_labels = num_labels;
    return OS_OK;
}

void os_confusion_free(os_confusion *cm) {
    free(cm->counts);
    cm->counts = NULL;
    cm->num_labels = 0;
}

os_status os_confusion_add(os_confusion *cm, const int *gold, const int *pred, size_t n) {
    int k = cm->num_labels;
    // Validate first so a bad batch leaves the running counts untouched.
    for (size_t i = 0; i < n; i++) {
        if (gold[i] < 0) continue;
        if (gold[i] >= k)
            return os_fail(OS_ERR_INPUT, "gold label %d at position %zu is outside [0, %d)", gold[i], i, k);
        if (pred[i] < 0 || pred[i] >= k)
            return os_fail(OS_ERR_INPUT, "predicted label %d at position %zu is outside [0, %d)", pred[i], i,
                           k);
    }
    for (size_t i = 0; i < n; i++)
        if (gold[i] >= 0) cm->counts[(size_t)gold[i] * (size_t)k + (size_t)pred[i]]++;
    return OS_OK;
}

int64_t os_confusion_total(const os_confusion *cm) {
    int64_t t = 0;
    for (size_t i = 0; i < (size_t)cm->num_labels * (size_t)cm->num_labels; i++) t += cm->counts[i];
    return t;
}

static int64_t gold_sum(const os_confusion *cm, int c) {
    int64_t s = 0;
    for (int j = 0; j < cm->num_labels; j++) s += cm->counts[(size_t)c * (size_t)cm->num_labels + (size_t)j];
    return s;
}

static int64_t pred_sum(const os_confusion *cm, int c) {
    int64_t s = 0;
    for (int i = 0; i < cm->num_labels; i++) s += cm->counts[(size_t)i * (size_t)cm->num_labels + (size_t)c];
    return s;
}

static int64_t diag(const os_confusion *cm, int c) {
    return cm->counts[(size_t)c * (size_t)cm->num_labels + (size_t)c];
}

double os_cls_accuracy(const os_confusion *cm) {
    int64_t total = os_confusion_total(cm), correct = 0;
    for (int c = 0; c < cm->num_labels; c++) correct += diag(cm, c);
    return total > 0 ? (double)correct / (double)total : 0.0;
}

os_prf os_cls_class_prf(const os_confusion *cm, int label) {
    return os_prf_from_counts(diag(cm, label), pred_sum(cm, label), gold_sum(cm, label));
}

static int excluded(int c, const int *exclude, size_t n_exclude) {
    for (size_t i = 0; exclude && i < n_exclude; i++)
        if (exclude[i] == c) return 1;
    return 0;
}

// Per-class rows plus the selection sklearn averages over: classes seen in gold or predictions (its
// default labels=unique_labels(y_true, y_pred)), minus the excluded ones. Returns whether an excluded class
// occurs (then micro-averaging is no longer accuracy); NULL rows/use on allocation failure.
static int class_rows(const os_confusion *cm, const int *exclude, size_t n_exclude, os_prf **rows,
                      unsigned char **use) {
    *rows = os_calloc((size_t)cm->num_labels, sizeof **rows);
    *use = os_calloc((size_t)cm->num_labels, 1);
    int dropped = 0;
    if (!*rows || !*use) {
        free(*rows);
        free(*use);
        *rows = NULL;
        *use = NULL;
        return 0;
    }
    for (int c = 0; c < cm->num_labels; c++) {
        (*rows)[c] = os_cls_class_prf(cm, c);
        int seen = (*rows)[c].n_gold > 0 || (*rows)[c].n_pred > 0;
        int ex = excluded(c, exclude, n_exclude);
        (*use)[c] = (unsigned char)(seen && !ex);
        if (seen && ex) dropped = 1;
    }
    return dropped;
}

os_prf os_cls_average(const os_confusion *cm, os_average avg, const int *exclude, size_t n_exclude) {
    os_prf *rows;
    unsigned char *use;
    class_rows(cm, exclude, n_exclude, &rows, &use);
    if (!rows) return os_prf_from_counts(0, 0, 0);
    os_prf r = os_prf_average(rows, use, (size_t)cm->num_labels, avg);
    free(rows);
    free(use);
    return r;
}

double os_cls_mcc(const os_confusion *cm) {
    // sklearn: cov(y,p) = c*s - t.p, cov(p,p) = s^2 - p.p, cov(y,y) = s^2 - t.t with t, p the per-class
    // gold and predicted totals, c the trace and s the number of samples. Doubles keep s^2 from overflowing.
    double s = 0.0, c = 0.0, tp = 0.0, pp = 0.0, tt = 0.0;
    for (int k = 0; k < cm->num_labels; k++) {
        double t = (double)gold_sum(cm, k), p = (double)pred_sum(cm, k);
        s += t;
        c += (double)diag(cm, k);
        tp += t * p;
        pp += p * p;
        tt += t * t;
    }
    double cov_yp = c * s - tp, cov_pp = s * s - pp, cov_yy = s * s - tt;
    if (cov_pp * cov_yy == 0.0) return 0.0;
    return cov_yp / sqrt(cov_yy * cov_pp);
}

// Everything a report needs, built once for the text and JSON forms.
typedef struct {
    os_report_row *classes, avgs[3];
    size_t n_classes;
    char (*numbers)[16];  // label numbers printed when no names are given
} report_table;

static os_status table_build(report_table *t, const os_confusion *cm, const char *const *names,
                             const int *exclude, size_t n_exclude) {
    memset(t, 0, sizeof *t);
    os_prf *rows;
    unsigned char *use;
    int dropped = class_rows(cm, exclude, n_exclude, &rows, &use);
    t->classes = os_calloc((size_t)cm->num_labels, sizeof *t->classes);
    t->numbers = names ? NULL : os_calloc((size_t)cm->num_labels, sizeof *t->numbers);
    if (!rows || !t->classes || (!names && !t->numbers)) {
        free(rows);
        free(use);
        free(t->classes);
        free(t->numbers);
        return OS_ERR_NOMEM;
    }
    for (int c = 0; c < cm->num_labels; c++) {
        if (!use[c]) continue;
        const char *name = names ? names[c] : t->numbers[c];
        if (!names) snprintf(t->numbers[c], sizeof t->numbers[c], "%d", c);
        t->classes[t->n_classes++] = (os_report_row){.name = name, .prf = rows[c]};
    }
    size_t n = (size_t)cm->num_labels;
    // sklearn prints an "accuracy" row instead of "micro avg" when micro-averaging covers every class seen.
    t->avgs[0] = (os_report_row){.name = dropped ? "micro avg" : "accuracy",
                                 .prf = os_prf_average(rows, use, n, OS_AVG_MICRO),
                                 .accuracy = !dropped};
    t->avgs[1] = (os_report_row){.name = "macro avg", .prf = os_prf_average(rows, use, n, OS_AVG_MACRO)};
    t->avgs[2] =
        (os_report_row){.name = "weighted avg", .prf = os_prf_average(rows, use, n, OS_AVG_WEIGHTED)};
    free(rows);
    free(use);
    return OS_OK;
}

static void table_free(report_table *t) {
    free(t->classes);
    free(t->numbers);
}

size_t os_cls_report(const os_confusion *cm, const char *const *names, const int *exclude, size_t n_exclude,
                     int digits, char *buf, size_t cap) {
    report_table t;
    if (table_build(&t, cm, names, exclude, n_exclude) != OS_OK) {
        if (cap) buf[0] = '\0';
        return 0;
    }
    size_t len = os_report_format(t.classes, t.n_classes, t.avgs, 3, digits, buf, cap);
    table_free(&t);
    return len;
}

os_status os_cls_report_print(const os_confusion *cm, const char *const *names, const int *exclude,
                              size_t n_exclude, int digits, FILE *fp) {
    report_table t;
    os_status st = table_build(&t, cm, names, exclude, n_exclude);
    if (st != OS_OK) return st;
    st = os_report_print(t.classes, t.n_classes, t.avgs, 3, digits, fp);
    table_free(&t);
    return st;
}

json_t *os_cls_report_json(const os_confusion *cm, const char *const *names, const int *exclude,
                           size_t n_exclude) {
    report_table t;
    if (table_build(&t, cm, names, exclude, n_exclude) != OS_OK) return NULL;
    json_t *o = os_report_json(t.classes, t.n_classes, t.avgs, 3);
    table_free(&t);
    if (o && json_object_set_new(o, "mcc", json_real(os_cls_mcc(cm)))) {
        json_decref(o);
        os_fail(OS_ERR_NOMEM, "out of memory building the metrics report JSON");
        return NULL;
    }
    return o;
}
