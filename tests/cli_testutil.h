// Helpers for tests that run the onestone binary ($ONESTONE_BIN) in a scratch directory.
#ifndef ONESTONE_TESTS_CLI_TESTUTIL_H
#define ONESTONE_TESTS_CLI_TESTUTIL_H
#include <sys/wait.h>

#include "harness.h"
#include "util/fileio.h"
#include "util/rng.h"
#include <jansson.h>

static char cli_dir[512];

// Runs "onestone ARGS" with stdout / stderr in DIR/out.txt and DIR/err.txt; returns the exit status.
static inline int cli_run(const char *args) {
    const char *bin = getenv("ONESTONE_BIN");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s > %s/out.txt 2> %s/err.txt", bin ? bin : "build/onestone", args, cli_dir, cli_dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// DIR/name's contents ("" when unreadable); the caller frees.
static inline char *cli_read(const char *name) {
    char path[1200], *data = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    if (os_read_file(path, &data, &len)) return strdup("");
    return data;
}

// DIR/name opened for writing; the caller closes it.
static inline FILE *cli_create(const char *name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot create %s\n", path);
        exit(1);
    }
    return f;
}

// DIR/name parsed as JSON (a failed check and NULL when it is missing or malformed); the caller decrefs.
static inline json_t *cli_load_json(const char *name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    CHECK_MSG(j != NULL, "cannot read %s: %s", path, je.text);
    return j;
}

// True when DIR/a and DIR/b exist, are non-empty and byte for byte equal.
static inline int cli_same_file(const char *a, const char *b) {
    char pa[1200], pb[1200], *x, *y;
    size_t lx, ly;
    snprintf(pa, sizeof pa, "%s/%s", cli_dir, a);
    snprintf(pb, sizeof pb, "%s/%s", cli_dir, b);
    if (os_read_file(pa, &x, &lx)) return 0;
    if (os_read_file(pb, &y, &ly)) {
        free(x);
        return 0;
    }
    int same = lx == ly && lx > 0 && !memcmp(x, y, lx);
    free(x);
    free(y);
    return same;
}

// Runs ARGS and checks the exit code and that the last stderr line starts with "onestone CMD: " and holds
// `needle`.
static inline void cli_expect_error(const char *args, const char *cmd, int code, const char *needle) {
    int rc = cli_run(args);
    char *err = cli_read("err.txt"), prefix[64];
    size_t n = strlen(err);
    while (n && err[n - 1] == '\n') err[--n] = '\0';
    const char *last = strrchr(err, '\n') ? strrchr(err, '\n') + 1 : err;
    snprintf(prefix, sizeof prefix, "onestone %s: ", cmd);
    CHECK_MSG(rc == code, "'%s' exited %d, expected %d: %s", args, rc, code, last);
    CHECK_MSG(strstr(last, needle) != NULL, "'%s': message lacks '%s': %s", args, needle, last);
    CHECK_MSG(!strncmp(last, prefix, strlen(prefix)), "'%s': not a onestone error line: %s", args, last);
    free(err);
}

// The toy corpus of the training tests (test_train, test_reference): a vocabulary of whole words, so the
// WordPiece tokenisation is whitespace splitting, and generators of labelled text drawn from it.
static const char *const cli_words[] = {"the", "a", "movie", "film", "is", "was", "very", "and", "of", "in", "city",
                                        "visited", "met", "near", "causes", "contains", "from", "big", "small"};
static const char *const cli_names[] = {"alice", "bob", "carol"};
static const char *const cli_places[] = {"paris", "rome", "oslo"};
static const char *const cli_positive[] = {"good", "great"};
static const char *const cli_negative[] = {"bad", "awful"};

static inline const char *cli_pick(os_rng *r, const char *const *a, int n) { return a[os_rng_below(r, (uint64_t)n)]; }

// DIR/vocab.txt: the special tokens, "." and every word above.
static inline void cli_write_vocab(void) {
    FILE *f = cli_create("vocab.txt");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\n");
    for (size_t i = 0; i < sizeof cli_words / sizeof *cli_words; i++) fprintf(f, "%s\n", cli_words[i]);
    for (int i = 0; i < 3; i++) fprintf(f, "%s\n%s\n", cli_names[i], cli_places[i]);
    for (int i = 0; i < 2; i++) fprintf(f, "%s\n%s\n", cli_positive[i], cli_negative[i]);
    fclose(f);
}

// DIR/name: a TSV of n five-word sentences whose fourth word decides the label (positive / negative).
static inline void cli_write_sentiment(const char *name, os_rng *r, int n) {
    FILE *f = cli_create(name);
    fprintf(f, "sentence\tlabel\n");
    for (int i = 0; i < n; i++) {
        int pos = (int)os_rng_below(r, 2);
        // One pick per declaration, in order (a call's arguments are evaluated in an unspecified order).
        const char *w1 = cli_pick(r, cli_words, 4), *w2 = cli_pick(r, cli_words + 2, 2);
        const char *w3 = cli_pick(r, cli_words + 4, 2);
        const char *w4 = pos ? cli_pick(r, cli_positive, 2) : cli_pick(r, cli_negative, 2);
        const char *w5 = cli_pick(r, cli_words, 19);
        fprintf(f, "%s %s %s %s %s\t%s\n", w1, w2, w3, w4, w5, pos ? "positive" : "negative");
    }
    fclose(f);
}

// DIR/name: n SemEval-2010 Task 8 examples; the verb decides the relation, the entities' order its direction.
static inline void cli_write_semeval(const char *name, os_rng *r, int n) {
    FILE *f = cli_create(name);
    for (int i = 0; i < n; i++) {
        int kind = (int)os_rng_below(r, 3), flip = (int)os_rng_below(r, 2);
        const char *verb = kind == 0 ? "causes" : kind == 1 ? "contains" : "near";
        const char *a = cli_pick(r, cli_words + 10, 1), *b = cli_pick(r, cli_places, 3);
        const char *label = kind == 2   ? "Other"
                            : kind == 0 ? (flip ? "Cause-Effect(e2,e1)" : "Cause-Effect(e1,e2)")
                                        : (flip ? "Content-Container(e2,e1)" : "Content-Container(e1,e2)");
        fprintf(f, "%d\t\"the <e1>%s</e1> %s the <e2>%s</e2> .\"\n%s\nComment:\n\n", i + 1, flip ? b : a, verb,
                flip ? a : b, label);
    }
    fclose(f);
}
#endif
