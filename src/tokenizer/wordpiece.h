// WordPiece (HF / transformers.js): greedy longest-match-first over a word's characters; pieces after the first
// carry the continuation prefix ("##"). A word with more than max_chars characters, or with any position where
// no piece matches, becomes the unknown token as a whole.
#ifndef ONESTONE_TOKENIZER_WORDPIECE_H
#define ONESTONE_TOKENIZER_WORDPIECE_H
#include <stdint.h>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"
#include "util/error.h"

// A growable list of pieces: id, source byte range, word index (all owned).
typedef struct {
    int32_t *id, *start, *end, *word;
    int32_t n, cap;
} os_pieces;

void os_pieces_free(os_pieces *p);
// Appends one piece.
os_status os_pieces_push(os_pieces *p, int32_t id, int32_t start, int32_t end, int32_t word);

// WordPiece of word w (w->nchars <= max_chars, so all its characters are stored): writes each piece's id and
// end (exclusive character index) into ids/ends, which have room for w->nchars entries; returns the count.
// A word that cannot be matched gives one piece: unk_id, ending at w->nchars.
int32_t os_wordpiece_match(const os_vocab *v, int32_t unk_id, const os_word *w, int32_t *ids, int32_t *ends);

#endif
