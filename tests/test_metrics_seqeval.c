// Entity-level P/R/F1 against seqeval's documented output, conlleval's results on its edge cases, and the
// pseudo-random corpora of tests/ref/metrics_ref.py (a port of seqeval's get_entities; its numbers for the
// IOB corpus are also exactly what conlleval prints for it).
#include <jansson.h>

#include "harness.h"
#include "metrics_testutil.h"
#include "metrics/seqeval.h"

// seqeval's README example: f1_score 0.50, accuracy_score 0.80 and this classification_report.
static void test_seqeval_docs(void) {
    const char *g1[] = {"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, *g2[] = {"B-PER", "I-PER", "O"};
    const char *p1[] = {"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"},
               *p2[] = {"B-PER", "I-PER", "O"};
    os_seqeval ev;
    os_seqeval_init(&ev);
    CHECK(os_seqeval_add(&ev, g1, p1, MT_N(g1)) == OS_OK);
    CHECK(os_seqeval_add(&ev, g2, p2, MT_N(g2)) == OS_OK);
    CHECK_NEAR(os_seqeval_overall(&ev).f1, 0.5, MT_TOL);
    CHECK_NEAR(os_seqeval_token_accuracy(&ev), 0.8, MT_TOL);
    const char *want =
        "              precision    recall  f1-score   support\n"
        "\n"
        "        MISC       0.00      0.00      0.00         1\n"
        "         PER       1.00      1.00      1.00         1\n"
        "\n"
        "   micro avg       0.50      0.50      0.50         2\n"
        "   macro avg       0.50      0.50      0.50         2\n"
        "weighted avg       0.50      0.50      0.50         2\n";
    char buf[1024];
    mt_check_text(os_seqeval_report(&ev, 2, buf, sizeof buf), buf, want);
    os_seqeval_free(&ev);
}

// conlleval's edge cases in one corpus. Expected counts by hand and identical to conlleval's output for
// the same file ("processed 19 tokens with 9 phrases; found: 6 phrases; correct: 5.", accuracy 78.95%).
static void test_conlleval_edge_cases(void) {
    // IOB1 adjacent entities: two PER in gold and prediction.
    const char *g1[] = {"I-PER", "I-PER", "B-PER", "O"}, *p1[] = {"I-PER", "I-PER", "B-PER", "O"};
    // I- after O starts an entity: IOB1's "I-LOC I-LOC" equals IOB2's "B-LOC I-LOC".
    const char *g2[] = {"O", "I-LOC", "I-LOC", "O"}, *p2[] = {"O", "B-LOC", "I-LOC", "O"};
    // Type change mid-chunk: gold PER(0-1) + LOC(2); the prediction PER(0-2) matches neither.
    const char *g3[] = {"B-PER", "I-PER", "I-LOC"}, *p3[] = {"B-PER", "I-PER", "I-PER"};
    // Entity at the end of a sentence, and one starting the next: two entities, not one.
    const char *g4[] = {"O", "B-ORG", "I-ORG"}, *p4[] = {"O", "B-ORG", "I-ORG"};
    const char *g5[] = {"I-ORG", "O"}, *p5[] = {"I-ORG", "O"};
    // Nothing predicted.
    const char *g6[] = {"B-MISC", "O", "B-PER"}, *p6[] = {"O", "O", "O"};
    os_seqeval ev;
    os_seqeval_init(&ev);
    CHECK(os_seqeval_add(&ev, g1, p1, MT_N(g1)) == OS_OK);
    CHECK(os_seqeval_add(&ev, g2, p2, MT_N(g2)) == OS_OK);
    CHECK(os_seqeval_add(&ev, g3, p3, MT_N(g3)) == OS_OK);
    CHECK(os_seqeval_add(&ev, g4, p4, MT_N(g4)) == OS_OK);
    CHECK(os_seqeval_add(&ev, g5, p5, MT_N(g5)) == OS_OK);
    CHECK(os_seqeval_add(&ev, g6, p6, MT_N(g6)) == OS_OK);
    os_prf o = os_seqeval_overall(&ev);
    CHECK(o.tp == 5 && o.n_pred == 6 && o.n_gold == 9);
    CHECK_NEAR(o.precision, 5.0 / 6.0, MT_TOL);
    CHECK_NEAR(o.recall, 5.0 / 9.0, MT_TOL);
    CHECK_NEAR(o.f1, 2.0 / 3.0, MT_TOL);  // 2*(5/6)*(5/9)/((5/6)+(5/9)) = 2/3, conlleval's FB1 66.67
    CHECK_NEAR(os_seqeval_token_accuracy(&ev), 15.0 / 19.0, MT_TOL);
    // Types sorted as conlleval prints them: LOC 1/1/2, MISC 0/0/1, ORG 2/2/2, PER 2/3/4
    // (correct/found/gold).
    const char *names[] = {"LOC", "MISC", "ORG", "PER"};
    const int64_t counts[4][3] = {{1, 1, 2}, {0, 0, 1}, {2, 2, 2}, {2, 3, 4}};
    CHECK(ev.n_types == 4);
    for (size_t i = 0; i < 4 && i < ev.n_types; i++) {
        CHECK(!strcmp(ev.types[i].name, names[i]));
        os_prf t = os_seqeval_type_prf(&ev, i);
        CHECK(t.tp == counts[i][0] && t.n_pred == counts[i][1] && t.n_gold == counts[i][2]);
    }
    CHECK_NEAR(os_seqeval_type_prf(&ev, 3).f1, 4.0 / 7.0, MT_TOL);  // PER: P 2/3, R 1/2 -> FB1 57.14
    // Macro: mean of LOC 2/3, MISC 0, ORG 1, PER 4/7.
    CHECK_NEAR(os_seqeval_average(&ev, OS_AVG_MACRO).f1, (2.0 / 3.0 + 1.0 + 4.0 / 7.0) / 4.0, MT_TOL);
    os_seqeval_free(&ev);

    // Empty predictions alone: P = R = F = 0 (conlleval: "found: 0 phrases"; precision 0.00%).
    os_seqeval_init(&ev);
    CHECK(os_seqeval_add(&ev, g6, p6, MT_N(g6)) == OS_OK);
    o = os_seqeval_overall(&ev);
    CHECK(o.precision == 0.0 && o.recall == 0.0 && o.f1 == 0.0 && o.n_gold == 2);
    os_seqeval_free(&ev);

    // No entities anywhere (and an empty sentence): still all zero, no division by zero.
    const char *oo[] = {"O", "O"};
    os_seqeval_init(&ev);
    CHECK(os_seqeval_add(&ev, oo, oo, 2) == OS_OK);
    CHECK(os_seqeval_add(&ev, oo, oo, 0) == OS_OK);
    CHECK(os_seqeval_overall(&ev).f1 == 0.0 && os_seqeval_average(&ev, OS_AVG_MACRO).f1 == 0.0);
    CHECK_NEAR(os_seqeval_token_accuracy(&ev), 1.0, MT_TOL);
    os_seqeval_free(&ev);
}

static void test_bad_tags(void) {
    const char *g[] = {"B-PER", "O"}, *p[] = {"B-PER", "BAD"};
    os_seqeval ev;
    os_seqeval_init(&ev);
    CHECK(os_seqeval_add(&ev, g, p, 2) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "predicted sequence") && strstr(os_last_error(), "'BAD' at token 1"));
    CHECK(ev.tokens == 0 && ev.n_types == 0);  // nothing counted
    os_seqeval_free(&ev);
}

// metrics_ref.py's random_sentences: 60 sentences of 1-12 tags; a predicted tag copies gold half the time.
static void corpus_add(os_seqeval *ev, unsigned seed, const char *const *tags, int n_tags,
                       os_tag_scheme *to) {
    unsigned s = seed;
    for (int k = 0; k < 60; k++) {
        const char *gold[12], *pred[12];
        size_t len = 1 + (size_t)(mt_lcg_next(&s) % 12);
        for (size_t i = 0; i < len; i++) gold[i] = tags[mt_lcg_next(&s) % n_tags];
        for (size_t i = 0; i < len; i++)
            pred[i] = mt_lcg_next(&s) % 2 ? gold[i] : tags[mt_lcg_next(&s) % n_tags];
        if (!to) {
            CHECK(os_seqeval_add(ev, gold, pred, len) == OS_OK);
            continue;
        }
        // Rewritten in another scheme first: the entities, hence every number, must not change.
        char *gc[12], *pc[12];
        CHECK(os_tags_convert(gold, len, *to, gc) == OS_OK);
        CHECK(os_tags_convert(pred, len, *to, pc) == OS_OK);
        CHECK(os_seqeval_add(ev, (const char *const *)gc, (const char *const *)pc, len) == OS_OK);
        os_tags_free(gc, len);
        os_tags_free(pc, len);
    }
}

// One of metrics_ref.py's corpora with the figures it prints for it.
typedef struct {
    unsigned seed;
    const char *const *tags;
    int n_tags;
    size_t n_types;
    int64_t counts[4][3];  // correct, predicted, gold of each type, types sorted by name
    double f1, token_accuracy, macro_f1;
} ref_corpus;

// Scores the corpus into ev (left for the caller to inspect and free) and checks every printed figure;
// then scores it again rewritten in each scheme: the entities, hence the counts, must not change.
static void check_ref_corpus(const ref_corpus *rc, os_seqeval *ev) {
    int64_t sum[3] = {0, 0, 0};
    for (size_t i = 0; i < rc->n_types; i++)
        for (int k = 0; k < 3; k++) sum[k] += rc->counts[i][k];
    for (int sc = 0; sc < 3; sc++) {
        os_tag_scheme to = (os_tag_scheme)sc;
        os_seqeval conv;
        os_seqeval_init(&conv);
        corpus_add(&conv, rc->seed, rc->tags, rc->n_tags, &to);
        os_prf o = os_seqeval_overall(&conv);
        CHECK_MSG(o.tp == sum[0] && o.n_pred == sum[1] && o.n_gold == sum[2], "%s", os_tag_scheme_name(to));
        os_seqeval_free(&conv);
    }
    os_seqeval_init(ev);
    corpus_add(ev, rc->seed, rc->tags, rc->n_tags, NULL);
    os_prf o = os_seqeval_overall(ev);
    CHECK(o.tp == sum[0] && o.n_pred == sum[1] && o.n_gold == sum[2]);
    CHECK_NEAR(o.f1, rc->f1, MT_TOL);
    CHECK_NEAR(os_seqeval_token_accuracy(ev), rc->token_accuracy, MT_TOL);
    CHECK_NEAR(os_seqeval_average(ev, OS_AVG_MACRO).f1, rc->macro_f1, MT_TOL);
    CHECK(ev->n_types == rc->n_types);
    for (size_t i = 0; i < rc->n_types && i < ev->n_types; i++)
        CHECK(ev->types[i].correct == rc->counts[i][0] && ev->types[i].n_pred == rc->counts[i][1] &&
              ev->types[i].n_gold == rc->counts[i][2]);
}

// metrics_ref.py bio_case; conlleval on the same corpus prints the identical counts and percentages.
static void test_reference_bio(void) {
    const char *tags[] = {"O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "B-ORG", "I-MISC"};
    const ref_corpus rc = {.seed = 4242,
                           .tags = tags,
                           .n_tags = MT_N(tags),
                           .n_types = 4,  // LOC, MISC, ORG, PER
                           .counts = {{45, 71, 70}, {20, 44, 44}, {46, 77, 75}, {38, 76, 70}},
                           .f1 = 0.56546489563567348,
                           .token_accuracy = 0.60050890585241734,
                           .macro_f1 = 0.5546636074965241};
    os_seqeval ev;
    check_ref_corpus(&rc, &ev);
    CHECK(ev.tokens == 393);
    os_prf m = os_seqeval_average(&ev, OS_AVG_MACRO);
    CHECK_NEAR(m.precision, 0.54643771721236511, MT_TOL);
    CHECK_NEAR(m.recall, 0.56339826839826834, MT_TOL);

    json_t *j = os_seqeval_json(&ev);
    CHECK(j != NULL);
    CHECK_NEAR(json_real_value(json_object_get(json_object_get(j, "micro avg"), "f1-score")), rc.f1, MT_TOL);
    CHECK(json_integer_value(json_object_get(json_object_get(j, "PER"), "support")) == 70);
    CHECK_NEAR(json_real_value(json_object_get(j, "token_accuracy")), rc.token_accuracy, MT_TOL);
    json_decref(j);
    os_seqeval_free(&ev);
}

// metrics_ref.py bioes_case (seqeval's default mode; conlleval itself does not know S-, but prints these
// counts for the corpus rewritten in BIO).
static void test_reference_bioes(void) {
    const char *tags[] = {"O",     "O",     "O",     "B-PER", "I-PER", "E-PER",
                          "S-PER", "B-LOC", "E-LOC", "S-LOC", "I-LOC"};
    const ref_corpus rc = {.seed = 99,
                           .tags = tags,
                           .n_tags = MT_N(tags),
                           .n_types = 2,  // LOC, PER
                           .counts = {{73, 140, 126}, {68, 130, 140}},
                           .f1 = 0.52611940298507454,
                           .token_accuracy = 0.51020408163265307,
                           .macro_f1 = 0.5262879420774158};
    os_seqeval ev;
    check_ref_corpus(&rc, &ev);
    os_seqeval_free(&ev);
}

int main(void) {
    RUN(test_seqeval_docs);
    RUN(test_conlleval_edge_cases);
    RUN(test_bad_tags);
    RUN(test_reference_bio);
    RUN(test_reference_bioes);
    return th_finish();
}
