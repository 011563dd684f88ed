// WordPiece vocabulary training: deterministic output, requested size, the alphabet, and a round trip
// (tokenizing the training text with the new vocabulary gives few [UNK]s).
#include <stdint.h>

#include "harness.h"
#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_train.h"
#include "util/fileio.h"
#include "util/rng.h"

static char tmp[1024];

static char *tmp_path(const char *name) { return tt_path(tmp, name); }

// A Zipf-ish synthetic corpus from syllables, with some accents, punctuation and a CJK run.
static void write_corpus(const char *path, uint64_t seed, int n_words) {
    static const char *syl[] = {"ka", "to", "re", "mi", "sun", "lo", "ver", "ing", "ed", "tion", "é", "pa", "ra", "Zu", "qu"};
    os_rng r;
    os_rng_seed(&r, seed);
    size_t cap = (size_t)n_words * 16 + 64, n = 0;
    char *text = malloc(cap);
    for (int w = 0; w < n_words; w++) {
        int parts = 1 + (int)os_rng_below(&r, 4);
        for (int p = 0; p < parts; p++) {
            const char *s = syl[os_rng_below(&r, 1 + os_rng_below(&r, 15))];  // skewed to the first syllables
            memcpy(text + n, s, strlen(s));
            n += strlen(s);
        }
        text[n++] = w % 17 == 16 ? '\n' : w % 11 == 10 ? ',' : ' ';
    }
    memcpy(text + n, "\n中文 end.\n", strlen("\n中文 end.\n"));
    n += strlen("\n中文 end.\n");
    CHECK(os_write_file_atomic(path, text, n) == OS_OK);
    free(text);
}

static int count_lines(const char *path, char **data_out) {
    char *data;
    size_t len;
    if (os_read_file(path, &data, &len)) return -1;
    int n = 0;
    for (size_t i = 0; i < len; i++) n += data[i] == '\n';
    if (data_out)
        *data_out = data;
    else
        free(data);
    return n;
}

static double unk_rate(const char *vocab, const char *text_path) {
    os_tokenizer *t = NULL;
    CHECK(os_tokenizer_load(vocab, NULL, &t) == OS_OK);
    char *data;
    size_t len;
    if (!t || os_read_file(text_path, &data, &len)) {
        os_tokenizer_free(t);
        return 1.0;
    }
    os_encoding e;
    os_encoding_init(&e);
    os_encode_options o = os_encode_options_default();
    o.add_special_tokens = 0;
    CHECK(os_tokenizer_encode(t, data, len, &o, &e) == OS_OK);
    int32_t unk = os_tokenizer_special_ids(t).unk, n_unk = 0;
    for (int32_t i = 0; i < e.n; i++) n_unk += e.ids[i] == unk;
    double rate = e.n ? (double)n_unk / e.n : 1.0;
    os_encoding_free(&e);
    free(data);
    os_tokenizer_free(t);
    return rate;
}

static void test_synthetic(void) {
    char corpus[4200];
    snprintf(corpus, sizeof corpus, "%s", tmp_path("corpus.txt"));
    write_corpus(corpus, 1, 20000);
    const char *files[] = {corpus};
    os_vocab_train_options o = os_vocab_train_defaults();
    o.vocab_size = 300;
    os_vocab_train_stats s;
    CHECK(os_vocab_train(files, 1, &o, tmp_path("v1.txt"), &s) == OS_OK);
    CHECK(os_vocab_train(files, 1, &o, tmp_path("v2.txt"), NULL) == OS_OK);
    char *a = NULL, *b = NULL;
    int na = count_lines(tmp_path("v1.txt"), &a), nb = count_lines(tmp_path("v2.txt"), &b);
    CHECK_MSG(na == 300, "size %d, want 300", na);
    CHECK(s.vocab_size == 300 && s.words > 20000 && s.merges > 0);
    CHECK(a && b && na == nb && !strcmp(a, b));  // deterministic
    CHECK(a && !strncmp(a, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", 31));
    CHECK(a && strstr(a, "\n中\n") && strstr(a, "\n##e\n") && strstr(a, "\nz\n"));  // uncased alphabet
    CHECK(a && !strstr(a, "\nZ\n") && !strstr(a, "\né\n"));
    free(a);
    free(b);
    double r1 = unk_rate(tmp_path("v1.txt"), corpus);
    CHECK_MSG(r1 == 0.0, "unk rate %g", r1);
    o.seed = 99;  // the seed only orders equally frequent pairs: a valid vocabulary of the same size
    CHECK(os_vocab_train(files, 1, &o, tmp_path("v3.txt"), NULL) == OS_OK);
    CHECK(count_lines(tmp_path("v3.txt"), NULL) == 300);
    o.lowercase = 0;
    o.vocab_size = 100000;  // more than the text supports: stops when no pair is frequent enough
    CHECK(os_vocab_train(files, 1, &o, tmp_path("v4.txt"), &s) == OS_OK);
    CHECK(s.vocab_size < 100000 && count_lines(tmp_path("v4.txt"), NULL) == s.vocab_size);
    a = NULL;
    CHECK(count_lines(tmp_path("v4.txt"), &a) > 0 && a && strstr(a, "\nZ\n") && strstr(a, "\né\n"));  // cased
    free(a);
    o.vocab_size = 10;  // smaller than the alphabet
    CHECK(os_vocab_train(files, 1, &o, tmp_path("v5.txt"), NULL) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "too small") != NULL);
    const char *missing[] = {tmp_path("no_such_file.txt")};
    o.vocab_size = 300;
    CHECK(os_vocab_train(missing, 1, &o, tmp_path("v6.txt"), NULL) == OS_ERR_IO);
}

// On real text (skipped without the shared data): a 4,000-token vocabulary from WikiText-2 valid.
static void test_wikitext(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s", tt_data_path("wikitext2_raw/wiki.valid.raw"));
    if (!os_path_exists(path)) {
        printf("SKIP wikitext vocabulary training: %s not found\n", path);
        return;
    }
    const char *files[] = {path};
    os_vocab_train_options o = os_vocab_train_defaults();
    o.vocab_size = 4000;
    os_vocab_train_stats s;
    CHECK(os_vocab_train(files, 1, &o, tmp_path("wiki.txt"), &s) == OS_OK);
    CHECK(s.vocab_size == 4000 && count_lines(tmp_path("wiki.txt"), NULL) == 4000);
    double r = unk_rate(tmp_path("wiki.txt"), path);
    CHECK_MSG(r < 0.001, "unk rate %g", r);
    printf("wikitext valid: %d words (%d distinct), alphabet %d, unk rate on the training text %.5f\n", (int)s.words,
           (int)s.unique_words, (int)s.alphabet, r);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "%s/tokenizer_vocab_train", th_tmpdir());
    if (os_mkdirs(tmp) != OS_OK) return fprintf(stderr, "cannot create %s\n", tmp), 1;
    RUN(test_synthetic);
    RUN(test_wikitext);
    return th_finish();
}
