// Dev carving for phrase-level data (docs/data.md, "dev_whole_texts"): SST-2's training file holds every
// sentence AND every phrase of its parse trees, so a random dev split is mostly short phrases whose
// sentences sit in train. Here dev is drawn only from whole texts (texts that are not a word span of another
// text of the file: the sentences), and train loses every text that is a word span of a dev text (the dev
// sentences' own phrases), so no dev sentence leaks into training through its pieces.
// Texts are compared as whitespace-separated word sequences by 64-bit hashes (FNV-1a over the words).
#include <stdlib.h>
#include <string.h>

#include "data/split.h"

typedef struct {
    uint64_t *slot;  // 0 = empty (a hash of 0 is stored as 1)
    size_t cap, n;
} hashset;

static int hs_init(hashset *h, size_t expect) {
    h->cap = 1024;
    while (h->cap < 2 * expect) h->cap <<= 1;
    h->n = 0;
    h->slot = calloc(h->cap, sizeof *h->slot);
    return h->slot ? 0 : -1;
}

static int hs_insert(hashset *h, uint64_t k);

static int hs_grow(hashset *h) {
    hashset bigger = {calloc(h->cap * 2, sizeof(uint64_t)), h->cap * 2, 0};
    if (!bigger.slot) return -1;
    for (size_t i = 0; i < h->cap; i++)
        if (h->slot[i]) hs_insert(&bigger, h->slot[i]);
    free(h->slot);
    *h = bigger;
    return 0;
}

static int hs_insert(hashset *h, uint64_t k) {
    if (!k) k = 1;
    if (2 * (h->n + 1) > h->cap && hs_grow(h)) return -1;
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL) & (h->cap - 1);
    while (h->slot[i] && h->slot[i] != k) i = (i + 1) & (h->cap - 1);
    if (!h->slot[i]) {
        h->slot[i] = k;
        h->n++;
    }
    return 0;
}

static int hs_has(const hashset *h, uint64_t k) {
    if (!k) k = 1;
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL) & (h->cap - 1);
    while (h->slot[i]) {
        if (h->slot[i] == k) return 1;
        i = (i + 1) & (h->cap - 1);
    }
    return 0;
}

// Word boundaries of s: starts[i], lens[i] for each whitespace-separated word; returns the count.
static size_t split_words(const char *s, const char ***starts, size_t **lens) {
    size_t n = 0, cap = 16;
    *starts = malloc(cap * sizeof **starts);
    *lens = malloc(cap * sizeof **lens);
    if (!*starts || !*lens) return (size_t)-1;
    for (const char *p = s; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (!*p) break;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') p++;
        if (n == cap) {
            cap *= 2;
            const char **s2 = realloc(*starts, cap * sizeof **starts);
            size_t *l2 = realloc(*lens, cap * sizeof **lens);
            if (s2) *starts = s2;
            if (l2) *lens = l2;
            if (!s2 || !l2) return (size_t)-1;
        }
        (*starts)[n] = w;
        (*lens)[n] = (size_t)(p - w);
        n++;
    }
    return n;
}

static uint64_t span_hash(const char *const *starts, const size_t *lens, size_t from, size_t to) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = from; i < to; i++) {
        for (size_t j = 0; j < lens[i]; j++) h = (h ^ (unsigned char)starts[i][j]) * 0x100000001b3ULL;
        h = (h ^ 0x1f) * 0x100000001b3ULL;  // word separator
    }
    return h;
}

// Adds the hashes of the word spans of `text` to h: proper spans only (shorter than the text), or all.
static int add_spans(hashset *h, const char *text, int proper) {
    const char **st;
    size_t *ln, n = split_words(text, &st, &ln);
    int bad = n == (size_t)-1;
    for (size_t a = 0; !bad && a < n; a++)
        for (size_t b = a + 1; b <= n && !bad; b++)
            if (!(proper && a == 0 && b == n)) bad = hs_insert(h, span_hash(st, ln, a, b)) != 0;
    free(st);
    free(ln);
    return bad ? -1 : 0;
}

static uint64_t text_hash(const char *text, int *bad) {
    const char **st;
    size_t *ln, n = split_words(text, &st, &ln);
    *bad = n == (size_t)-1;
    uint64_t h = *bad ? 0 : span_hash(st, ln, 0, n);
    free(st);
    free(ln);
    return h;
}

os_status os_split_whole_texts(const os_dataset *ds, const os_split_opts *o, size_t **train_idx, size_t *n_train,
                               size_t **dev_idx, size_t *n_dev) {
    *train_idx = *dev_idx = NULL;
    *n_train = *n_dev = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (!ds->ex[i].text || ds->ex[i].text_pair)
            return os_fail(OS_ERR_INPUT, "%s:%zu: dev_whole_texts needs single plain-text examples", ds->ex[i].file,
                           ds->ex[i].line);
    hashset inner = {0}, dev_spans = {0};
    size_t *whole = malloc((ds->n ? ds->n : 1) * sizeof *whole), n_whole = 0;
    size_t *sub_t = NULL, *sub_d = NULL, nt = 0, nd = 0;
    os_dataset *wd = NULL;
    int bad = !whole || hs_init(&inner, ds->n * 8) || hs_init(&dev_spans, 1024);
    for (size_t i = 0; i < ds->n && !bad; i++) bad = add_spans(&inner, ds->ex[i].text, 1);
    for (size_t i = 0; i < ds->n && !bad; i++) {
        uint64_t h = text_hash(ds->ex[i].text, &bad);
        if (!bad && !hs_has(&inner, h)) whole[n_whole++] = i;
    }
    os_status st = bad ? os_fail(OS_ERR_NOMEM, "out of memory carving whole-text dev examples") : OS_OK;
    if (!st && n_whole < 2)
        st = os_fail(OS_ERR_INPUT, "dev_whole_texts: only %zu whole text(s) in the data (need 2)", n_whole);
    // The dev share is of the whole texts (stratified like an ordinary split, on those texts only).
    if (!st) st = os_dataset_subset(ds, whole, n_whole, &wd);
    if (!st) st = os_split_indices(wd, o, &sub_t, &nt, &sub_d, &nd);
    for (size_t k = 0; !st && k < nd && !bad; k++) bad = add_spans(&dev_spans, ds->ex[whole[sub_d[k]]].text, 0);
    if (!st && bad) st = os_fail(OS_ERR_NOMEM, "out of memory carving whole-text dev examples");
    if (!st) {
        *dev_idx = malloc((nd ? nd : 1) * sizeof **dev_idx);
        *train_idx = malloc((ds->n ? ds->n : 1) * sizeof **train_idx);
        if (!*dev_idx || !*train_idx) st = os_fail(OS_ERR_NOMEM, "out of memory");
    }
    if (!st) {
        for (size_t k = 0; k < nd; k++) (*dev_idx)[k] = whole[sub_d[k]];  // ascending: sub_d and whole are
        *n_dev = nd;
        for (size_t i = 0; i < ds->n && !bad; i++) {
            uint64_t h = text_hash(ds->ex[i].text, &bad);
            if (!bad && !hs_has(&dev_spans, h)) (*train_idx)[(*n_train)++] = i;
        }
        if (bad) st = os_fail(OS_ERR_NOMEM, "out of memory");
    }
    if (st) {
        free(*train_idx);
        free(*dev_idx);
        *train_idx = *dev_idx = NULL;
        *n_train = *n_dev = 0;
    }
    os_dataset_free(wd);
    free(sub_t);
    free(sub_d);
    free(whole);
    free(inner.slot);
    free(dev_spans.slot);
    return st;
}
