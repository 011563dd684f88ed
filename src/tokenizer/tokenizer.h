// The tokenizer: text -> the exact ids HuggingFace's BERT tokenizer produces (BertNormalizer + BertPreTokenizer +
// WordPiece + the [CLS] A [SEP] (B [SEP]) template), with offsets and word ids. See docs/tokenizer.md.
//
// Thread safety: a loaded tokenizer is read-only while encoding, so many threads may encode with one tokenizer,
// each into its own os_encoding. os_tokenizer_add_special_token changes it: not concurrently with encoding.
#ifndef ONESTONE_TOKENIZER_TOKENIZER_H
#define ONESTONE_TOKENIZER_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef struct os_tokenizer os_tokenizer;

// Normalisation overrides; -1 keeps what the files say (HF defaults: lowercase on for a bare vocab.txt,
// strip_accents follows lowercase, CJK padding and text cleaning on).
typedef struct {
    int lowercase;
    int strip_accents;
    int tokenize_chinese_chars;
    int clean_text;
} os_tokenizer_options;

// All fields -1.
os_tokenizer_options os_tokenizer_options_default(void);

// Loads from a model directory (tokenizer.json if present, else vocab.txt; tokenizer_config.json's
// do_lower_case / strip_accents / tokenize_chinese_chars and *_token names override the files), from a
// tokenizer.json path, or from a vocab.txt path. opts may be NULL. *out is freed with os_tokenizer_free.
os_status os_tokenizer_load(const char *path, const os_tokenizer_options *opts, os_tokenizer **out);
void os_tokenizer_free(os_tokenizer *t);

// Vocabulary size: ids are 0..size-1 (added tokens included).
int32_t os_tokenizer_vocab_size(const os_tokenizer *t);
// Id of a token (exact string, no normalisation), or -1.
int32_t os_tokenizer_token_to_id(const os_tokenizer *t, const char *token);
// Token of an id (owned by the tokenizer), or NULL when out of range.
const char *os_tokenizer_id_to_token(const os_tokenizer *t, int32_t id);

// Ids of the special tokens, -1 where the vocabulary lacks one.
typedef struct {
    int32_t cls, sep, pad, mask, unk;
} os_special_ids;
os_special_ids os_tokenizer_special_ids(const os_tokenizer *t);

// Registers a special token (e.g. "<e1>") that is matched in raw text and never split. A token already in the
// vocabulary keeps its id; a new one gets the next id (vocab_size before the call). *id may be NULL.
os_status os_tokenizer_add_special_token(os_tokenizer *t, const char *token, int32_t *id);

// Writes every id's token, one per line (vocab.txt), atomically.
os_status os_tokenizer_save_vocab(const os_tokenizer *t, const char *path);
// Writes DIR/vocab.txt and DIR/tokenizer.json (with the added tokens and normaliser flags) atomically, so that
// os_tokenizer_load(DIR) - or HF - reproduces this tokenizer.
os_status os_tokenizer_save(const os_tokenizer *t, const char *dir);

typedef enum {
    OS_TRUNCATE_LONGEST_FIRST = 0,  // HF's default: trims the longer sequence (HF tokenizers' exact split)
    OS_TRUNCATE_ONLY_FIRST,
    OS_TRUNCATE_ONLY_SECOND,
    OS_TRUNCATE_NONE,
} os_truncation;

typedef struct {
    int add_special_tokens;       // 1: apply the template ([CLS] A [SEP], [CLS] A [SEP] B [SEP])
    int32_t max_length;           // 0 = unlimited; counts the special tokens
    os_truncation truncation;     // how to fit max_length (NONE: never truncate)
    int pad_to_max_length;        // pad up to max_length
    int32_t pad_to_multiple_of;   // 0 = off; the padded length is rounded up to a multiple of this
} os_encode_options;

// add_special_tokens 1, no max length, longest_first, no padding.
os_encode_options os_encode_options_default(void);

// The result of encoding; reuse one across calls (buffers only grow). All arrays have n entries except offsets.
typedef struct {
    int32_t n;
    int32_t *ids;
    int32_t *type_ids;        // 0 for the first sequence and its specials, 1 for the second
    int32_t *attention_mask;  // 1, or 0 on padding
    int32_t *offsets;         // [2n]: start, end BYTE offsets into the input of sequence_ids[i]; 0,0 on specials
                              // and padding. For pre-split words: offsets inside word word_ids[i].
    int32_t *word_ids;        // index of the word the piece came from, -1 for template specials and padding
    int32_t *sequence_ids;    // 0 or 1 for pieces of the first / second text, -1 for specials and padding
    int32_t n_truncated;      // pieces dropped by truncation (both sequences)
    int32_t cap;
    void *scratch;            // internal buffers
} os_encoding;

void os_encoding_init(os_encoding *e);
void os_encoding_free(os_encoding *e);

// Encodes text[0..len) (any bytes: invalid UTF-8 follows docs/tokenizer.md's rule). opts may be NULL (defaults).
os_status os_tokenizer_encode(const os_tokenizer *t, const char *text, size_t len, const os_encode_options *opts,
                              os_encoding *out);
// Encodes a text pair (token_type_ids 0 then 1).
os_status os_tokenizer_encode_pair(const os_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
                                   const os_encode_options *opts, os_encoding *out);
// Encodes pre-split words (HF is_split_into_words=True): word_ids[i] is the index into words, so a label goes on
// the first piece of each word. lens may be NULL (NUL-terminated words).
os_status os_tokenizer_encode_words(const os_tokenizer *t, const char *const *words, const size_t *lens,
                                    int32_t n_words, const os_encode_options *opts, os_encoding *out);
#endif
