// Pretraining data: streamed packing equals HF run_mlm's group_texts (tokenize each line with [CLS]/[SEP],
// concatenate, cut into full blocks) whatever the read size; masking follows BERT's 15 % and 80/10/10
// rule, never touches special tokens, is deterministic per seed and differs between seeds; whole-word masking
// selects every piece of a word together.
#include "harness.h"
#include "pretrain/corpus.h"
#include "pretrain/masking.h"
#include "util/fileio.h"
#include "util/rng.h"

static char dir[512];
static os_tokenizer *tok;

static const char *const words[] = {"the", "cat", "sat", "on", "mat", "dog", "ran", "play", "jump", "walk"};

static void write_fixture(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\n");
    for (int i = 0; i < 10; i++) fprintf(f, "%s\n", words[i]);
    fprintf(f, "##s\n##ed\n##ing\n");
    fclose(f);
    // Text with CRLF and LF endings, blank lines, words with "##" pieces and one long line.
    os_rng r;
    os_rng_seed(&r, 1);
    snprintf(path, sizeof path, "%s/a.txt", dir);
    f = fopen(path, "w");
    static const char *const suffix[] = {"", "", "s", "ed", "ing"};
    for (int line = 0; line < 300; line++) {
        int n = line == 17 ? 400 : 1 + (int)os_rng_below(&r, 12);
        for (int k = 0; k < n; k++) {
            const char *w = words[os_rng_below(&r, 10)];  // drawn before the suffix, whatever the compiler
            fprintf(f, "%s%s%s", k ? " " : "", w, suffix[os_rng_below(&r, 5)]);
        }
        fprintf(f, line % 3 ? " .\n" : " .\r\n");
        if (line % 7 == 0) fprintf(f, line % 2 ? "\n" : "  \r\n");
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/b.txt", dir);  // no final newline
    f = fopen(path, "w");
    fprintf(f, "the cat walked\n\nthe dogs jumping on the mat");
    fclose(f);
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    CHECK(os_tokenizer_load(path, NULL, &tok) == OS_OK);
}

// group_texts from whole files in memory: the oracle.
static int32_t *oracle_blocks(char *const *files, int n_files, int L, size_t *n_blocks) {
    size_t cap = 1 << 16, n = 0;
    int32_t *all = malloc(cap * sizeof *all);
    os_encoding enc;
    os_encoding_init(&enc);
    for (int fi = 0; fi < n_files; fi++) {
        char *text;
        size_t len;
        CHECK(os_read_file(files[fi], &text, &len) == OS_OK);
        char *save, *line = strtok_r(text, "\n", &save);
        for (; line; line = strtok_r(NULL, "\n", &save)) {
            if (strspn(line, " \t\r") == strlen(line)) continue;
            CHECK(os_tokenizer_encode(tok, line, strlen(line), NULL, &enc) == OS_OK);
            for (int k = 0; k < enc.n; k++) {
                if (n == cap) all = realloc(all, (cap *= 2) * sizeof *all);
                all[n++] = enc.ids[k];
            }
        }
        free(text);
    }
    os_encoding_free(&enc);
    *n_blocks = n / (size_t)L;
    return all;
}

static void test_packing_matches_group_texts(void) {
    char a[700], b[700], out1[700], out2[700];
    snprintf(a, sizeof a, "%s/a.txt", dir);
    snprintf(b, sizeof b, "%s/b.txt", dir);
    snprintf(out1, sizeof out1, "%s/big.blocks", dir);
    snprintf(out2, sizeof out2, "%s/small.blocks", dir);
    char *files[] = {a, b};
    const int L = 32;
    os_corpus_stats s1, s2;
    os_corpus_options big = {1 << 20, 1 << 20}, small = {7, 1 << 20};
    CHECK(os_corpus_pack(tok, files, 2, L, &big, out1, &s1) == OS_OK);
    CHECK(os_corpus_pack(tok, files, 2, L, &small, out2, &s2) == OS_OK);
    size_t n_oracle;
    int32_t *want = oracle_blocks(files, 2, L, &n_oracle);
    CHECK_MSG(s1.n_blocks == n_oracle && s2.n_blocks == n_oracle, "%zu / %zu blocks, oracle %zu", s1.n_blocks,
              s2.n_blocks, n_oracle);
    CHECK(s1.n_lines == s2.n_lines && s1.n_tokens == n_oracle * L);
    os_block_file f1, f2;
    CHECK(os_block_file_open(&f1, out1, L) == OS_OK);
    CHECK(os_block_file_open(&f2, out2, L) == OS_OK);
    int32_t x[L], y[L];
    int same = 1;
    for (size_t i = 0; i < n_oracle; i++) {
        CHECK(os_block_file_read(&f1, i, x) == OS_OK && os_block_file_read(&f2, i, y) == OS_OK);
        same &= !memcmp(x, want + i * L, sizeof x) && !memcmp(y, x, sizeof x);
    }
    CHECK_MSG(same, "blocks differ from group_texts");
    CHECK(os_block_file_read(&f1, n_oracle, x) != OS_OK);  // out of range
    printf("  %zu lines -> %zu blocks of %d, %zu tokens dropped\n", s1.n_lines, s1.n_blocks, L, s1.dropped_tokens);
    os_block_file_close(&f1);
    os_block_file_close(&f2);
    // A block file of another block length, and a file that is not one, are refused.
    CHECK(os_block_file_open(&f1, out1, 16) == OS_ERR_INPUT);
    CHECK(os_block_file_open(&f1, a, L) == OS_ERR_INPUT);
    CHECK(os_block_file_open(&f1, "/nonexistent/x.blocks", L) == OS_ERR_IO);
    char *missing[] = {"/nonexistent/file.txt"};
    CHECK(os_corpus_pack(tok, missing, 1, L, NULL, out1, &s1) == OS_ERR_IO);
    free(want);
}

// A line longer than max_line_bytes is cut at a space: every piece still comes out, none is split.
static void test_long_lines_are_cut_at_spaces(void) {
    char a[700], out[700];
    snprintf(a, sizeof a, "%s/long.txt", dir);
    snprintf(out, sizeof out, "%s/long.blocks", dir);
    FILE *f = fopen(a, "w");
    for (int i = 0; i < 1000; i++) fprintf(f, "%s ", words[i % 10]);
    fclose(f);
    char *files[] = {a};
    os_corpus_options o = {64, 50};
    os_corpus_stats s;
    CHECK(os_corpus_pack(tok, files, 1, 8, &o, out, &s) == OS_OK);
    // Each cut piece is its own line: [CLS] words [SEP]; no [UNK] from a word cut in half.
    os_block_file bf;
    CHECK(os_block_file_open(&bf, out, 8) == OS_OK);
    size_t words_seen = 0, unk = 0;
    int32_t x[8];
    for (size_t i = 0; i < bf.n_blocks; i++) {
        os_block_file_read(&bf, i, x);
        for (int k = 0; k < 8; k++) {
            words_seen += x[k] >= 6;
            unk += x[k] == 1;
        }
    }
    CHECK(s.n_lines >= 4000 / 50);  // about 4.2 bytes per word, pieces of at most 50 bytes
    CHECK(unk == 0);
    CHECK(words_seen + 8 >= 1000 - 2 * s.n_lines);  // at most the dropped tail is missing
    os_block_file_close(&bf);
}

static void test_masking_rates_and_specials(void) {
    os_masker m;
    CHECK(os_masker_init(&m, tok, 0.15f, 0.8f, 0.1f, 0) == OS_OK);
    enum { N = 200000 };
    int32_t *ids = malloc(N * sizeof *ids), *orig = malloc(N * sizeof *orig), *lab = malloc(N * sizeof *lab);
    os_rng r;
    os_rng_seed(&r, 2);
    for (int i = 0; i < N; i++) orig[i] = ids[i] = i % 10 == 0 ? 2 + (int32_t)os_rng_below(&r, 2) : 5 + (int32_t)os_rng_below(&r, 14);
    int sel = os_masker_apply(&m, ids, lab, N, 77);
    long n_special = 0, masked = 0, random_or_kept_changed = 0, kept = 0, special_touched = 0, wrong_label = 0;
    for (int i = 0; i < N; i++) {
        if (orig[i] == 2 || orig[i] == 3) {
            n_special++;
            special_touched += lab[i] != -100 || ids[i] != orig[i];
            continue;
        }
        if (lab[i] == -100) {
            wrong_label += ids[i] != orig[i];
            continue;
        }
        wrong_label += lab[i] != orig[i];
        if (ids[i] == m.mask_id) masked++;
        else if (ids[i] == orig[i]) kept++;
        else random_or_kept_changed++;
    }
    double rate = (double)sel / (double)(N - n_special);
    printf("  selected %.4f of non-special tokens: [MASK] %.3f, random %.3f, kept %.3f\n", rate,
           (double)masked / sel, (double)random_or_kept_changed / sel, (double)kept / sel);
    CHECK(fabs(rate - 0.15) < 0.005);
    CHECK(fabs((double)masked / sel - 0.8) < 0.01);
    // "kept" includes random draws that hit the original id (1/vocab of the random ones).
    CHECK(fabs((double)random_or_kept_changed / sel - 0.1 * (1 - 1.0 / 22)) < 0.01);
    CHECK(fabs((double)kept / sel - (0.1 + 0.1 / 22)) < 0.01);
    CHECK(special_touched == 0 && wrong_label == 0);
    // Deterministic per seed, different across seeds.
    int32_t *ids2 = malloc(N * sizeof *ids2), *lab2 = malloc(N * sizeof *lab2);
    memcpy(ids2, orig, N * sizeof *ids2);
    os_masker_apply(&m, ids2, lab2, N, 77);
    CHECK(!memcmp(ids, ids2, N * sizeof *ids) && !memcmp(lab, lab2, N * sizeof *lab));
    memcpy(ids2, orig, N * sizeof *ids2);
    os_masker_apply(&m, ids2, lab2, N, 78);
    CHECK(memcmp(lab, lab2, N * sizeof *lab) != 0);
    free(ids);
    free(orig);
    free(lab);
    free(ids2);
    free(lab2);
    os_masker_free(&m);
}

static void test_whole_word_masking(void) {
    os_masker m;
    CHECK(os_masker_init(&m, tok, 0.3f, 0.8f, 0.1f, 1) == OS_OK);
    enum { N = 20000 };
    int32_t ids[N], orig[N], lab[N];
    os_rng r;
    os_rng_seed(&r, 3);
    const int32_t cont0 = os_tokenizer_token_to_id(tok, "##s");
    for (int i = 0; i < N; i++) {  // words of 1-3 pieces: a word id then "##" pieces
        int32_t id = i % 50 == 0 ? 3 : (i % 50 > 1 && os_rng_below(&r, 2)) ? cont0 + (int32_t)os_rng_below(&r, 3)
                                                                            : 6 + (int32_t)os_rng_below(&r, 10);
        orig[i] = ids[i] = id;
    }
    os_masker_apply(&m, ids, lab, N, 5);
    long n_words = 0, selected_words = 0, split_words = 0;
    for (int i = 0; i < N;) {
        if (m.special[orig[i]]) {
            i++;
            continue;
        }
        int j = i + 1;
        while (j < N && m.continuation[orig[j]]) j++;
        int n_sel = 0;
        for (int k = i; k < j; k++) n_sel += lab[k] != -100;
        n_words++;
        selected_words += n_sel > 0;
        split_words += n_sel > 0 && n_sel < j - i;
        i = j;
    }
    printf("  whole words: %ld of %ld selected (%.3f), %ld split\n", selected_words, n_words,
           (double)selected_words / n_words, split_words);
    CHECK(split_words == 0);
    CHECK(fabs((double)selected_words / n_words - 0.3) < 0.03);
    os_masker_free(&m);
}

static void test_masker_needs_mask_token(void) {
    char path[700];
    snprintf(path, sizeof path, "%s/nomask.txt", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n");
    fclose(f);
    os_tokenizer *t;
    CHECK(os_tokenizer_load(path, NULL, &t) == OS_OK);
    os_masker m;
    CHECK(os_masker_init(&m, t, 0.15f, 0.8f, 0.1f, 0) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "[MASK]") != NULL);
    os_tokenizer_free(t);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/pretrain_data", th_tmpdir());
    os_mkdirs(dir);
    write_fixture();
    RUN(test_packing_matches_group_texts);
    RUN(test_long_lines_are_cut_at_spaces);
    RUN(test_masking_rates_and_specials);
    RUN(test_whole_word_masking);
    RUN(test_masker_needs_mask_token);
    os_tokenizer_free(tok);
    return th_finish();
}
