// Features: a dataset tokenized once into compact arrays (every example's word pieces back to back), and
// each task's labels aligned to them. Token-level labels go on the first piece of every word (HF's
// convention); other pieces, [CLS], [SEP] and words lost to truncation get OS_IGNORE_LABEL.
#ifndef ONESTONE_TASKS_FEATURES_H
#define ONESTONE_TASKS_FEATURES_H
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "tokenizer/tokenizer.h"

typedef struct {
    size_t n;             // examples
    size_t *start;        // (n+1) offsets of each example's pieces in ids/types
    int32_t *ids, *types; // (start[n]) pieces with [CLS]/[SEP]
    int32_t *pair_pos;    // (2n) positions of the <e1> and <e2> markers, -1 when absent (or NULL)
    size_t *word_start;   // (n+1) offsets of each example's words in first_piece (word-level data)
    int32_t *first_piece; // (word_start[n]) position of each word's first piece, -1 when truncated away
    size_t n_truncated;   // examples that lost pieces to max_length
} os_featset;

// Tokenizes every example of `ds` (words, text or text pair) to at most max_len pieces.
// with_markers: record <e1>/<e2> positions (the tokenizer must know them as special tokens).
os_status os_featurize(const os_dataset *ds, const os_tokenizer *tok, int max_len, int with_markers,
                       os_featset *out);
void os_featset_free(os_featset *f);
static inline int os_featset_len(const os_featset *f, size_t i) { return (int)(f->start[i + 1] - f->start[i]); }
#endif
