// Encoding: added-token split -> normalise + pre-tokenise -> WordPiece per sequence, then truncation, the
// [CLS]/[SEP] template and padding into an os_encoding.
#include <stdlib.h>
#include <string.h>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer_internal.h"
#include "tokenizer/wordpiece.h"

// A cache of WordPiece results for short words, per encoding (so per thread): WordPiece is a pure function of
// the normalised word, and text is Zipfian, so most words are found here without a vocabulary probe.
#define WCACHE_SLOTS 4096  // = 1 << 12 (the index takes the hash's top 12 bits)
#define WCACHE_BYTES 24
#define WCACHE_PIECES 6
typedef struct {
    uint64_t key[WCACHE_BYTES / 8];  // the word's bytes, zero-padded: compared as three words
    uint8_t len;                     // key length in bytes; 0 = empty slot
    uint8_t n;                       // pieces
    uint8_t ends[WCACHE_PIECES];     // end (exclusive character index) of each piece
    int32_t ids[WCACHE_PIECES];
} wcache_slot;

// Per-encoding scratch: the word buffer, WordPiece buffers, the word cache and each sequence's pieces.
typedef struct {
    os_pretok_buf word;
    os_pieces seq[2];
    int32_t *ids, *ends;  // WordPiece output for one word
    int32_t wp_cap;
    wcache_slot *cache;   // WCACHE_SLOTS entries, valid for tokenizer version cache_version
    uint64_t cache_version;
} scratch;

os_encode_options os_encode_options_default(void) {
    os_encode_options o = {1, 0, OS_TRUNCATE_LONGEST_FIRST, 0, 0};
    return o;
}

void os_encoding_init(os_encoding *e) { memset(e, 0, sizeof *e); }

void os_encoding_free(os_encoding *e) {
    free(e->ids);
    free(e->type_ids);
    free(e->attention_mask);
    free(e->offsets);
    free(e->word_ids);
    free(e->sequence_ids);
    scratch *s = e->scratch;
    if (s) {
        os_pretok_buf_free(&s->word);
        os_pieces_free(&s->seq[0]);
        os_pieces_free(&s->seq[1]);
        free(s->ids);
        free(s->ends);
        free(s->cache);
        free(s);
    }
    memset(e, 0, sizeof *e);
}

static os_status reserve(os_encoding *e, int32_t n) {
    if (!e->scratch && !(e->scratch = os_calloc(1, sizeof(scratch)))) return OS_ERR_NOMEM;
    if (n <= e->cap) return OS_OK;
    int32_t cap = e->cap ? e->cap : 128;
    while (cap < n) cap *= 2;
    int32_t **arrs[5] = {&e->ids, &e->type_ids, &e->attention_mask, &e->word_ids, &e->sequence_ids};
    for (int k = 0; k < 5; k++) {
        int32_t *a = realloc(*arrs[k], sizeof(int32_t) * (size_t)cap);
        if (!a) return os_fail(OS_ERR_NOMEM, "out of memory for an encoding of %d tokens", (int)cap);
        *arrs[k] = a;
    }
    int32_t *o = realloc(e->offsets, sizeof(int32_t) * 2 * (size_t)cap);
    if (!o) return os_fail(OS_ERR_NOMEM, "out of memory for an encoding of %d tokens", (int)cap);
    e->offsets = o;
    e->cap = cap;
    return OS_OK;
}

typedef struct {
    const os_tokenizer *t;
    scratch *s;
    os_pieces *out;
    int32_t *next_word;  // word counter of this sequence
    int32_t fixed_word;  // >= 0: every piece belongs to this word (pre-split input)
} word_ctx;

static os_status on_word(void *ctx, const os_word *w) {
    word_ctx *c = ctx;
    const os_tokenizer *t = c->t;
    scratch *s = c->s;
    int32_t word = c->fixed_word >= 0 ? c->fixed_word : (*c->next_word)++;
    if (w->nchars > t->max_chars) return os_pieces_push(c->out, t->unk_id, w->start, w->end, word);
    wcache_slot *slot = NULL;
    int32_t n, *ids = s->ids, *ends = s->ends;
    uint64_t key[WCACHE_BYTES / 8] = {0, 0, 0};
    if (w->nbytes <= WCACHE_BYTES && s->cache) {
        memcpy(key, w->bytes, (size_t)w->nbytes);
        uint64_t h = (key[0] * 0x9E3779B97F4A7C15ull) ^ (key[1] * 0xC2B2AE3D27D4EB4Full) ^
                     (key[2] * 0x165667B19E3779F9ull) ^ (uint64_t)w->nbytes;
        slot = &s->cache[(h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull >> (64 - 12)];
    }
    if (slot && slot->len == w->nbytes && slot->key[0] == key[0] && slot->key[1] == key[1] && slot->key[2] == key[2]) {
        n = slot->n;
        for (int32_t k = 0; k < n; k++) {
            ids[k] = slot->ids[k];
            ends[k] = slot->ends[k];
        }
    } else {
        n = os_wordpiece_match(&t->vocab, t->unk_id, w, ids, ends);
        if (slot && n <= WCACHE_PIECES) {
            memcpy(slot->key, key, sizeof key);
            slot->len = (uint8_t)w->nbytes;
            slot->n = (uint8_t)n;
            for (int32_t k = 0; k < n; k++) {
                slot->ids[k] = ids[k];
                slot->ends[k] = (uint8_t)ends[k];
            }
        }
    }
    if (n == 1 && ids[0] == t->unk_id && ends[0] == w->nchars)  // the whole word (also when reordered)
        return os_pieces_push(c->out, ids[0], w->start, w->end, word);
    for (int32_t k = 0, start = 0; k < n; k++) {
        os_status st = os_pieces_push(c->out, ids[k], w->src_start[start], w->src_end[ends[k] - 1], word);
        if (st) return st;
        start = ends[k];
    }
    return OS_OK;
}

// The longest added token starting at text[i], or NULL. Byte matching equals matching decoded characters: a
// token starts with an ASCII or lead byte, which the UTF-8 decoder never folds into a preceding invalid sequence.
static const os_added_token *added_at(const os_tokenizer *t, const char *text, size_t len, size_t i) {
    for (int32_t k = 0; k < t->n_added; k++) {
        const os_added_token *a = &t->added[k];
        if (a->len <= len - i && a->text[0] == text[i] && !memcmp(a->text, text + i, a->len)) return a;
    }
    return NULL;
}

// Appends the pieces of one text to out; offsets are base + byte index.
static os_status encode_text(const os_tokenizer *t, const char *text, size_t len, int32_t fixed_word,
                             int32_t *next_word, os_pieces *out, scratch *buf) {
    if (len > (size_t)INT32_MAX / 2) return os_fail(OS_ERR_INPUT, "text of %zu bytes is too long (max 1 GiB)", len);
    word_ctx c = {t, buf, out, next_word, fixed_word};
    size_t sec = 0;
    if (t->n_added) {
        const uint8_t *u = (const uint8_t *)text;
        for (size_t i = 0; i < len;) {
            const os_added_token *a = t->added_first[u[i]] ? added_at(t, text, len, i) : NULL;
            if (!a) {
                i++;
                continue;
            }
            os_status st = os_pretokenize(&t->norm, text + sec, i - sec, (int32_t)sec, t->max_chars, &buf->word, on_word, &c);
            int32_t word = fixed_word >= 0 ? fixed_word : (*next_word)++;
            if (!st) st = os_pieces_push(out, a->id, (int32_t)i, (int32_t)(i + a->len), word);
            if (st) return st;
            i += a->len;
            sec = i;
        }
    }
    return os_pretokenize(&t->norm, text + sec, len - sec, (int32_t)sec, t->max_chars, &buf->word, on_word, &c);
}

// HF tokenizers' truncation of one or two piece lists to `room` pieces in total (max_length less the specials).
static os_status truncate(os_pieces *a, os_pieces *b, int32_t room, int32_t max_length, os_truncation how,
                          int32_t *dropped) {
    int32_t n1 = a->n, n2 = b ? b->n : 0;
    if (room < 0) room = 0;
    if (n1 + n2 <= room) return OS_OK;
    if (how == OS_TRUNCATE_LONGEST_FIRST) {
        *dropped = n1 + n2 - room;
        if (!b) {
            a->n = room;
            return OS_OK;
        }
        // HF tokenizers (0.23) first cuts each sequence to max_length on its own, then balances: the shorter keeps
        // its length when the longer can absorb the cut, else the shorter gets half (rounded down) and the longer
        // the rest; equal lengths give the extra piece to the second sequence.
        if (n1 > max_length) n1 = max_length;
        if (n2 > max_length) n2 = max_length;
        int swap = n1 > n2;
        int32_t s = swap ? n2 : n1, l;
        l = s > room ? s : (room - s > s ? room - s : s);
        if (s + l > room) {
            s = room / 2;
            l = s + room % 2;
        }
        int32_t na = swap ? l : s, nb = swap ? s : l;
        if (na < a->n) a->n = na;  // truncation never lengthens
        if (nb < b->n) b->n = nb;
        return OS_OK;
    }
    os_pieces *target = how == OS_TRUNCATE_ONLY_FIRST ? a : b;
    if (!target) return os_fail(OS_ERR_INPUT, "truncation only_second needs a text pair");
    int32_t cut = n1 + n2 - room;
    *dropped = cut;
    if (target->n <= cut)
        return os_fail(OS_ERR_INPUT, "cannot truncate to max_length %d: the %s sequence has only %d pieces, %d must go",
                       (int)room, how == OS_TRUNCATE_ONLY_FIRST ? "first" : "second", (int)target->n, (int)cut);
    target->n -= cut;
    return OS_OK;
}

static void put(os_encoding *e, int32_t id, int32_t type, int32_t att, int32_t s, int32_t en, int32_t word, int32_t seq) {
    int32_t i = e->n++;
    e->ids[i] = id;
    e->type_ids[i] = type;
    e->attention_mask[i] = att;
    e->offsets[2 * i] = s;
    e->offsets[2 * i + 1] = en;
    e->word_ids[i] = word;
    e->sequence_ids[i] = seq;
}

static void put_seq(os_encoding *e, const os_pieces *p, int32_t type, int32_t seq) {
    for (int32_t k = 0; k < p->n; k++) put(e, p->id[k], type, 1, p->start[k], p->end[k], p->word[k], seq);
}

// Truncation, template and padding from the pieces of one or two sequences.
static os_status finish(const os_tokenizer *t, os_pieces *a, os_pieces *b, const os_encode_options *o, os_encoding *e) {
    int templ = o->add_special_tokens && t->has_template;
    const os_tmpl_item *items = b ? t->pair : t->single;
    int n_items = b ? t->n_pair : t->n_single, n_special = 0;
    if (templ)
        for (int k = 0; k < n_items; k++) n_special += items[k].kind == OS_TMPL_SPECIAL;
    e->n = 0;
    e->n_truncated = 0;
    if (o->max_length > 0 && o->truncation != OS_TRUNCATE_NONE) {
        os_status st = truncate(a, b, o->max_length - n_special, o->max_length, o->truncation, &e->n_truncated);
        if (st) return st;
    }
    int32_t n = a->n + (b ? b->n : 0) + n_special, target = n;
    if (o->pad_to_max_length && o->max_length > target) target = o->max_length;
    if (o->pad_to_multiple_of > 0 && target % o->pad_to_multiple_of)
        target += o->pad_to_multiple_of - target % o->pad_to_multiple_of;
    os_special_ids sp = os_tokenizer_special_ids(t);
    if (target > n && sp.pad < 0) return os_fail(OS_ERR_INPUT, "padding needs a pad token ('%s' is not in the vocabulary)", t->pad_token);
    os_status st = reserve(e, target);
    if (st) return st;
    if (templ) {
        for (int k = 0; k < n_items; k++) {
            if (items[k].kind == OS_TMPL_SPECIAL)
                put(e, items[k].id, items[k].type_id, 1, 0, 0, -1, -1);
            else if (items[k].kind == OS_TMPL_SEQ_A)
                put_seq(e, a, items[k].type_id, 0);
            else if (b)
                put_seq(e, b, items[k].type_id, 1);
        }
    } else {
        put_seq(e, a, 0, 0);
        if (b) put_seq(e, b, 1, 1);
    }
    while (e->n < target) put(e, sp.pad, 0, 0, 0, 0, -1, -1);
    return OS_OK;
}

static os_status prepare(const os_tokenizer *t, os_encoding *out, scratch **sp) {
    os_status st = reserve(out, 1);
    if (st) return st;
    scratch *s = *sp = out->scratch;
    s->seq[0].n = s->seq[1].n = 0;
    if (s->wp_cap < t->max_chars + 2) {
        int32_t cap = t->max_chars + 2;
        int32_t *ids = realloc(s->ids, sizeof *ids * (size_t)cap);
        if (ids) s->ids = ids;
        int32_t *ends = ids ? realloc(s->ends, sizeof *ends * (size_t)cap) : NULL;
        if (ends) s->ends = ends;
        if (!ends) return os_fail(OS_ERR_NOMEM, "out of memory for WordPiece buffers");
        s->wp_cap = cap;
    }
    if (!s->cache) s->cache = malloc(sizeof *s->cache * WCACHE_SLOTS);  // optional: NULL only means slower
    if (s->cache && s->cache_version != t->version) {
        for (int i = 0; i < WCACHE_SLOTS; i++) s->cache[i].len = 0;
        s->cache_version = t->version;
    }
    return OS_OK;
}

os_status os_tokenizer_encode_pair(const os_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
                                   const os_encode_options *opts, os_encoding *out) {
    os_encode_options dflt = os_encode_options_default();
    if (!opts) opts = &dflt;
    scratch *s;
    os_status st = prepare(t, out, &s);
    int32_t words = 0;
    if (!st) st = encode_text(t, a, alen, -1, &words, &s->seq[0], s);
    words = 0;
    if (!st && b) st = encode_text(t, b, blen, -1, &words, &s->seq[1], s);
    if (!st) st = finish(t, &s->seq[0], b ? &s->seq[1] : NULL, opts, out);
    if (st) out->n = 0;
    return st;
}

os_status os_tokenizer_encode(const os_tokenizer *t, const char *text, size_t len, const os_encode_options *opts,
                              os_encoding *out) {
    return os_tokenizer_encode_pair(t, text, len, NULL, 0, opts, out);
}

os_status os_tokenizer_encode_words(const os_tokenizer *t, const char *const *words, const size_t *lens,
                                    int32_t n_words, const os_encode_options *opts, os_encoding *out) {
    os_encode_options dflt = os_encode_options_default();
    if (!opts) opts = &dflt;
    scratch *s;
    os_status st = prepare(t, out, &s);
    for (int32_t w = 0; w < n_words && !st; w++) {
        int32_t unused = 0;
        st = encode_text(t, words[w], lens ? lens[w] : strlen(words[w]), w, &unused, &s->seq[0], s);
    }
    if (!st) st = finish(t, &s->seq[0], NULL, opts, out);
    if (st) out->n = 0;
    return st;
}
