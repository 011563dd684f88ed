// Entity tag strings ("B-PER", "I-LOC", "E-ORG", "S-MISC", "O") and the chunks (entities) they encode.
// Chunks are read with conlleval's startOfChunk/endOfChunk rules as extended to E-/S- by seqeval's default
// mode, which are the same for every scheme, so one reader serves IOB1, IOB2 (BIO) and BIOES:
//   - an I- after O, or after a tag of another type, starts a chunk (IOB1's normal start);
//   - B- always starts a chunk (so IOB1's "I-PER I-PER B-PER" is two entities);
//   - a type change always ends the running chunk and starts a new one;
//   - E- and S- end their chunk; S-, E-/I- after E-/S- start one.
// Converting between schemes rewrites every chunk in the target scheme's spelling.
#ifndef ONESTONE_METRICS_TAG_SCHEME_H
#define ONESTONE_METRICS_TAG_SCHEME_H
#include <stddef.h>

#include "util/error.h"

typedef enum {
    OS_SCHEME_IOB1,   // CoNLL-2003 original: I- everywhere, B- only between two adjacent same-type chunks
    OS_SCHEME_IOB2,   // BIO: every chunk starts with B-
    OS_SCHEME_BIOES,  // B- first, I- inside, E- last, S- single-token chunk
} os_tag_scheme;

typedef struct {
    char prefix;       // 'B', 'I', 'E', 'S' or 'O'
    const char *type;  // entity type: points into the tag string after "X-"; "" for O
} os_tag;

typedef struct {
    const char *type;   // points into the tag strings it was read from
    size_t start, end;  // first and last token (inclusive)
} os_chunk;

// Parses "iob1", "iob2" / "bio", "bioes" / "iobes" (any case); -1 when unknown.
int os_tag_scheme_parse(const char *name, os_tag_scheme *scheme);
// The scheme's canonical name ("iob1", "iob2", "bioes").
const char *os_tag_scheme_name(os_tag_scheme scheme);
// Splits a tag: "O", or a prefix B/I/E/S, '-', and a non-empty type. OS_ERR_INPUT for anything else.
os_status os_tag_parse(const char *tag, os_tag *out);
// Reads the chunks of one sentence into out (capacity len: a sentence has at most len chunks), in order.
os_status os_chunks_extract(const char *const *tags, size_t len, os_chunk *out, size_t *n_out);
// Rewrites one sentence's tags in scheme `to`; out[i] are new strings (free with os_tags_free). The chunks
// are preserved exactly, so the conversions IOB1 <-> IOB2 <-> BIOES round-trip every well-formed sentence.
os_status os_tags_convert(const char *const *in, size_t len, os_tag_scheme to, char **out);
// Frees len strings made by os_tags_convert (NULL entries are skipped).
void os_tags_free(char **tags, size_t len);
#endif
