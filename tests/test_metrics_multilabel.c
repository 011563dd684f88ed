// Multi-label metrics against sklearn's documented outputs and hand-computed cases.
#include "harness.h"
#include "metrics_testutil.h"
#include "metrics/multilabel.h"

// f1_score docstring, multilabel part: y_true = [[0,0,0],[1,1,1],[0,1,1]], y_pred = [[0,0,0],[1,1,1],[1,1,0]]
// -> average=None [0.66666667, 1., 0.66666667]. Micro, macro and subset accuracy by hand from the counts:
// tp = (1, 2, 1), predicted = (2, 2, 1), gold = (1, 2, 2).
static void test_sklearn_docs(void) {
    const int gold[] = {0, 0, 0, 1, 1, 1, 0, 1, 1};
    const int pred[] = {0, 0, 0, 1, 1, 1, 1, 1, 0};
    os_multilabel_scores s;
    os_prf per[3];
    CHECK(os_multilabel_eval(gold, pred, 3, 3, &s, per) == OS_OK);
    CHECK_NEAR(per[0].f1, 2.0 / 3.0, MT_TOL);
    CHECK_NEAR(per[1].f1, 1.0, MT_TOL);
    CHECK_NEAR(per[2].f1, 2.0 / 3.0, MT_TOL);
    CHECK(per[0].tp == 1 && per[0].n_pred == 2 && per[0].n_gold == 1);
    CHECK_NEAR(s.macro.f1, (2.0 / 3.0 + 1.0 + 2.0 / 3.0) / 3.0, MT_TOL);
    CHECK_NEAR(s.micro.precision, 0.8, MT_TOL);  // 4 / 5
    CHECK_NEAR(s.micro.recall, 0.8, MT_TOL);     // 4 / 5
    CHECK_NEAR(s.micro.f1, 0.8, MT_TOL);
    // Weighted by support (1, 2, 2): (2/3 + 2 + 4/3) / 5 = 0.8.
    CHECK_NEAR(s.weighted.f1, 0.8, MT_TOL);
    CHECK_NEAR(s.subset_accuracy, 2.0 / 3.0, MT_TOL);
    CHECK_NEAR(s.hamming_loss, 2.0 / 9.0, MT_TOL);
}

// accuracy_score docstring, multilabel: accuracy_score([[0, 1], [1, 1]], np.ones((2, 2))) -> 0.5.
static void test_subset_accuracy_docs(void) {
    const int gold[] = {0, 1, 1, 1}, pred[] = {1, 1, 1, 1};
    os_multilabel_scores s;
    CHECK(os_multilabel_eval(gold, pred, 2, 2, &s, NULL) == OS_OK);
    CHECK_NEAR(s.subset_accuracy, 0.5, MT_TOL);
}

// A label never gold nor predicted still counts in the macro mean with F1 = 0 (sklearn on indicator input
// averages over all columns).
static void test_absent_label_counts_in_macro(void) {
    const int gold[] = {1, 0, 1, 0}, pred[] = {1, 0, 1, 0};
    os_multilabel_scores s;
    CHECK(os_multilabel_eval(gold, pred, 2, 2, &s, NULL) == OS_OK);
    CHECK_NEAR(s.micro.f1, 1.0, MT_TOL);
    CHECK_NEAR(s.macro.f1, 0.5, MT_TOL);
    CHECK_NEAR(s.subset_accuracy, 1.0, MT_TOL);
}

static void test_bad_input(void) {
    const int gold[] = {0, 2}, pred[] = {0, 1};
    os_multilabel_scores s;
    CHECK(os_multilabel_eval(gold, pred, 1, 2, &s, NULL) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "row 0, label 1") != NULL);
    CHECK(os_multilabel_eval(gold, pred, 1, 0, &s, NULL) == OS_ERR_INPUT);
    // No rows: all zero, no division by zero.
    CHECK(os_multilabel_eval(gold, pred, 0, 2, &s, NULL) == OS_OK);
    CHECK(s.micro.f1 == 0.0 && s.macro.f1 == 0.0 && s.subset_accuracy == 0.0);
}

int main(void) {
    RUN(test_sklearn_docs);
    RUN(test_subset_accuracy_docs);
    RUN(test_absent_label_counts_in_macro);
    RUN(test_bad_input);
    return th_finish();
}
