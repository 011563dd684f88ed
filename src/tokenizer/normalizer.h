// BERT normalisation (HF BertNormalizer, as transformers.js applies it), one input character at a time:
// clean_text (drop NUL, U+FFFD and control characters; whitespace becomes a space), spaces around CJK ideographs,
// full lower-casing (with Greek final sigma), and accent stripping (NFD, then drop every Mn mark).
#ifndef ONESTONE_TOKENIZER_NORMALIZER_H
#define ONESTONE_TOKENIZER_NORMALIZER_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int clean_text;
    int handle_chinese_chars;
    int lowercase;
    int strip_accents;  // resolved: 1 strips (HF's null means "same as lowercase"; the caller resolves it)
    // Precomputed per ASCII byte (os_normalizer_prepare): what the byte does and its normalised form.
    uint8_t ascii_kind[128];   // OS_ASCII_*
    uint8_t ascii_lower[128];
    uint8_t ascii_sigma[128];  // 0 uncased, 1 cased, 2 case-ignorable (for the final-sigma context)
} os_normalizer;

enum { OS_ASCII_DROP, OS_ASCII_SPACE, OS_ASCII_PUNCT, OS_ASCII_WORD };

// Fills the ASCII tables from the four flags (call after setting or changing them).
void os_normalizer_prepare(os_normalizer *n);

// Normalises one non-ASCII (or any) character cp. `rest` is the text after cp within the same section (for the
// final-sigma look-ahead); *prev_cased is the Final_Sigma "preceded by a cased letter" state, updated here.
// Writes up to OS_NORM_OUT_MAX characters to out and returns the count (0: the character was removed);
// *cjk is set when the output is a padded CJK ideograph (a word on its own).
#define OS_NORM_OUT_MAX 16
int os_normalize_char(const os_normalizer *n, int32_t cp, const uint8_t *rest, size_t rest_len, int *prev_cased,
                      int32_t *out, int *cjk);
#endif
