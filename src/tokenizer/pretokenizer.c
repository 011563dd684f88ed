#include "tokenizer/pretokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "tokenizer/unichar.h"
#include "tokenizer/utf8.h"

void os_pretok_buf_free(os_pretok_buf *b) {
    free(b->bytes);
    free(b->char_pos);
    free(b->src_start);
    free(b->src_end);
    memset(b, 0, sizeof *b);
}

// Room for max_chars + 1 stored characters of up to 4 bytes, plus one spare slot for the reordering insert.
static os_status reserve(os_pretok_buf *b, int32_t max_chars) {
    int32_t need = max_chars + 2;
    if (need <= b->cap_chars) return OS_OK;
    char *bytes = realloc(b->bytes, (size_t)need * 4);
    if (bytes) b->bytes = bytes;
    int32_t *cp = bytes ? realloc(b->char_pos, sizeof(int32_t) * (size_t)(need + 1)) : NULL;
    if (cp) b->char_pos = cp;
    int32_t *ss = cp ? realloc(b->src_start, sizeof(int32_t) * (size_t)need) : NULL;
    if (ss) b->src_start = ss;
    int32_t *se = ss ? realloc(b->src_end, sizeof(int32_t) * (size_t)need) : NULL;
    if (se) b->src_end = se;
    if (!se) return os_fail(OS_ERR_NOMEM, "out of memory for a word buffer of %d characters", (int)need);
    b->cap_chars = need;
    return OS_OK;
}

typedef struct {
    const os_normalizer *n;
    os_pretok_buf *b;
    int32_t limit;  // characters stored at most (max_chars + 1)
    os_word_fn fn;
    void *ctx;
} scan;

static inline void word_reset(os_pretok_buf *b) {
    b->w.nbytes = 0;
    b->w.nchars = 0;
    b->w.nstored = 0;
}

static inline os_status flush(scan *s) {
    os_pretok_buf *b = s->b;
    if (!b->w.nchars) return OS_OK;
    b->char_pos[b->w.nstored] = b->w.nbytes;
    os_status st = s->fn(s->ctx, &b->w);
    word_reset(b);
    return st;
}

// Moves the just-appended last character left past stored characters of a higher combining class: the canonical
// reordering NFD does. Only reached for the few spacing marks (Mc) with a non-zero class that survive stripping.
static void reorder_last(os_pretok_buf *b) {
    os_word *w = &b->w;
    int32_t last = w->nstored - 1;
    const uint8_t *u = (const uint8_t *)b->bytes;
    size_t p = (size_t)b->char_pos[last];
    int ccc = os_uc_ccc(os_utf8_next(u, (size_t)w->nbytes, &p));
    int32_t k = last;
    while (k > 0) {
        size_t q = (size_t)b->char_pos[k - 1];
        int prev = os_uc_ccc(os_utf8_next(u, (size_t)w->nbytes, &q));
        if (prev <= ccc) break;
        k--;
    }
    if (k == last) return;
    // rotate bytes [char_pos[k], nbytes) so the last character comes first, and the per-character arrays too
    char tmp[4];
    int32_t clen = w->nbytes - b->char_pos[last], from = b->char_pos[k];
    memcpy(tmp, b->bytes + b->char_pos[last], (size_t)clen);
    memmove(b->bytes + from + clen, b->bytes + from, (size_t)(b->char_pos[last] - from));
    memcpy(b->bytes + from, tmp, (size_t)clen);
    int32_t ss = b->src_start[last], se = b->src_end[last];
    for (int32_t j = last; j > k; j--) {
        b->char_pos[j] = b->char_pos[j - 1] + clen;
        b->src_start[j] = b->src_start[j - 1];
        b->src_end[j] = b->src_end[j - 1];
    }
    b->src_start[k] = ss;
    b->src_end[k] = se;
}

static inline void append(scan *s, int32_t cp, int32_t start, int32_t end) {
    os_pretok_buf *b = s->b;
    os_word *w = &b->w;
    if (!w->nchars) w->start = start;
    w->end = end;
    w->nchars++;
    if (w->nstored >= s->limit) return;
    int32_t i = w->nstored++;
    b->char_pos[i] = w->nbytes;
    b->src_start[i] = start;
    b->src_end[i] = end;
    w->nbytes += os_utf8_put(cp, b->bytes + w->nbytes);
    if (s->n->strip_accents && cp >= 0x300 && i > 0 && os_uc_ccc(cp)) reorder_last(b);  // NFD ran
}

// The general (non-ASCII) path for one input character at text[start..end).
static os_status general(scan *s, int32_t cp, const uint8_t *rest, size_t rest_len, int *prev_cased, int32_t start,
                         int32_t end) {
    int32_t out[OS_NORM_OUT_MAX];
    int cjk;
    int n = os_normalize_char(s->n, cp, rest, rest_len, prev_cased, out, &cjk);
    os_status st;
    if (cjk) {
        if ((st = flush(s))) return st;
        for (int k = 0; k < n; k++) append(s, out[k], start, end);
        return flush(s);
    }
    for (int k = 0; k < n; k++) {
        if (os_uc_is_space(out[k])) {
            if ((st = flush(s))) return st;
        } else if (os_uc_is_punct(out[k])) {
            if ((st = flush(s))) return st;
            append(s, out[k], start, end);
            if ((st = flush(s))) return st;
        } else {
            append(s, out[k], start, end);
        }
    }
    return OS_OK;
}

os_status os_pretokenize(const os_normalizer *n, const char *text, size_t len, int32_t base, int32_t max_chars,
                         os_pretok_buf *buf, os_word_fn fn, void *ctx) {
    if (max_chars < 1) max_chars = 1;
    os_status st = reserve(buf, max_chars);
    if (st) return st;
    buf->w.bytes = buf->bytes;
    buf->w.char_pos = buf->char_pos;
    buf->w.src_start = buf->src_start;
    buf->w.src_end = buf->src_end;
    word_reset(buf);
    scan s = {n, buf, max_chars + 1, fn, ctx};
    const uint8_t *u = (const uint8_t *)text;
    int prev_cased = 0;
    size_t i = 0;
    while (i < len) {
        uint8_t c = u[i];
        if (c < 0x80) {  // ASCII: exactly what the general path computes, from tables
            int32_t at = base + (int32_t)i;
            i++;
            switch (n->ascii_kind[c]) {
                case OS_ASCII_DROP: continue;
                case OS_ASCII_SPACE:
                    prev_cased = 0;
                    if ((st = flush(&s))) return st;
                    continue;
                case OS_ASCII_PUNCT:
                    if (n->ascii_sigma[c] != 2) prev_cased = 0;
                    if ((st = flush(&s))) return st;
                    append(&s, c, at, at + 1);
                    if ((st = flush(&s))) return st;
                    continue;
                default: {
                    os_pretok_buf *b = buf;
                    os_word *w = &b->w;
                    if (n->ascii_sigma[c] != 2) prev_cased = n->ascii_sigma[c];
                    if (!w->nchars) w->start = at;
                    w->end = at + 1;
                    w->nchars++;
                    if (w->nstored < s.limit) {
                        int32_t k = w->nstored++;
                        b->char_pos[k] = w->nbytes;
                        b->src_start[k] = at;
                        b->src_end[k] = at + 1;
                        b->bytes[w->nbytes++] = (char)n->ascii_lower[c];
                    }
                    continue;
                }
            }
        }
        size_t start = i;
        int32_t cp = os_utf8_next(u, len, &i);
        if ((st = general(&s, cp, u + i, len - i, &prev_cased, base + (int32_t)start, base + (int32_t)i))) return st;
    }
    return flush(&s);
}
