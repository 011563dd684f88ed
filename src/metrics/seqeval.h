// Entity-level evaluation of tag sequences exactly as conlleval computes it (and seqeval's default mode
// reproduces): a predicted entity is correct only when its type, first and last token all equal a gold
// entity's. Chunks are read by tag_scheme.h's rules, valid for IOB1, IOB2 (BIO) and BIOES alike. Sentences
// are added one at a time; entities never cross sentences. Also token accuracy (whole tag equal).
#ifndef ONESTONE_METRICS_SEQEVAL_H
#define ONESTONE_METRICS_SEQEVAL_H
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics/prf.h"
#include "metrics/tag_scheme.h"
#include "util/error.h"

typedef struct {
    char *name;  // entity type (owned)
    int64_t correct, n_pred, n_gold;
} os_seqeval_type;

typedef struct {
    os_seqeval_type *types;  // every type seen in gold or predictions, sorted by name (as conlleval prints)
    size_t n_types, cap_types;
    int64_t tokens, correct_tokens;
    os_chunk *scratch;  // chunk buffers for one gold and one predicted sentence
    size_t cap_scratch;
} os_seqeval;

// Empty accumulator (allocates nothing yet).
void os_seqeval_init(os_seqeval *ev);
// Releases everything; the struct can be initialised again.
void os_seqeval_free(os_seqeval *ev);
// Adds one sentence of len gold and predicted tags. A malformed tag is OS_ERR_INPUT and adds nothing.
os_status os_seqeval_add(os_seqeval *ev, const char *const *gold, const char *const *pred, size_t len);

// conlleval's overall figures: micro-averaged over all entities (= seqeval's precision/recall/f1_score).
os_prf os_seqeval_overall(const os_seqeval *ev);
// P/R/F1 of ev->types[i].
os_prf os_seqeval_type_prf(const os_seqeval *ev, size_t i);
// Micro (= overall), macro or support-weighted average over the types.
os_prf os_seqeval_average(const os_seqeval *ev, os_average avg);
// Fraction of tokens whose predicted tag equals the gold tag (conlleval's "accuracy").
double os_seqeval_token_accuracy(const os_seqeval *ev);

// seqeval's classification_report text (per type, then micro/macro/weighted avg) into buf (snprintf
// semantics; returns the full length, 0 with the error set when out of memory).
size_t os_seqeval_report(const os_seqeval *ev, int digits, char *buf, size_t cap);
// The same report written to fp.
os_status os_seqeval_report_print(const os_seqeval *ev, int digits, FILE *fp);
// The report's output_dict form as JSON plus "token_accuracy"; NULL (error set) on failure.
json_t *os_seqeval_json(const os_seqeval *ev);
#endif
