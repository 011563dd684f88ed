#include "tokenizer/wordpiece.h"

#include <stdlib.h>

void os_pieces_free(os_pieces *p) {
    free(p->id);
    free(p->start);
    free(p->end);
    free(p->word);
    p->id = p->start = p->end = p->word = NULL;
    p->n = p->cap = 0;
}

static os_status grow(os_pieces *p, int32_t need) {
    int32_t cap = p->cap ? p->cap : 256;
    while (cap < need) cap *= 2;
    int32_t **arrs[4] = {&p->id, &p->start, &p->end, &p->word};
    for (int k = 0; k < 4; k++) {
        int32_t *a = realloc(*arrs[k], sizeof(int32_t) * (size_t)cap);
        if (!a) return os_fail(OS_ERR_NOMEM, "out of memory for %d token pieces", (int)cap);
        *arrs[k] = a;
    }
    p->cap = cap;
    return OS_OK;
}

os_status os_pieces_push(os_pieces *p, int32_t id, int32_t start, int32_t end, int32_t word) {
    if (p->n == p->cap) {
        if (p->cap >= INT32_MAX / 4) return os_fail(OS_ERR_INPUT, "text too long: over %d pieces", (int)p->cap);
        os_status st = grow(p, p->n + 1);
        if (st) return st;
    }
    int32_t i = p->n++;
    p->id[i] = id;
    p->start[i] = start;
    p->end[i] = end;
    p->word[i] = word;
    return OS_OK;
}

int32_t os_wordpiece_match(const os_vocab *v, int32_t unk_id, const os_word *w, int32_t *ids, int32_t *ends) {
    int32_t nc = w->nchars, n = 0;
    uint32_t hashes[128];  // hash of every candidate piece starting at s (prefix hashes, extended byte by byte)
    int32_t s = 0;
    while (s < nc) {
        const os_strmap *m = s ? &v->cont : &v->full;
        int32_t lim = nc - s;
        if (lim > m->max_chars) lim = m->max_chars;
        int32_t top = lim;
        if (lim > 128) lim = 128;  // longer vocabulary entries are found by the slow loop below
        const char *base = w->bytes + w->char_pos[s];
        uint32_t h = OS_VOCAB_HASH_INIT;
        const uint8_t *p = (const uint8_t *)base;
        for (int32_t k = 1; k <= lim; k++) {
            const uint8_t *e = (const uint8_t *)w->bytes + w->char_pos[s + k];
            while (p < e) h = os_vocab_hash_step(h, *p++);
            hashes[k - 1] = h;
        }
        int32_t found = -1, e = 0;
        for (int32_t k = top; k > lim; k--) {  // only with vocabulary entries over 128 characters
            size_t len = (size_t)(w->char_pos[s + k] - w->char_pos[s]);
            if ((found = os_strmap_get(m, v, base, len, os_vocab_hash(base, len))) >= 0) {
                e = s + k;
                break;
            }
        }
        for (int32_t k = lim; found < 0 && k >= 1; k--) {
            size_t len = (size_t)(w->char_pos[s + k] - w->char_pos[s]);
            if ((found = os_strmap_get(m, v, base, len, hashes[k - 1])) >= 0) e = s + k;
        }
        if (found < 0) {
            ids[0] = unk_id;
            ends[0] = nc;
            return 1;
        }
        ids[n] = found;
        ends[n++] = e;
        s = e;
    }
    return n;
}
