// Single-label classification metrics against sklearn's documented outputs, hand-computed cases and
// tests/ref/metrics_ref.py (a standard-library port of sklearn's formulas).
#include <jansson.h>

#include "harness.h"
#include "metrics_testutil.h"
#include "metrics/classification.h"

// sklearn's classification_report docstring example; the expected text is copied from its documentation.
static void test_report_sklearn_docs(void) {
    const int gold[] = {0, 1, 2, 2, 2}, pred[] = {0, 0, 2, 2, 1};
    const char *names[] = {"class 0", "class 1", "class 2"};
    os_confusion cm;
    CHECK(os_confusion_init(&cm, 3) == OS_OK);
    CHECK(os_confusion_add(&cm, gold, pred, 5) == OS_OK);
    const char *want =
        "              precision    recall  f1-score   support\n"
        "\n"
        "     class 0       0.50      1.00      0.67         1\n"
        "     class 1       0.00      0.00      0.00         1\n"
        "     class 2       1.00      0.67      0.80         3\n"
        "\n"
        "    accuracy                           0.60         5\n"
        "   macro avg       0.50      0.56      0.49         5\n"
        "weighted avg       0.70      0.60      0.61         5\n";
    char buf[1024];
    size_t len = os_cls_report(&cm, names, NULL, 0, 2, buf, sizeof buf);
    mt_check_text(len, buf, want);
    // snprintf semantics: a short buffer is truncated and terminated, the full length still returned.
    char small[20];
    CHECK(os_cls_report(&cm, names, NULL, 0, 2, small, sizeof small) == len);
    CHECK(strlen(small) == sizeof small - 1 && strncmp(small, want, sizeof small - 1) == 0);
    CHECK(os_cls_report(&cm, names, NULL, 0, 2, NULL, 0) == len);

    // The FILE* variant writes the same bytes.
    char *mem = NULL;
    size_t memlen = 0;
    FILE *fp = open_memstream(&mem, &memlen);
    CHECK(fp != NULL);
    CHECK(os_cls_report_print(&cm, names, NULL, 0, 2, fp) == OS_OK);
    fclose(fp);
    CHECK(mem && strcmp(mem, want) == 0);
    free(mem);

    // MCC by hand: C = [[1,0,0],[1,0,0],[0,1,2]], t = (1,1,3), p = (2,1,2), c = 3, s = 5:
    // (3*5 - 9) / sqrt((25 - 11) * (25 - 9)) = 6 / sqrt(224).
    CHECK_NEAR(os_cls_mcc(&cm), 6.0 / sqrt(224.0), MT_TOL);
    CHECK_NEAR(os_cls_accuracy(&cm), 0.6, MT_TOL);
    os_prf c2 = os_cls_class_prf(&cm, 2);
    CHECK(c2.tp == 2 && c2.n_pred == 2 && c2.n_gold == 3);
    CHECK_NEAR(c2.f1, 0.8, MT_TOL);
    os_confusion_free(&cm);
}

// Without names the label numbers head the rows, as sklearn prints them; more digits widen nothing else.
static void test_report_numbers_digits(void) {
    const int gold[] = {0, 1, 1}, pred[] = {0, 1, 0};
    os_confusion cm;
    CHECK(os_confusion_init(&cm, 2) == OS_OK);
    CHECK(os_confusion_add(&cm, gold, pred, 3) == OS_OK);
    // class 0: P 1/2 R 1/1 F 2/3; class 1: P 1/1 R 1/2 F 2/3 (by hand).
    const char *want =
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0     0.5000    1.0000    0.6667         1\n"
        "           1     1.0000    0.5000    0.6667         2\n"
        "\n"
        "    accuracy                         0.6667         3\n"
        "   macro avg     0.7500    0.7500    0.6667         3\n"
        "weighted avg     0.8333    0.6667    0.6667         3\n";
    char buf[1024];
    mt_check_text(os_cls_report(&cm, NULL, NULL, 0, 4, buf, sizeof buf), buf, want);
    os_confusion_free(&cm);
}

// sklearn's f1_score / precision_score / recall_score docstring example (documented outputs).
static void test_averages_sklearn_docs(void) {
    const int gold[] = {0, 1, 2, 0, 1, 2}, pred[] = {0, 2, 1, 0, 0, 1};
    os_confusion cm;
    CHECK(os_confusion_init(&cm, 3) == OS_OK);
    CHECK(os_confusion_add(&cm, gold, pred, 6) == OS_OK);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_MACRO, NULL, 0).f1, 0.26666666666666666, MT_TOL);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_MICRO, NULL, 0).f1, 0.3333333333333333, MT_TOL);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_WEIGHTED, NULL, 0).f1, 0.26666666666666666, MT_TOL);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_MACRO, NULL, 0).precision, 0.2222222222222222, MT_TOL);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_WEIGHTED, NULL, 0).precision, 0.2222222222222222, MT_TOL);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_MACRO, NULL, 0).recall, 0.3333333333333333, MT_TOL);
    os_confusion_free(&cm);
}

// matthews_corrcoef docstring: y_true = [+1, +1, +1, -1], y_pred = [+1, -1, +1, +1] -> -0.33...
// (labels mapped -1 -> 0, +1 -> 1).
static void test_mcc_sklearn_docs(void) {
    const int gold[] = {1, 1, 1, 0}, pred[] = {1, 0, 1, 1};
    os_confusion cm;
    CHECK(os_confusion_init(&cm, 2) == OS_OK);
    CHECK(os_confusion_add(&cm, gold, pred, 4) == OS_OK);
    CHECK_NEAR(os_cls_mcc(&cm), -1.0 / 3.0, MT_TOL);
    os_confusion_free(&cm);
    // Constant prediction: undefined, 0 as in sklearn.
    const int g2[] = {0, 1, 1}, p2[] = {1, 1, 1};
    CHECK(os_confusion_init(&cm, 2) == OS_OK);
    CHECK(os_confusion_add(&cm, g2, p2, 3) == OS_OK);
    CHECK(os_cls_mcc(&cm) == 0.0);
    os_confusion_free(&cm);
}

// Ignored positions, excluded classes and classes that never occur, by hand.
static void test_ignore_exclude_by_hand(void) {
    // 4 labels: 0 = "O" (excluded), 3 never occurs. -1 and -100 gold labels are skipped.
    const int gold[] = {0, 0, 1, 1, 2, -1, 2, 0, -100};
    const int pred[] = {0, 1, 1, 2, 2, 3, 0, 0, 3};
    os_confusion cm;
    CHECK(os_confusion_init(&cm, 4) == OS_OK);
    CHECK(os_confusion_add(&cm, gold, pred, 9) == OS_OK);
    CHECK(os_confusion_total(&cm) == 7);
    CHECK_NEAR(os_cls_accuracy(&cm), 4.0 / 7.0, MT_TOL);
    // class 1: tp 1, pred 2, gold 2 -> P = R = F = 1/2; class 2: tp 1, pred 2, gold 2 -> 1/2.
    const int ex[] = {0};
    os_prf mi = os_cls_average(&cm, OS_AVG_MICRO, ex, 1);
    CHECK(mi.tp == 2 && mi.n_pred == 4 && mi.n_gold == 4);
    CHECK_NEAR(mi.f1, 0.5, MT_TOL);
    // Macro over the classes seen (1, 2): class 3 is absent, so it does not drag the mean down.
    os_prf ma = os_cls_average(&cm, OS_AVG_MACRO, ex, 1);
    CHECK_NEAR(ma.precision, 0.5, MT_TOL);
    CHECK_NEAR(ma.f1, 0.5, MT_TOL);
    // Without exclusion: class 0: tp 2, pred 3, gold 3 -> 2/3 each. Macro F1 = (2/3 + 1/2 + 1/2)/3.
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_MACRO, NULL, 0).f1, (2.0 / 3.0 + 1.0) / 3.0, MT_TOL);
    // Weighted by support 3, 2, 2: (3*2/3 + 2*1/2 + 2*1/2) / 7 = 4/7.
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_WEIGHTED, NULL, 0).f1, 4.0 / 7.0, MT_TOL);
    // Micro without exclusion is accuracy.
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_MICRO, NULL, 0).f1, 4.0 / 7.0, MT_TOL);

    // With an excluded class present the report shows "micro avg" instead of "accuracy" (sklearn does the
    // same when labels= leaves out a class that occurs).
    const char *names[] = {"O", "PER", "LOC", "ORG"};
    const char *want =
        "              precision    recall  f1-score   support\n"
        "\n"
        "         PER       0.50      0.50      0.50         2\n"
        "         LOC       0.50      0.50      0.50         2\n"
        "\n"
        "   micro avg       0.50      0.50      0.50         4\n"
        "   macro avg       0.50      0.50      0.50         4\n"
        "weighted avg       0.50      0.50      0.50         4\n";
    char buf[1024];
    mt_check_text(os_cls_report(&cm, names, ex, 1, 2, buf, sizeof buf), buf, want);
    os_confusion_free(&cm);
}

static void test_bad_labels(void) {
    os_confusion cm;
    CHECK(os_confusion_init(&cm, 0) == OS_ERR_INPUT);
    CHECK(os_confusion_init(&cm, 3) == OS_OK);
    const int gold[] = {0, 1, 3}, pred[] = {0, 1, 2};
    CHECK(os_confusion_add(&cm, gold, pred, 3) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "gold label 3 at position 2") != NULL);
    CHECK(os_confusion_total(&cm) == 0);  // nothing of the bad batch was counted
    const int g2[] = {0, 1}, p2[] = {0, -1};
    CHECK(os_confusion_add(&cm, g2, p2, 2) == OS_ERR_INPUT);
    CHECK(os_confusion_total(&cm) == 0);
    // An empty matrix: everything 0, no division by zero.
    CHECK(os_cls_accuracy(&cm) == 0.0 && os_cls_mcc(&cm) == 0.0);
    CHECK(os_cls_average(&cm, OS_AVG_MACRO, NULL, 0).f1 == 0.0);
    os_confusion_free(&cm);
    os_confusion_free(&cm);  // idempotent
}

// The pseudo-random case of tests/ref/metrics_ref.py (classification_case); expected values printed by it.
static void test_reference_case(void) {
    unsigned s = 12345;
    int gold[200], pred[200];
    for (int i = 0; i < 200; i++) {
        int g = mt_lcg_next(&s) % 5;
        if (mt_lcg_next(&s) % 13 == 0) g = -1;
        int r = mt_lcg_next(&s);
        pred[i] = (r % 3 && g >= 0) ? g : mt_lcg_next(&s) % 5;
        gold[i] = g;
    }
    os_confusion cm;
    CHECK(os_confusion_init(&cm, 6) == OS_OK);
    // Two batches: the counts accumulate.
    CHECK(os_confusion_add(&cm, gold, pred, 77) == OS_OK);
    CHECK(os_confusion_add(&cm, gold + 77, pred + 77, 123) == OS_OK);
    CHECK(os_confusion_total(&cm) == 187);
    CHECK_NEAR(os_cls_accuracy(&cm), 0.74866310160427807, MT_TOL);
    const double f1[5] = {0.75000000000000011, 0.77333333333333343, 0.72463768115942018, 0.78787878787878796,
                          0.7142857142857143};
    const int support[5] = {38, 37, 35, 35, 42};
    for (int c = 0; c < 5; c++) {
        os_prf p = os_cls_class_prf(&cm, c);
        CHECK_NEAR(p.f1, f1[c], MT_TOL);
        CHECK(p.n_gold == support[c]);
    }
    CHECK_NEAR(os_cls_class_prf(&cm, 3).precision, 0.83870967741935487, MT_TOL);
    CHECK_NEAR(os_cls_class_prf(&cm, 0).recall, 0.78947368421052633, MT_TOL);
    os_prf m = os_cls_average(&cm, OS_AVG_MACRO, NULL, 0);
    CHECK_NEAR(m.precision, 0.7531466236749369, MT_TOL);
    CHECK_NEAR(m.recall, 0.74893720788457629, MT_TOL);
    CHECK_NEAR(m.f1, 0.75002710333145117, MT_TOL);
    os_prf w = os_cls_average(&cm, OS_AVG_WEIGHTED, NULL, 0);
    CHECK_NEAR(w.precision, 0.75117557259596146, MT_TOL);
    CHECK_NEAR(w.f1, 0.74893802005171461, MT_TOL);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_MICRO, NULL, 0).f1, 0.74866310160427818, MT_TOL);
    const int ex[] = {0};
    os_prf mi = os_cls_average(&cm, OS_AVG_MICRO, ex, 1);
    CHECK_NEAR(mi.precision, 0.75862068965517238, MT_TOL);
    CHECK_NEAR(mi.recall, 0.73825503355704702, MT_TOL);
    CHECK_NEAR(mi.f1, 0.74829931972789121, MT_TOL);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_MACRO, ex, 1).f1, 0.75003387916431397, MT_TOL);
    CHECK_NEAR(os_cls_average(&cm, OS_AVG_WEIGHTED, ex, 1).f1, 0.74866717952799078, MT_TOL);
    CHECK_NEAR(os_cls_mcc(&cm), 0.68571573232410532, MT_TOL);

    // The JSON report carries the same numbers under sklearn's output_dict keys.
    json_t *j = os_cls_report_json(&cm, NULL, NULL, 0);
    CHECK(j != NULL);
    CHECK_NEAR(json_real_value(json_object_get(j, "accuracy")), 0.74866310160427807, MT_TOL);
    CHECK_NEAR(json_real_value(json_object_get(json_object_get(j, "macro avg"), "f1-score")), m.f1, MT_TOL);
    CHECK(json_integer_value(json_object_get(json_object_get(j, "4"), "support")) == 42);
    CHECK(json_object_get(j, "5") == NULL);  // never seen: no row, as in sklearn
    CHECK_NEAR(json_real_value(json_object_get(j, "mcc")), 0.68571573232410532, MT_TOL);
    json_decref(j);
    os_confusion_free(&cm);
}

int main(void) {
    RUN(test_report_sklearn_docs);
    RUN(test_report_numbers_digits);
    RUN(test_averages_sklearn_docs);
    RUN(test_mcc_sklearn_docs);
    RUN(test_ignore_exclude_by_hand);
    RUN(test_bad_labels);
    RUN(test_reference_case);
    return th_finish();
}
