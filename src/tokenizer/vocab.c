#include "tokenizer/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/utf8.h"
#include "util/fileio.h"

uint32_t os_vocab_hash(const char *s, size_t n) {
    uint32_t h = OS_VOCAB_HASH_INIT;
    for (size_t i = 0; i < n; i++) h = os_vocab_hash_step(h, (uint8_t)s[i]);
    return h;
}

static os_status map_alloc(os_strmap *m, uint32_t cap) {
    m->slot = malloc(sizeof *m->slot * cap);
    if (!m->slot) return os_fail(OS_ERR_NOMEM, "out of memory for a vocabulary table of %u slots", cap);
    for (uint32_t i = 0; i < cap; i++) m->slot[i].id = -1;
    m->cap = cap;
    m->count = 0;
    return OS_OK;
}

int32_t os_strmap_get(const os_strmap *m, const os_vocab *v, const char *s, size_t n, uint32_t h) {
    if (!m->cap) return -1;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        const os_strmap_slot *e = &m->slot[i];
        if (e->id < 0) return -1;
        if (e->hash == h && e->len == n && !memcmp(v->arena + e->off, s, n)) return e->id;
    }
}

// Inserts or replaces the key of `id` (its token minus m->skip bytes).
static os_status map_put(os_strmap *m, const os_vocab *v, int32_t id) {
    if ((m->count + 1) * 2 > m->cap) {  // keep the load under one half
        os_strmap old = *m;
        os_status st = map_alloc(m, old.cap ? old.cap * 2 : 64);
        if (st) {
            *m = old;
            return st;
        }
        for (uint32_t i = 0; i < old.cap; i++) {
            if (old.slot[i].id < 0) continue;
            uint32_t j = old.slot[i].hash & (m->cap - 1);
            while (m->slot[j].id >= 0) j = (j + 1) & (m->cap - 1);
            m->slot[j] = old.slot[i];
            m->count++;
        }
        free(old.slot);
    }
    uint32_t off = v->tok_off[id] + m->skip, len = v->tok_len[id] - m->skip;
    const char *k = v->arena + off;
    uint32_t h = os_vocab_hash(k, len), mask = m->cap - 1;
    uint32_t i = h & mask;
    for (; m->slot[i].id >= 0; i = (i + 1) & mask) {
        const os_strmap_slot *e = &m->slot[i];
        if (e->hash == h && e->len == len && !memcmp(v->arena + e->off, k, len)) break;  // same key: later id wins
    }
    if (m->slot[i].id < 0) m->count++;
    m->slot[i] = (os_strmap_slot){h, id, off, len};
    int32_t chars = (int32_t)os_utf8_count(k, len);
    if (chars > m->max_chars) m->max_chars = chars;
    return OS_OK;
}

os_status os_vocab_init(os_vocab *v, const char *prefix) {
    memset(v, 0, sizeof *v);
    if (!prefix) prefix = "##";
    size_t pl = strlen(prefix);
    if (pl >= sizeof v->prefix) return os_fail(OS_ERR_INPUT, "continuing_subword_prefix '%s' is longer than 15 bytes", prefix);
    memcpy(v->prefix, prefix, pl + 1);
    v->prefix_len = (uint32_t)pl;
    v->cont.skip = (uint32_t)pl;
    return OS_OK;
}

void os_vocab_free(os_vocab *v) {
    free(v->arena);
    free(v->tok_off);
    free(v->tok_len);
    free(v->full.slot);
    free(v->cont.slot);
    memset(v, 0, sizeof *v);
}

static os_status grow_ids(os_vocab *v, int32_t need) {
    if (need <= v->ids_cap) return OS_OK;
    int32_t cap = v->ids_cap ? v->ids_cap : 1024;
    while (cap < need) cap *= 2;
    uint32_t *off = realloc(v->tok_off, sizeof *off * (size_t)cap);
    if (off) v->tok_off = off;
    uint32_t *len = off ? realloc(v->tok_len, sizeof *len * (size_t)cap) : NULL;
    if (len) v->tok_len = len;
    if (!off || !len) return os_fail(OS_ERR_NOMEM, "out of memory for %d vocabulary ids", (int)cap);
    for (int32_t i = v->ids_cap; i < cap; i++) v->tok_off[i] = UINT32_MAX;
    v->ids_cap = cap;
    return OS_OK;
}

os_status os_vocab_set(os_vocab *v, const char *s, size_t n, int32_t id) {
    if (id < 0 || id >= INT32_MAX / 2) return os_fail(OS_ERR_INPUT, "vocabulary id %d out of range", (int)id);
    if (n > UINT32_MAX / 4 || v->arena_len + n + 1 > UINT32_MAX)
        return os_fail(OS_ERR_INPUT, "vocabulary too large (token of %zu bytes)", n);
    os_status st = grow_ids(v, id + 1);
    if (st) return st;
    if (v->arena_len + n + 1 > v->arena_cap) {
        size_t cap = v->arena_cap ? v->arena_cap : 1 << 16;
        while (cap < v->arena_len + n + 1) cap *= 2;
        char *a = realloc(v->arena, cap);
        if (!a) return os_fail(OS_ERR_NOMEM, "out of memory for vocabulary strings");
        v->arena = a;
        v->arena_cap = cap;
    }
    memcpy(v->arena + v->arena_len, s, n);
    v->arena[v->arena_len + n] = 0;
    v->tok_off[id] = (uint32_t)v->arena_len;
    v->tok_len[id] = (uint32_t)n;
    v->arena_len += n + 1;
    if (id >= v->n_ids) v->n_ids = id + 1;
    if ((st = map_put(&v->full, v, id))) return st;
    if (v->prefix_len && n > v->prefix_len && !memcmp(s, v->prefix, v->prefix_len)) return map_put(&v->cont, v, id);
    return OS_OK;
}

int32_t os_vocab_get(const os_vocab *v, const char *s, size_t n) {
    return os_strmap_get(&v->full, v, s, n, os_vocab_hash(s, n));
}

const char *os_vocab_token(const os_vocab *v, int32_t id, size_t *n) {
    if (id < 0 || id >= v->n_ids || v->tok_off[id] == UINT32_MAX) return NULL;
    if (n) *n = v->tok_len[id];
    return v->arena + v->tok_off[id];
}

os_status os_vocab_load_txt(os_vocab *v, const char *path) {
    char *data;
    size_t len;
    os_status st = os_read_file(path, &data, &len);
    if (st) return st;
    int32_t id = 0;
    size_t i = 0;
    while (i < len && !st) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - data) : len, tl = end - i;
        if (tl && data[i + tl - 1] == '\r') tl--;
        st = os_vocab_set(v, data + i, tl, id++);
        i = end + 1;
    }
    free(data);
    if (!st && id == 0) st = os_fail(OS_ERR_INPUT, "%s: empty vocabulary", path);
    return st;
}

os_status os_vocab_save_txt(const os_vocab *v, const char *path) {
    os_atomic_file f;
    os_status st = os_atomic_open(&f, path);
    if (st) return st;
    for (int32_t id = 0; id < v->n_ids; id++) {
        size_t n;
        const char *t = os_vocab_token(v, id, &n);
        if (!t || memchr(t, '\n', n)) {
            os_atomic_abort(&f);
            return os_fail(OS_ERR_INPUT, "%s: id %d %s, which vocab.txt cannot hold", path, (int)id,
                           t ? "has a token with a newline" : "has no token");
        }
        os_atomic_write(&f, t, n);
        os_atomic_write(&f, "\n", 1);
    }
    return os_atomic_commit(&f);
}
