// Normalises a text and splits it into words (HF BertPreTokenizer): runs of characters that are neither
// whitespace nor punctuation, and every punctuation character on its own. Streams: each word is handed to a
// callback as soon as it ends, with the source byte range of every character it holds.
#ifndef ONESTONE_TOKENIZER_PRETOKENIZER_H
#define ONESTONE_TOKENIZER_PRETOKENIZER_H
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/normalizer.h"
#include "util/error.h"

// One word after normalisation. Only the first max_chars + 1 characters are stored: a longer word is
// [UNK] for WordPiece anyway, so nchars keeps counting but bytes/char_pos/src_* stop growing.
typedef struct {
    const char *bytes;          // normalised UTF-8 of the stored characters
    int32_t nbytes;
    int32_t nchars;             // characters in the whole word
    int32_t nstored;            // characters stored: min(nchars, max_chars + 1)
    const int32_t *char_pos;    // [nstored + 1] byte offset of each stored character in bytes; last = nbytes
    const int32_t *src_start;   // [nstored] source byte range of the input character each one came from
    const int32_t *src_end;
    int32_t start, end;         // source byte range of the whole word
} os_word;

// Scratch space for one word (reused across calls; no allocation per character).
typedef struct {
    char *bytes;
    int32_t *char_pos, *src_start, *src_end;
    int32_t cap_chars;  // capacity in characters (bytes has 4 * OS_NORM_OUT_MAX per character... see .c)
    os_word w;
} os_pretok_buf;

void os_pretok_buf_free(os_pretok_buf *b);

// Called for each word; a non-OK status stops the scan and is returned.
typedef os_status (*os_word_fn)(void *ctx, const os_word *w);

// Normalises and splits text[0..len); source offsets are reported as base + byte index. Never fails on content
// (invalid UTF-8 follows utf8.h's rule); fails only on allocation or when fn fails.
os_status os_pretokenize(const os_normalizer *n, const char *text, size_t len, int32_t base, int32_t max_chars,
                         os_pretok_buf *buf, os_word_fn fn, void *ctx);
#endif
