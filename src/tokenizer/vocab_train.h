// WordPiece vocabulary training (what HF tokenizers' WordPieceTrainer does: BPE merges over words, with the
// "##" prefix marking characters that continue a word). See docs/tokenizer.md for the algorithm.
#ifndef ONESTONE_TOKENIZER_VOCAB_TRAIN_H
#define ONESTONE_TOKENIZER_VOCAB_TRAIN_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct {
    int32_t vocab_size;     // target size, special tokens and alphabet included
    int32_t min_frequency;  // a pair seen fewer times (weighted by word counts) is never merged
    int lowercase;          // 1: uncased (lower-case + strip accents, like bert-base-uncased); 0: cased
    uint64_t seed;          // orders pairs of equal frequency (same seed and input: same vocabulary)
} os_vocab_train_options;

typedef struct {
    int64_t bytes, words;   // input read, pre-tokenised words
    int32_t unique_words, alphabet, merges, vocab_size;
} os_vocab_train_stats;

// vocab_size 30522, min_frequency 2, lowercase 1, seed 0.
os_vocab_train_options os_vocab_train_defaults(void);

// Trains on the text files (read whole; any bytes, invalid UTF-8 as the tokenizer reads it) and writes vocab.txt
// to out_path atomically: [PAD] [UNK] [CLS] [SEP] [MASK], then every character seen (word-initial form, then
// "##" forms), then merged pieces in the order they were made. stats may be NULL.
os_status os_vocab_train(const char *const *files, int n_files, const os_vocab_train_options *opts,
                         const char *out_path, os_vocab_train_stats *stats);
#endif
