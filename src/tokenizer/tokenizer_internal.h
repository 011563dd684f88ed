// The tokenizer's private layout, shared by tokenizer.c (encoding), tokenizer_load.c and tokenizer_json.c.
#ifndef ONESTONE_TOKENIZER_INTERNAL_H
#define ONESTONE_TOKENIZER_INTERNAL_H
#include <stdint.h>

#include "tokenizer/normalizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

// A token matched in raw text before normalisation and never split (HF "added tokens": [CLS], <e1>, ...).
typedef struct {
    char *text;  // owned, NUL-terminated
    uint32_t len;
    int32_t id;
    uint8_t special;
} os_added_token;

// One item of the post-processing template: a special token id, or the place of sequence A or B.
enum { OS_TMPL_SPECIAL, OS_TMPL_SEQ_A, OS_TMPL_SEQ_B };
typedef struct {
    uint8_t kind;
    int32_t id;
    int32_t type_id;
} os_tmpl_item;
#define OS_TMPL_MAX 16

struct os_tokenizer {
    uint64_t version;           // unique per tokenizer state (os_tok_touch): keys encodings' word caches
    os_vocab vocab;
    os_normalizer norm;
    int strip_accents_setting;  // -1: follow lowercase (HF's null), else 0/1
    int32_t max_chars;          // WordPiece max_input_chars_per_word
    int32_t unk_id;
    char *unk_token, *cls_token, *sep_token, *pad_token, *mask_token;  // owned names
    os_added_token *added;      // sorted longest first, so the first match is the longest
    int32_t n_added, cap_added;
    uint8_t added_first[256];   // 1 for bytes that start an added token
    int has_template;           // 0: no post-processor (nothing is added)
    os_tmpl_item single[OS_TMPL_MAX], pair[OS_TMPL_MAX];
    int n_single, n_pair;
};

// Gives t a new unique version after a change that can alter WordPiece results (invalidates word caches).
void os_tok_touch(os_tokenizer *t);
// Empty tokenizer with HF's BERT defaults (no vocabulary yet).
os_status os_tok_new(os_tokenizer **out);
// Sets a token-name field (e.g. &t->cls_token) to a copy of name.
os_status os_tok_set_name(char **field, const char *name);
// Adds an added token (or marks an existing one); keeps the list sorted and the first-byte table.
os_status os_tok_add_added(os_tokenizer *t, const char *text, size_t len, int32_t id, int special);
// After the vocabulary and flags are in place: resolves unk, normaliser tables, and the default BERT template
// when the files gave none and [CLS]/[SEP] exist (use_default_template).
os_status os_tok_finish(os_tokenizer *t, int use_default_template);
// Sets BERT's template: [CLS] A [SEP] and [CLS] A [SEP] B [SEP] (type ids 0, then 1 from B on).
void os_tok_bert_template(os_tokenizer *t, int32_t cls, int32_t sep);
// Effective strip_accents from the setting and lowercase.
int os_tok_strip_accents(const os_tokenizer *t);

// tokenizer.json: reads model, normaliser flags, added tokens and post-processor into t (vocab empty before).
os_status os_tok_read_json(os_tokenizer *t, const char *path);
// Writes t as an HF tokenizer.json, atomically.
os_status os_tok_write_json(const os_tokenizer *t, const char *path);
#endif
