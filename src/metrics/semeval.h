// The official SemEval-2010 Task 8 score, reproducing semeval2010_task8_scorer-v1.2.pl's "(9+1)-way
// evaluation with directionality taken into account" (its final "official score" line). Labels are
// "Type(e1,e2)", "Type(e2,e1)" or the Other label. For every relation type (direction dropped) that occurs
// in the gold labels:
//   correct   = predictions equal to the gold label, direction included
//   precision = correct / predictions of that type, wrong-direction ones included (the scorer's xDIRx
//               column, counted against precision since v1.2)
//   recall    = correct / gold examples of that type
//   F1        = 2PR / (P + R)
// The official score is the unweighted mean of F1 over the gold types other than Other. Predictions of a
// type absent from the gold labels count as wrong for recall and enter no precision; a NULL prediction is a
// skipped example (counted in the gold totals only), both as in the scorer.
#ifndef ONESTONE_METRICS_SEMEVAL_H
#define ONESTONE_METRICS_SEMEVAL_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics/prf.h"
#include "util/error.h"

typedef struct {
    char *name;         // relation type without direction ("Cause-Effect"), or the Other label (owned)
    bool other;         // the Other class: reported, never averaged
    int64_t wrong_dir;  // gold examples of this type predicted as this type with the other direction
    os_prf prf;         // tp = correct, n_pred = predictions of this type, n_gold = gold examples
} os_semeval_type;

typedef struct {
    os_semeval_type *types;  // the gold types, sorted by name
    size_t n_types;
    double macro_precision, macro_recall;
    double macro_f1;  // THE official score (the scorer prints 100 x this with two decimals)
    os_prf micro;     // the scorer's micro-averaged line (excluding Other)
} os_semeval_result;

// Scores n (gold, pred) label pairs; `other_label` NULL means "Other". A label that is neither the Other
// label nor "Name(eX,eY)" with X, Y in {1, 2} is OS_ERR_INPUT (the scorer rejects it too).
os_status os_semeval_eval(const char *const *gold, const char *const *pred, size_t n, const char *other_label,
                          os_semeval_result *out);
// Frees the type table; safe on a zeroed or already-freed result.
void os_semeval_result_free(os_semeval_result *r);
// {"official_macro_f1", "macro_precision", "macro_recall", "micro": {...}, "types": {name: {...}}}; NULL
// (error set) on failure.
json_t *os_semeval_json(const os_semeval_result *r);
#endif
