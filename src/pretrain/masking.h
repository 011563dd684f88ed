// Dynamic masking for masked-LM pretraining (BERT / HF DataCollatorForLanguageModeling):
//   - every non-special position is selected with probability `prob` (15 %), independently; with
//     whole_word, every WORD is (a word = a piece that does not start with "##" plus the "##" pieces
//     after it) and all of its pieces are selected together (HF DataCollatorForWholeWordMask's unit);
//   - a selected position becomes [MASK] with probability `mask_frac` (80 %), else a uniformly random id of
//     the vocabulary with probability random_frac / (1 - mask_frac) (10 % overall), else stays (10 %);
//   - its label is the original id; every other label is -100 (ignored by the loss).
// The choice is a pure function of (seed, block contents): training passes seed = f(run seed, epoch, block),
// so every epoch sees a fresh masking of each block and a resumed run sees the same one.
#ifndef ONESTONE_PRETRAIN_MASKING_H
#define ONESTONE_PRETRAIN_MASKING_H
#include <stdint.h>

#include "tokenizer/tokenizer.h"

typedef struct {
    float prob, mask_frac, random_frac;
    int whole_word;
    int32_t mask_id, vocab_size;
    uint8_t *special;       // (vocab_size) never selected: [CLS], [SEP], [PAD]
    uint8_t *continuation;  // (vocab_size) the piece starts with "##"
} os_masker;

// Reads the special and continuation pieces from the tokenizer; fails when it has no [MASK] token.
os_status os_masker_init(os_masker *m, const os_tokenizer *tok, float prob, float mask_frac, float random_frac,
                         int whole_word);
void os_masker_free(os_masker *m);
// Masks ids (n) in place and fills labels (n); returns the number of selected positions.
int os_masker_apply(const os_masker *m, int32_t *ids, int32_t *labels, int n, uint64_t seed);
#endif
