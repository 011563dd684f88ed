// A WordPiece vocabulary: id <-> token, with hash lookups of whole tokens and of continuation pieces (tokens that
// start with the continuing-subword prefix, looked up WITHOUT the prefix so WordPiece never builds strings).
#ifndef ONESTONE_TOKENIZER_VOCAB_H
#define ONESTONE_TOKENIZER_VOCAB_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

// One slot: the key's hash and where its bytes are (arena offset, length), so a probe touches one cache line.
typedef struct {
    uint32_t hash;
    int32_t id;  // -1 = empty slot
    uint32_t off, len;
} os_strmap_slot;

// Open-addressing table; the key of an entry is the token of its id minus `skip` leading bytes.
typedef struct {
    os_strmap_slot *slot;
    uint32_t cap; // power of two
    uint32_t count;
    uint32_t skip;
    int32_t max_chars;  // longest key in characters (bounds WordPiece's search)
} os_strmap;

typedef struct {
    char *arena;       // every token, NUL-terminated, back to back (owned)
    size_t arena_len, arena_cap;
    uint32_t *tok_off; // per id: offset into arena, UINT32_MAX = no token has this id (owned)
    uint32_t *tok_len; // per id: byte length
    int32_t n_ids;     // ids are 0..n_ids-1
    int32_t ids_cap;
    char prefix[16];   // continuing-subword prefix, "##" for BERT
    uint32_t prefix_len;
    os_strmap full;    // token -> id
    os_strmap cont;    // token without prefix -> id, for tokens that start with the prefix
} os_vocab;

// Hash of a key as the maps use it (FNV-1a, so WordPiece can extend it byte by byte).
#define OS_VOCAB_HASH_INIT 2166136261u
static inline uint32_t os_vocab_hash_step(uint32_t h, uint8_t b) { return (h ^ b) * 16777619u; }
uint32_t os_vocab_hash(const char *s, size_t n);

// Empty vocabulary with the given continuation prefix (at most 15 bytes; NULL = "##").
os_status os_vocab_init(os_vocab *v, const char *prefix);
void os_vocab_free(os_vocab *v);
// Gives `id` the token s[0..n) and maps the token to it; a token seen again maps to its latest id (as HF reads
// vocab.txt), while the earlier id keeps its string for id -> token.
os_status os_vocab_set(os_vocab *v, const char *s, size_t n, int32_t id);
// Reads vocab.txt (one token per line, id = line number; a trailing \r is dropped; empty lines are tokens).
os_status os_vocab_load_txt(os_vocab *v, const char *path);
// Writes ids 0..n_ids-1 one per line, atomically; fails on an id without a token (vocab.txt cannot express it).
os_status os_vocab_save_txt(const os_vocab *v, const char *path);

// Id of the token s[0..n) (-1 when absent); os_strmap_get looks up a key with a precomputed os_vocab_hash.
int32_t os_vocab_get(const os_vocab *v, const char *s, size_t n);
int32_t os_strmap_get(const os_strmap *m, const os_vocab *v, const char *s, size_t n, uint32_t h);
// Token of an id (NUL-terminated, owned by the vocab) or NULL when the id has none; *n gets its length if n.
const char *os_vocab_token(const os_vocab *v, int32_t id, size_t *n);
#endif
