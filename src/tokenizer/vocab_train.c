// BPE-style WordPiece training. Words are counted once (pre-tokenised exactly as the tokenizer does), each unique
// word is a sequence of symbols, and the most frequent adjacent pair is merged until the vocabulary is full.
// Pair counts are kept incrementally: a merge only revisits the words that contain the pair (an index per pair),
// and a max-heap with lazy deletion finds the next pair, so training costs about the size of the unique words
// times the number of merges that touch them, not a full rescan per merge.
#include "tokenizer/vocab_train.h"

#include <stdlib.h>
#include <string.h>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/utf8.h"
#include "util/fileio.h"

static const char *SPECIALS[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
#define MAX_WORD_CHARS 100  // longer words are [UNK] for WordPiece anyway: they teach nothing

os_vocab_train_options os_vocab_train_defaults(void) {
    os_vocab_train_options o = {30522, 2, 1, 0};
    return o;
}

// ---- a string -> index table (words, symbols), strings kept in one arena -------------------------------------

typedef struct {
    char *arena;
    size_t len, cap;
    uint64_t *off;   // per entry: arena offset
    uint32_t *slen;  // per entry: byte length
    int32_t n, ncap;
    int32_t *slot;   // open addressing, -1 empty
    uint32_t *shash;
    uint32_t mask;
} strtab;

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static const char *str_at(const strtab *t, int32_t i, size_t *n) {
    *n = t->slen[i];
    return t->arena + t->off[i];
}

static void strtab_free(strtab *t) {
    free(t->arena);
    free(t->off);
    free(t->slen);
    free(t->slot);
    free(t->shash);
    memset(t, 0, sizeof *t);
}

static int strtab_rehash(strtab *t, uint32_t cap) {
    int32_t *slot = malloc(sizeof *slot * cap);
    uint32_t *sh = malloc(sizeof *sh * cap);
    if (!slot || !sh) {
        free(slot);
        free(sh);
        return 0;
    }
    memset(slot, 0xFF, sizeof *slot * cap);
    for (int32_t i = 0; i < t->n; i++) {
        size_t n;
        const char *s = str_at(t, i, &n);
        uint32_t h = hash_bytes(s, n), j = h & (cap - 1);
        while (slot[j] >= 0) j = (j + 1) & (cap - 1);
        slot[j] = i;
        sh[j] = h;
    }
    free(t->slot);
    free(t->shash);
    t->slot = slot;
    t->shash = sh;
    t->mask = cap - 1;
    return 1;
}

// Index of s[0..n) (added when missing, *added = 1), or -1 on allocation failure.
static int32_t strtab_get(strtab *t, const char *s, size_t n, int *added) {
    *added = 0;
    if (!t->slot && !strtab_rehash(t, 1024)) return -1;
    uint32_t h = hash_bytes(s, n), j = h & t->mask;
    for (; t->slot[j] >= 0; j = (j + 1) & t->mask) {
        size_t kn;
        const char *k = str_at(t, t->slot[j], &kn);
        if (t->shash[j] == h && kn == n && !memcmp(k, s, n)) return t->slot[j];
    }
    if (t->n == t->ncap) {
        int32_t cap = t->ncap ? t->ncap * 2 : 1024;
        uint64_t *off = realloc(t->off, sizeof *off * (size_t)cap);
        if (off) t->off = off;
        uint32_t *sl = off ? realloc(t->slen, sizeof *sl * (size_t)cap) : NULL;
        if (!sl) return -1;
        t->slen = sl;
        t->ncap = cap;
    }
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 1 << 16;
        while (cap < t->len + n) cap *= 2;
        char *a = realloc(t->arena, cap);
        if (!a) return -1;
        t->arena = a;
        t->cap = cap;
    }
    memcpy(t->arena + t->len, s, n);
    int32_t id = t->n++;
    t->off[id] = t->len;
    t->slen[id] = (uint32_t)n;
    t->len += n;
    t->slot[j] = id;
    t->shash[j] = h;
    if ((uint32_t)t->n * 2 > t->mask && !strtab_rehash(t, (t->mask + 1) * 2)) return -1;
    *added = 1;
    return id;
}

// ---- word counting ------------------------------------------------------------------------------------------

typedef struct {
    strtab words;
    int64_t *count;
    int32_t count_cap;
    int64_t total;
    int failed;
} counter;

static os_status on_word(void *ctx, const os_word *w) {
    counter *c = ctx;
    c->total++;
    if (w->nchars > MAX_WORD_CHARS) return OS_OK;
    int added;
    int32_t id = strtab_get(&c->words, w->bytes, (size_t)w->nbytes, &added);
    if (id < 0) return os_fail(OS_ERR_NOMEM, "out of memory counting words");
    if (id >= c->count_cap) {
        int32_t cap = c->count_cap ? c->count_cap * 2 : 4096;
        int64_t *cnt = realloc(c->count, sizeof *cnt * (size_t)cap);
        if (!cnt) return os_fail(OS_ERR_NOMEM, "out of memory counting words");
        c->count = cnt;
        c->count_cap = cap;
    }
    if (added) c->count[id] = 0;
    c->count[id]++;
    return OS_OK;
}

// ---- merging ------------------------------------------------------------------------------------------------

typedef struct {
    int64_t count;
    uint64_t tie;  // seeded order among equal counts
    int32_t pair;
} heap_item;

typedef struct {
    // symbols: strings (with "##" for continuations)
    strtab sym;
    // words: symbol sequences, each in its own slice of seq
    int32_t n_words;
    int64_t *freq;
    int64_t *start;    // slice start in seq
    int32_t *len;      // current symbols in the word
    int32_t *seq;
    int32_t *stamp;    // last merge step that rewrote the word
    // pairs (a, b): hash table -> pair index; count and the words that may contain it
    int64_t *pcount;
    int32_t *pa, *pb;
    int32_t **where;
    int32_t *where_n, *where_cap;
    int32_t n_pairs, pairs_cap;
    int32_t *pslot;
    uint32_t pmask;
    uint8_t *dirty;
    int32_t *dirty_list, n_dirty;
    heap_item *heap;
    int64_t heap_n, heap_cap;
    uint64_t seed;
} trainer;

static uint64_t mix64(uint64_t x) {  // splitmix64's finaliser
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static int heap_less(const heap_item *x, const heap_item *y) {  // x ranks below y
    return x->count != y->count ? x->count < y->count : x->tie > y->tie;
}

static int heap_push(trainer *t, int32_t pair) {
    if (t->heap_n == t->heap_cap) {
        int64_t cap = t->heap_cap ? t->heap_cap * 2 : 1 << 16;
        heap_item *h = realloc(t->heap, sizeof *h * (size_t)cap);
        if (!h) return 0;
        t->heap = h;
        t->heap_cap = cap;
    }
    heap_item it = {t->pcount[pair], mix64(t->seed ^ ((uint64_t)(uint32_t)t->pa[pair] << 32 | (uint32_t)t->pb[pair])), pair};
    int64_t i = t->heap_n++;
    while (i > 0 && heap_less(&t->heap[(i - 1) / 2], &it)) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = it;
    return 1;
}

static heap_item heap_pop(trainer *t) {
    heap_item top = t->heap[0], last = t->heap[--t->heap_n];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= t->heap_n) break;
        if (c + 1 < t->heap_n && heap_less(&t->heap[c], &t->heap[c + 1])) c++;
        if (!heap_less(&last, &t->heap[c])) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (t->heap_n) t->heap[i] = last;
    return top;
}

static int pair_rehash(trainer *t, uint32_t cap) {
    int32_t *slot = malloc(sizeof *slot * cap);
    if (!slot) return 0;
    memset(slot, 0xFF, sizeof *slot * cap);
    for (int32_t p = 0; p < t->n_pairs; p++) {
        uint32_t j = (uint32_t)mix64((uint64_t)(uint32_t)t->pa[p] << 32 | (uint32_t)t->pb[p]) & (cap - 1);
        while (slot[j] >= 0) j = (j + 1) & (cap - 1);
        slot[j] = p;
    }
    free(t->pslot);
    t->pslot = slot;
    t->pmask = cap - 1;
    return 1;
}

// Index of pair (a, b), created with count 0 when missing; -1 on allocation failure.
static int32_t pair_get(trainer *t, int32_t a, int32_t b) {
    uint32_t j = (uint32_t)mix64((uint64_t)(uint32_t)a << 32 | (uint32_t)b) & t->pmask;
    for (; t->pslot[j] >= 0; j = (j + 1) & t->pmask)
        if (t->pa[t->pslot[j]] == a && t->pb[t->pslot[j]] == b) return t->pslot[j];
    if (t->n_pairs == t->pairs_cap) {
        int32_t cap = t->pairs_cap * 2;
        int64_t *pc = realloc(t->pcount, sizeof *pc * (size_t)cap);
        if (pc) t->pcount = pc;
        int32_t *pa = pc ? realloc(t->pa, sizeof *pa * (size_t)cap) : NULL;
        if (pa) t->pa = pa;
        int32_t *pb = pa ? realloc(t->pb, sizeof *pb * (size_t)cap) : NULL;
        if (pb) t->pb = pb;
        int32_t **w = pb ? realloc(t->where, sizeof *w * (size_t)cap) : NULL;
        if (w) t->where = w;
        int32_t *wn = w ? realloc(t->where_n, sizeof *wn * (size_t)cap) : NULL;
        if (wn) t->where_n = wn;
        int32_t *wc = wn ? realloc(t->where_cap, sizeof *wc * (size_t)cap) : NULL;
        if (wc) t->where_cap = wc;
        uint8_t *d = wc ? realloc(t->dirty, (size_t)cap) : NULL;
        if (d) t->dirty = d;
        int32_t *dl = d ? realloc(t->dirty_list, sizeof *dl * (size_t)cap) : NULL;
        if (!dl) return -1;
        t->dirty_list = dl;
        t->pairs_cap = cap;
    }
    int32_t p = t->n_pairs++;
    t->pa[p] = a;
    t->pb[p] = b;
    t->pcount[p] = 0;
    t->where[p] = NULL;
    t->where_n[p] = t->where_cap[p] = 0;
    t->dirty[p] = 0;
    t->pslot[j] = p;
    if ((uint32_t)t->n_pairs * 2 > t->pmask && !pair_rehash(t, (t->pmask + 1) * 2)) return -1;
    return p;
}

// Adds delta occurrences (weighted) of pair (a, b) in word w.
static int pair_add(trainer *t, int32_t a, int32_t b, int64_t delta, int32_t w) {
    int32_t p = pair_get(t, a, b);
    if (p < 0) return 0;
    t->pcount[p] += delta;
    if (!t->dirty[p]) {
        t->dirty[p] = 1;
        t->dirty_list[t->n_dirty++] = p;
    }
    if (delta > 0 && (t->where_n[p] == 0 || t->where[p][t->where_n[p] - 1] != w)) {
        if (t->where_n[p] == t->where_cap[p]) {
            int32_t cap = t->where_cap[p] ? t->where_cap[p] * 2 : 4;
            int32_t *x = realloc(t->where[p], sizeof *x * (size_t)cap);
            if (!x) return 0;
            t->where[p] = x;
            t->where_cap[p] = cap;
        }
        t->where[p][t->where_n[p]++] = w;
    }
    return 1;
}

// Pushes a fresh heap entry for every pair whose count changed, so the heap holds each live pair's true count.
static int flush_dirty(trainer *t) {
    for (int32_t k = 0; k < t->n_dirty; k++) {
        int32_t p = t->dirty_list[k];
        t->dirty[p] = 0;
        if (t->pcount[p] > 0 && !heap_push(t, p)) return 0;
    }
    t->n_dirty = 0;
    return 1;
}

// Replaces every (a, b) in word w by z, left to right, moving the word's pair counts along.
static int merge_word(trainer *t, int32_t w, int32_t a, int32_t b, int32_t z) {
    int32_t *s = t->seq + t->start[w], n = t->len[w];
    int64_t f = t->freq[w];
    int found = 0;
    for (int32_t i = 0; i + 1 < n; i++)
        if (s[i] == a && s[i + 1] == b) found = 1;
    if (!found) return 1;
    for (int32_t i = 0; i + 1 < n; i++)
        if (!pair_add(t, s[i], s[i + 1], -f, w)) return 0;
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            s[m++] = z;
            i++;
        } else {
            s[m++] = s[i];
        }
    }
    t->len[w] = m;
    for (int32_t i = 0; i + 1 < m; i++)
        if (!pair_add(t, s[i], s[i + 1], f, w)) return 0;
    return 1;
}

static void trainer_free(trainer *t) {
    strtab_free(&t->sym);
    free(t->freq);
    free(t->start);
    free(t->len);
    free(t->seq);
    free(t->stamp);
    for (int32_t p = 0; p < t->n_pairs; p++) free(t->where[p]);
    free(t->pcount);
    free(t->pa);
    free(t->pb);
    free(t->where);
    free(t->where_n);
    free(t->where_cap);
    free(t->pslot);
    free(t->dirty);
    free(t->dirty_list);
    free(t->heap);
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static const strtab *sort_tab;
static int cmp_words(const void *x, const void *y) {
    size_t an, bn;
    const char *a = str_at(sort_tab, *(const int32_t *)x, &an), *b = str_at(sort_tab, *(const int32_t *)y, &bn);
    return cmp_bytes(a, an, b, bn);
}

static int cmp_syms(const void *x, const void *y) {  // word-initial symbols first, then "##" ones, bytewise
    size_t an, bn;
    const char *a = str_at(sort_tab, *(const int32_t *)x, &an), *b = str_at(sort_tab, *(const int32_t *)y, &bn);
    int ac = an > 2 && a[0] == '#' && a[1] == '#', bc = bn > 2 && b[0] == '#' && b[1] == '#';
    return ac != bc ? ac - bc : cmp_bytes(a, an, b, bn);
}

// Builds the symbol sequences of the (sorted) unique words and the alphabet; *order gets symbol ids in output order.
static os_status build_words(trainer *t, const counter *c, int32_t **order, int32_t *n_alpha) {
    int32_t nw = c->words.n;
    int32_t *idx = malloc(sizeof *idx * (size_t)(nw ? nw : 1));
    int64_t total_chars = 0;
    if (!idx) return os_fail(OS_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < nw; i++) {
        idx[i] = i;
        size_t n;
        const char *s = str_at(&c->words, i, &n);
        total_chars += (int64_t)os_utf8_count(s, n);
    }
    sort_tab = &c->words;  // deterministic: word order no longer depends on hashing
    qsort(idx, (size_t)nw, sizeof *idx, cmp_words);
    t->n_words = nw;
    t->freq = malloc(sizeof *t->freq * (size_t)(nw + 1));
    t->start = malloc(sizeof *t->start * (size_t)(nw + 1));
    t->len = malloc(sizeof *t->len * (size_t)(nw + 1));
    t->stamp = calloc((size_t)(nw + 1), sizeof *t->stamp);
    t->seq = malloc(sizeof *t->seq * (size_t)(total_chars + 1));
    if (!t->freq || !t->start || !t->len || !t->stamp || !t->seq) {
        free(idx);
        return os_fail(OS_ERR_NOMEM, "out of memory for %d words", (int)nw);
    }
    int64_t pos = 0;
    char buf[8];
    for (int32_t k = 0; k < nw; k++) {
        size_t n, i = 0;
        const char *s = str_at(&c->words, idx[k], &n);
        t->freq[k] = c->count[idx[k]];
        t->start[k] = pos;
        int32_t m = 0;
        while (i < n) {
            size_t at = i;
            os_utf8_next((const uint8_t *)s, n, &i);  // words are valid UTF-8: the normaliser wrote them
            size_t bl = 0;
            if (m) buf[bl++] = '#', buf[bl++] = '#';
            memcpy(buf + bl, s + at, i - at);
            bl += i - at;
            int added;
            int32_t id = strtab_get(&t->sym, buf, bl, &added);
            if (id < 0) {
                free(idx);
                return os_fail(OS_ERR_NOMEM, "out of memory for the alphabet");
            }
            t->seq[pos + m++] = id;
        }
        t->len[k] = m;
        pos += m;
    }
    free(idx);
    *n_alpha = t->sym.n;
    *order = malloc(sizeof **order * (size_t)(t->sym.n + 1));
    if (!*order) return os_fail(OS_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < t->sym.n; i++) (*order)[i] = i;
    sort_tab = &t->sym;
    qsort(*order, (size_t)t->sym.n, sizeof **order, cmp_syms);
    return OS_OK;
}

static os_status write_vocab(const trainer *t, const int32_t *order, int32_t n_alpha, const char *path) {
    os_atomic_file f;
    os_status st = os_atomic_open(&f, path);
    if (st) return st;
    for (int k = 0; k < 5; k++) {
        os_atomic_write(&f, SPECIALS[k], strlen(SPECIALS[k]));
        os_atomic_write(&f, "\n", 1);
    }
    for (int32_t i = 0; i < t->sym.n; i++) {  // alphabet in sorted order, then merges in the order made
        size_t n;
        const char *s = str_at(&t->sym, i < n_alpha ? order[i] : i, &n);
        os_atomic_write(&f, s, n);
        os_atomic_write(&f, "\n", 1);
    }
    return os_atomic_commit(&f);
}

static os_status count_words(const char *const *files, int n_files, const os_vocab_train_options *o, counter *c,
                             os_vocab_train_stats *stats) {
    os_normalizer norm = {1, 1, o->lowercase, o->lowercase, {0}, {0}, {0}};
    os_normalizer_prepare(&norm);
    os_pretok_buf buf = {0};
    os_status st = OS_OK;
    for (int f = 0; f < n_files && !st; f++) {
        char *data;
        size_t len;
        if ((st = os_read_file(files[f], &data, &len))) break;
        stats->bytes += (int64_t)len;
        for (size_t i = 0; i < len && !st;) {  // line by line: offsets stay small and lines are independent
            const char *nl = memchr(data + i, '\n', len - i);
            size_t end = nl ? (size_t)(nl - data) : len;
            if (end - i > (size_t)INT32_MAX / 2) end = i + (size_t)INT32_MAX / 2;
            st = os_pretokenize(&norm, data + i, end - i, 0, MAX_WORD_CHARS, &buf, on_word, c);
            i = end + 1;
        }
        free(data);
    }
    os_pretok_buf_free(&buf);
    stats->words = c->total;
    return st;
}

os_status os_vocab_train(const char *const *files, int n_files, const os_vocab_train_options *opts,
                         const char *out_path, os_vocab_train_stats *stats) {
    os_vocab_train_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (opts->vocab_size < 6) return os_fail(OS_ERR_USAGE, "vocabulary size %d is too small", (int)opts->vocab_size);
    counter c = {0};
    trainer t = {0};
    int32_t *order = NULL, n_alpha = 0;
    os_status st = count_words(files, n_files, opts, &c, stats);
    if (!st) st = build_words(&t, &c, &order, &n_alpha);
    stats->unique_words = c.words.n;
    stats->alphabet = n_alpha;
    strtab_free(&c.words);
    free(c.count);
    if (!st && 5 + n_alpha > opts->vocab_size)
        st = os_fail(OS_ERR_INPUT, "vocabulary size %d is too small: the special tokens and the %d characters seen "
                     "need %d", (int)opts->vocab_size, (int)n_alpha, 5 + (int)n_alpha);
    t.seed = opts->seed;
    t.pairs_cap = 1024;
    if (!st) {
        t.pcount = malloc(sizeof *t.pcount * 1024);
        t.pa = malloc(sizeof *t.pa * 1024);
        t.pb = malloc(sizeof *t.pb * 1024);
        t.where = malloc(sizeof *t.where * 1024);
        t.where_n = malloc(sizeof *t.where_n * 1024);
        t.where_cap = malloc(sizeof *t.where_cap * 1024);
        t.dirty = malloc(1024);
        t.dirty_list = malloc(sizeof *t.dirty_list * 1024);
        if (!t.pcount || !t.pa || !t.pb || !t.where || !t.where_n || !t.where_cap || !t.dirty || !t.dirty_list ||
            !pair_rehash(&t, 4096))
            st = os_fail(OS_ERR_NOMEM, "out of memory");
    }
    for (int32_t w = 0; w < t.n_words && !st; w++) {
        const int32_t *s = t.seq + t.start[w];
        for (int32_t i = 0; i + 1 < t.len[w] && !st; i++)
            if (!pair_add(&t, s[i], s[i + 1], t.freq[w], w)) st = os_fail(OS_ERR_NOMEM, "out of memory counting pairs");
    }
    if (!st && !flush_dirty(&t)) st = os_fail(OS_ERR_NOMEM, "out of memory");
    int32_t step = 0;
    int64_t min_freq = opts->min_frequency > 1 ? opts->min_frequency : 1;
    while (!st && 5 + t.sym.n < opts->vocab_size && t.heap_n > 0) {
        heap_item top = heap_pop(&t);
        int32_t p = top.pair;
        if (top.count != t.pcount[p]) continue;  // stale: a fresh entry with the true count is in the heap
        if (top.count < min_freq) break;
        int32_t a = t.pa[p], b = t.pb[p];
        size_t an, bn;
        const char *as = str_at(&t.sym, a, &an), *bs = str_at(&t.sym, b, &bn);
        char *merged = malloc(an + bn);  // b always carries "##": the merge drops it
        if (!merged) {
            st = os_fail(OS_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(merged, as, an);
        memcpy(merged + an, bs + 2, bn - 2);
        int added;
        int32_t z = strtab_get(&t.sym, merged, an + bn - 2, &added);  // may already exist (another merge path)
        free(merged);
        if (z < 0) {
            st = os_fail(OS_ERR_NOMEM, "out of memory");
            break;
        }
        step++;
        stats->merges += added;
        int32_t nw = t.where_n[p];
        int32_t *ws = t.where[p];
        t.where[p] = NULL;  // the list is consumed; new occurrences of this pair cannot appear after the merge
        t.where_n[p] = t.where_cap[p] = 0;
        for (int32_t k = 0; k < nw && !st; k++) {
            int32_t w = ws[k];
            if (t.stamp[w] == step) continue;
            t.stamp[w] = step;
            if (!merge_word(&t, w, a, b, z)) st = os_fail(OS_ERR_NOMEM, "out of memory merging");
        }
        free(ws);
        if (!st && !flush_dirty(&t)) st = os_fail(OS_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        stats->vocab_size = 5 + t.sym.n;
        st = write_vocab(&t, order, n_alpha, out_path);
    }
    free(order);
    trainer_free(&t);
    return st;
}
