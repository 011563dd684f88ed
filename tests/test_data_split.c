// Dev carving: seeded, random (not positional), stratified proportions, determinism; head/sample slices.
#include "data/dataset.h"
#include "data/split.h"
#include "data_testutil.h"

// Classes A..E with 800, 150, 45, 4 and 1 examples, in runs (as sorted files are), plus 20 unlabeled.
static os_dataset *skewed(void) {
    static const char *const names[5] = {"A", "B", "C", "D", "E"};
    static const int counts[5] = {800, 150, 45, 4, 1};
    os_dataset *ds;
    if (os_dataset_new(&ds) || os_dataset_add_field(ds, "label", OS_LABEL_CLASS, NULL) ||
        os_dataset_add_field(ds, "score", OS_LABEL_NUMBER, NULL))
        return NULL;
    size_t line = 1;
    for (int c = 0; c <= 5; c++) {
        int n = c < 5 ? counts[c] : 20;
        for (int i = 0; i < n; i++) {
            os_example *ex = os_dataset_push(ds, "skewed.tsv", ++line);
            if (!ex) return ds;
            char text[32];
            int len = snprintf(text, sizeof text, "example %zu", line);
            ex->text = os_dataset_strndup(ds, text, (size_t)len);
            if (c < 5) {
                ex->labels[0].kind = OS_LABEL_CLASS;
                ex->labels[0].v.name = os_dataset_intern(ds, names[c], 1);
            }
        }
    }
    return ds;
}

static size_t count_label(const os_dataset *ds, const char *name) {
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const os_label *l = &ds->ex[i].labels[0];
        k += name ? l->kind == OS_LABEL_CLASS && strcmp(l->v.name, name) == 0 : l->kind == OS_LABEL_MISSING;
    }
    return k;
}

// The two index lists are sorted, disjoint and together cover 0..n-1.
static int is_partition(const size_t *a, size_t na, const size_t *b, size_t nb, size_t n) {
    if (na + nb != n) return 0;
    size_t i = 0, j = 0;
    for (size_t k = 0; k < n; k++) {
        if (i < na && a[i] == k)
            i++;
        else if (j < nb && b[j] == k)
            j++;
        else
            return 0;
    }
    return 1;
}

static void test_stratified(void) {
    os_dataset *ds = skewed();
    if (!ds) return;
    CHECK(ds->n == 1020);
    os_split_opts o = {.dev_fraction = 0.1, .seed = 42, .stratify_field = "label"};
    os_dataset *train, *dev;
    CHECK(os_dataset_split(ds, &o, &train, &dev) == OS_OK);
    if (!train || !dev) return;
    // 102 in dev: floors 80 + 15 + 4 + 0 + 0 + 2 (unlabeled) = 101, plus one for C (largest remainder .5);
    // E's single example and D stay in train.
    CHECK(dev->n == 102 && train->n == 918);
    CHECK(count_label(dev, "A") == 80 && count_label(dev, "B") == 15 && count_label(dev, "C") == 5);
    CHECK(count_label(dev, "D") == 0 && count_label(dev, "E") == 0 && count_label(dev, NULL) == 2);
    CHECK(count_label(train, "E") == 1 && count_label(train, "D") == 4);
    // Copies keep text, fields and source lines; dev stays in file order.
    CHECK(dev->n_fields == 2 && strcmp(dev->fields[1].name, "score") == 0);
    for (size_t i = 1; i < dev->n; i++) CHECK(dev->ex[i - 1].line < dev->ex[i].line);
    CHECK(strncmp(dev->ex[0].text, "example ", 8) == 0 && strcmp(dev->ex[0].file, "skewed.tsv") == 0);
    // Every dev label is a train label.
    os_labelset known;
    CHECK(os_dataset_labels(train, 0, &known) == OS_OK && known.n == 5);
    CHECK(os_dataset_check_labels(dev, 0, &known, OS_UNKNOWN_LABEL_ERROR, NULL) == OS_OK);
    os_labelset_free(&known);
    os_dataset_free(train);
    os_dataset_free(dev);
    os_dataset_free(ds);
}

typedef struct {
    size_t *train, *dev, n_train, n_dev;
} split_ix;

// Splits by index and checks that train and dev partition the examples.
static split_ix split_of(const os_dataset *ds, const os_split_opts *o) {
    split_ix s;
    CHECK(os_split_indices(ds, o, &s.train, &s.n_train, &s.dev, &s.n_dev) == OS_OK);
    CHECK(s.dev && is_partition(s.train, s.n_train, s.dev, s.n_dev, ds->n));
    return s;
}

static int same_dev(const split_ix *a, const split_ix *b) {
    return a->n_dev == b->n_dev && a->dev && b->dev && memcmp(a->dev, b->dev, a->n_dev * sizeof *a->dev) == 0;
}

static void split_free(split_ix *s) {
    free(s->train);
    free(s->dev);
}

static void test_random_and_deterministic(void) {
    os_dataset *ds = skewed();
    if (!ds) return;
    os_split_opts o = {.dev_fraction = 0.25, .seed = 7};
    split_ix a = split_of(ds, &o), b = split_of(ds, &o);
    CHECK(a.n_dev == 255 && a.n_train == 765);
    CHECK(same_dev(&a, &b));  // same seed, same split
    // Random, not the tail: dev examples come from all over the file.
    size_t first_half = 0;
    for (size_t i = 0; a.dev && i < a.n_dev; i++) first_half += a.dev[i] < ds->n / 2;
    CHECK(first_half > a.n_dev / 3 && first_half < a.n_dev * 2 / 3);
    o.seed = 8;
    split_ix c = split_of(ds, &o);
    CHECK(c.n_dev == a.n_dev && !same_dev(&a, &c));  // another seed, another split
    // Stratified splits are deterministic too.
    o.stratify_field = "label";
    split_ix d = split_of(ds, &o), e = split_of(ds, &o);
    CHECK(d.n_dev == 255 && same_dev(&d, &e) && !same_dev(&c, &d));
    split_free(&a);
    split_free(&b);
    split_free(&c);
    split_free(&d);
    split_free(&e);
    os_dataset_free(ds);
}

static void test_split_edges(void) {
    os_dataset *ds = skewed();
    if (!ds) return;
    os_dataset *a, *b;
    os_split_opts o = {.dev_fraction = 0, .seed = 1};
    DT_FAILS(os_dataset_split(ds, &o, &a, &b), OS_ERR_USAGE, "dev fraction 0");
    o.dev_fraction = 1;
    DT_FAILS(os_dataset_split(ds, &o, &a, &b), OS_ERR_USAGE, "dev fraction 1");
    o.dev_fraction = 0.1;
    o.stratify_field = "score";
    DT_FAILS(os_dataset_split(ds, &o, &a, &b), OS_ERR_USAGE, "'score'", "not a class field");
    o.stratify_field = "nope";
    DT_FAILS(os_dataset_split(ds, &o, &a, &b), OS_ERR_USAGE, "'nope'");
    CHECK(a == NULL && b == NULL);
    // Tiny sets: at least one example on each side.
    os_dataset *two;
    size_t idx[2] = {0, 900};
    CHECK(os_dataset_subset(ds, idx, 2, &two) == OS_OK);
    o.stratify_field = NULL;
    o.dev_fraction = 0.01;
    CHECK(os_dataset_split(two, &o, &a, &b) == OS_OK && a && b && a->n == 1 && b->n == 1);
    os_dataset_free(a);
    os_dataset_free(b);
    o.stratify_field = "label";  // A and B once each: neither may give its only example, so dev is empty
    CHECK(os_dataset_split(two, &o, &a, &b) == OS_OK && a && b && a->n == 2 && b->n == 0);
    os_dataset_free(a);
    os_dataset_free(b);
    os_dataset *one;
    CHECK(os_dataset_head(two, 1, &one) == OS_OK);
    o.stratify_field = NULL;
    DT_FAILS(os_dataset_split(one, &o, &a, &b), OS_ERR_INPUT, "skewed.tsv", "1 example");
    os_dataset_free(one);
    os_dataset_free(two);
    os_dataset_free(ds);
}

static void test_head_and_sample(void) {
    os_dataset *ds = skewed();
    if (!ds) return;
    os_dataset *h, *s1, *s2, *all;
    CHECK(os_dataset_head(ds, 10, &h) == OS_OK && h && h->n == 10 && h->ex[9].line == ds->ex[9].line);
    CHECK(os_dataset_sample(ds, 50, 3, &s1) == OS_OK && s1 && s1->n == 50);
    CHECK(os_dataset_sample(ds, 50, 3, &s2) == OS_OK && s2 && s2->n == 50);
    int same = 1, ordered = 1;
    for (size_t i = 0; s1 && s2 && i < 50; i++) {
        same &= s1->ex[i].line == s2->ex[i].line;
        if (i) ordered &= s1->ex[i - 1].line < s1->ex[i].line;
    }
    CHECK(same && ordered);
    CHECK(s1 && s1->ex[49].line > 60);  // not simply the first 50
    CHECK(os_dataset_sample(ds, 5000, 3, &all) == OS_OK && all && all->n == ds->n);
    os_dataset_free(h);
    os_dataset_free(s1);
    os_dataset_free(s2);
    os_dataset_free(all);
    os_dataset_free(ds);
}

// Whether the words of `small` appear contiguously in `big` (both single-space separated).
static int is_word_span(const char *small, const char *big) {
    size_t n = strlen(small);
    for (const char *p = strstr(big, small); p; p = strstr(p + 1, small))
        if ((p == big || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ')) return 1;
    return 0;
}

// Phrase-level data as SST-2 has it: 60 sentences, each with its phrases (every span of 1-3 words from its
// start and its two halves); dev must hold sentences only and train none of their pieces.
static void test_whole_texts(void) {
    os_dataset *ds;
    if (os_dataset_new(&ds) || os_dataset_add_field(ds, "label", OS_LABEL_CLASS, NULL)) return;
    char text[128];
    size_t line = 0;
    for (int s = 0; s < 60; s++) {
        const char *w[6] = {"w0", "w1", "w2", "w3", "w4", "w5"};
        char words[6][16];
        for (int k = 0; k < 6; k++) snprintf(words[k], sizeof words[k], "%s_%d", w[k], s % 20 == 0 ? 0 : s);
        // sentence s: 6 words; sentences 0, 20, 40 share words but differ in the last one
        snprintf(text, sizeof text, "%s %s %s %s %s end%d", words[0], words[1], words[2], words[3], words[4], s);
        const char *parts[6];
        char p1[128], p2[128], p3[128], h1[128], h2[128];
        snprintf(p1, sizeof p1, "%s", words[0]);
        snprintf(p2, sizeof p2, "%s %s", words[0], words[1]);
        snprintf(p3, sizeof p3, "%s %s %s", words[0], words[1], words[2]);
        snprintf(h1, sizeof h1, "%s %s %s", words[0], words[1], words[2]);
        snprintf(h2, sizeof h2, "%s %s end%d", words[3], words[4], s);
        parts[0] = text, parts[1] = p1, parts[2] = p2, parts[3] = p3, parts[4] = h1, parts[5] = h2;
        for (int k = 0; k < 6; k++) {
            os_example *ex = os_dataset_push(ds, "phrases.tsv", ++line);
            ex->text = os_dataset_strndup(ds, parts[k], strlen(parts[k]));
            ex->labels[0].kind = OS_LABEL_CLASS;
            ex->labels[0].v.name = os_dataset_intern(ds, s % 2 ? "pos" : "neg", 3);
        }
    }
    // An extra phrase that is a span of no sentence is also a whole text.
    os_example *ex = os_dataset_push(ds, "phrases.tsv", ++line);
    ex->text = os_dataset_strndup(ds, "lonely phrase", 13);
    ex->labels[0].kind = OS_LABEL_CLASS;
    ex->labels[0].v.name = os_dataset_intern(ds, "pos", 3);
    os_split_opts o = {0.25, 9, "label"};
    size_t *ti, *di, nt, nd;
    os_status st = os_split_whole_texts(ds, &o, &ti, &nt, &di, &nd);
    CHECK(st == OS_OK);
    if (st) return;
    CHECK(nd == 15);  // a quarter of the 61 whole texts
    int dev_whole = 1, leak = 0;
    for (size_t k = 0; k < nd; k++) {
        const char *d = ds->ex[di[k]].text;
        for (size_t i = 0; i < ds->n; i++)
            if (i != di[k] && is_word_span(d, ds->ex[i].text) && strcmp(d, ds->ex[i].text)) dev_whole = 0;
        for (size_t j = 0; j < nt; j++) leak += is_word_span(ds->ex[ti[j]].text, d);
    }
    CHECK_MSG(dev_whole, "a dev text is part of another text");
    CHECK_MSG(leak == 0, "%d train texts are pieces of dev texts", leak);
    // Everything that is not a piece of a dev text stays in train.
    size_t kept = 0;
    for (size_t i = 0; i < ds->n; i++) {
        int in_dev_span = 0;
        for (size_t k = 0; k < nd; k++) in_dev_span |= is_word_span(ds->ex[i].text, ds->ex[di[k]].text);
        kept += !in_dev_span;
    }
    CHECK(kept == nt);
    free(ti);
    free(di);
    // Pair examples are refused.
    ds->ex[0].text_pair = "x";
    DT_FAILS(os_split_whole_texts(ds, &o, &ti, &nt, &di, &nd), OS_ERR_INPUT, "phrases.tsv:1", "plain-text");
    os_dataset_free(ds);
}

int main(void) {
    RUN(test_stratified);
    RUN(test_random_and_deterministic);
    RUN(test_split_edges);
    RUN(test_head_and_sample);
    RUN(test_whole_texts);
    return th_finish();
}
