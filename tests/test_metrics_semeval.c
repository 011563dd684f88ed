// The official SemEval-2010 Task 8 score on hand-computed cases. The official scorer
// (semeval2010_task8_scorer-v1.2.pl) prints the same figures for the same files, e.g. for the first case
// "macro-averaged F1 = 35.56%" with per-relation lines "P = 1/(2 + 1)", and metrics_ref.py's port agrees.
#include <jansson.h>

#include "harness.h"
#include "metrics_testutil.h"
#include "metrics/semeval.h"

static const os_semeval_type *find(const os_semeval_result *r, const char *name) {
    for (size_t i = 0; i < r->n_types; i++)
        if (!strcmp(r->types[i].name, name)) return &r->types[i];
    return NULL;
}

// Correct, wrong-direction, wrong-type, Other, skipped and a type absent from the key, all at once.
static void test_hand_case(void) {
    const char *gold[] = {
        "Cause-Effect(e1,e2)",     // 1
        "Cause-Effect(e2,e1)",     // 2
        "Cause-Effect(e1,e2)",     // 3
        "Component-Whole(e1,e2)",  // 4
        "Component-Whole(e2,e1)",  // 5
        "Other",                   // 6
        "Other",                   // 7
        "Message-Topic(e1,e2)",    // 8
        "Message-Topic(e1,e2)",    // 9
        "Message-Topic(e2,e1)",    // 10
        "Component-Whole(e1,e2)",  // 11
        "Other",                   // 12
    };
    const char *pred[] = {
        "Cause-Effect(e1,e2)",      // correct
        "Cause-Effect(e1,e2)",      // right type, wrong direction
        "Other",                    // missed
        "Component-Whole(e1,e2)",   // correct
        "Cause-Effect(e2,e1)",      // wrong type: a Cause-Effect prediction
        "Component-Whole(e2,e1)",   // Other predicted as a relation
        "Other",                    // correct Other (never averaged)
        "Message-Topic(e1,e2)",     // correct
        "Product-Producer(e1,e2)",  // a type the key lacks: wrong, counted in no precision
        NULL,                       // skipped
        "Component-Whole(e2,e1)",   // wrong direction
        "Message-Topic(e2,e1)",     // Other predicted as a relation
    };
    os_semeval_result r;
    CHECK(os_semeval_eval(gold, pred, MT_N(gold), NULL, &r) == OS_OK);
    // By hand (counts as the scorer prints them, P = correct / (predicted + wrong direction)):
    //   Cause-Effect     P = 1/(2+1)  R = 1/3  F1 = 1/3
    //   Component-Whole  P = 1/(2+1)  R = 1/3  F1 = 1/3
    //   Message-Topic    P = 1/(2+0)  R = 1/3  F1 = 2/5
    //   Other            P = 1/(2+0)  R = 1/3  (excluded)
    // macro F1 = (1/3 + 1/3 + 2/5) / 3 = 16/45 = 35.56%; macro P = 7/18; macro R = 1/3;
    // micro P = 3/8, R = 3/9, F1 = 6/17.
    CHECK(r.n_types == 4);
    CHECK_NEAR(r.macro_f1, 16.0 / 45.0, MT_TOL);
    CHECK_NEAR(r.macro_precision, 7.0 / 18.0, MT_TOL);
    CHECK_NEAR(r.macro_recall, 1.0 / 3.0, MT_TOL);
    CHECK(r.micro.tp == 3 && r.micro.n_pred == 8 && r.micro.n_gold == 9);
    CHECK_NEAR(r.micro.f1, 6.0 / 17.0, MT_TOL);
    const os_semeval_type *ce = find(&r, "Cause-Effect"), *cw = find(&r, "Component-Whole");
    const os_semeval_type *mt = find(&r, "Message-Topic"), *other = find(&r, "Other");
    CHECK(ce && ce->prf.tp == 1 && ce->prf.n_pred == 3 && ce->prf.n_gold == 3 && ce->wrong_dir == 1);
    CHECK(cw && cw->prf.tp == 1 && cw->prf.n_pred == 3 && cw->wrong_dir == 1);
    CHECK(mt && mt->prf.tp == 1 && mt->prf.n_pred == 2 && mt->prf.n_gold == 3 && mt->wrong_dir == 0);
    CHECK_NEAR(mt ? mt->prf.f1 : -1, 0.4, MT_TOL);
    CHECK(other && other->other && other->prf.n_pred == 2);
    CHECK(find(&r, "Product-Producer") == NULL);
    // The scorer's line: printf "%0.2f" of 100 x macro F1.
    char line[16];
    snprintf(line, sizeof line, "%0.2f", 100.0 * r.macro_f1);
    CHECK(!strcmp(line, "35.56"));

    json_t *j = os_semeval_json(&r);
    CHECK(j != NULL);
    CHECK_NEAR(json_real_value(json_object_get(j, "official_macro_f1")), 16.0 / 45.0, MT_TOL);
    json_t *jce = json_object_get(json_object_get(j, "types"), "Cause-Effect");
    CHECK(json_integer_value(json_object_get(jce, "wrong_direction")) == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(j, "micro"), "predicted")) == 8);
    json_decref(j);
    os_semeval_result_free(&r);
    os_semeval_result_free(&r);  // idempotent
}

// Every prediction of a type has the wrong direction: P = 0 (the scorer's "0 == predicted" branch), and the
// mean runs over the gold types only (2 here, no Other), not over 9. The scorer prints 50.00%.
static void test_wrong_direction_and_divisor(void) {
    const char *gold[] = {"Entity-Destination(e1,e2)", "Entity-Destination(e1,e2)",
                          "Instrument-Agency(e2,e1)"};
    const char *pred[] = {"Entity-Destination(e2,e1)", "Entity-Destination(e2,e1)",
                          "Instrument-Agency(e2,e1)"};
    os_semeval_result r;
    CHECK(os_semeval_eval(gold, pred, 3, NULL, &r) == OS_OK);
    CHECK_NEAR(r.macro_f1, 0.5, MT_TOL);
    CHECK(r.n_types == 2 && r.types[0].wrong_dir == 2 && r.types[0].prf.precision == 0.0);
    os_semeval_result_free(&r);
}

// A custom Other label (KBP37 / TACRED style) and label validation.
static void test_other_label_and_errors(void) {
    const char *gold[] = {"per:title(e1,e2)", "no_relation", "per:title(e2,e1)"};
    const char *pred[] = {"per:title(e1,e2)", "per:title(e1,e2)", "no_relation"};
    os_semeval_result r;
    CHECK(os_semeval_eval(gold, pred, 3, "no_relation", &r) == OS_OK);
    // per:title: correct 1, predicted 2, gold 2 -> P = R = F1 = 1/2.
    CHECK_NEAR(r.macro_f1, 0.5, MT_TOL);
    os_semeval_result_free(&r);

    CHECK(os_semeval_eval(gold, pred, 3, NULL, &r) == OS_ERR_INPUT);  // "no_relation" is not "Other"
    CHECK(strstr(os_last_error(), "gold relation label 'no_relation' at position 1") != NULL);
    CHECK(r.types == NULL && r.n_types == 0);
    const char *g2[] = {"Cause-Effect(e1,e2)"}, *p2[] = {"Cause-Effect"};
    CHECK(os_semeval_eval(g2, p2, 1, NULL, &r) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "predicted relation label 'Cause-Effect'") != NULL);
    const char *g3[] = {"(e1,e2)"};
    CHECK(os_semeval_eval(g3, g3, 1, NULL, &r) == OS_ERR_INPUT);
    // Only Other in the key: no relation type to average, score 0.
    const char *g4[] = {"Other"};
    CHECK(os_semeval_eval(g4, g4, 1, NULL, &r) == OS_OK);
    CHECK(r.macro_f1 == 0.0);
    os_semeval_result_free(&r);
}

int main(void) {
    RUN(test_hand_case);
    RUN(test_wrong_direction_and_divisor);
    RUN(test_other_label_and_errors);
    return th_finish();
}
