// Tokenizer unit tests on small hand-made vocabularies (no data needed): UTF-8 rule, normalisation options,
// WordPiece limits, offsets and word ids, added tokens, truncation/padding, loading and saving, fuzzing.
#include <stdint.h>
#include <sys/stat.h>

#include "harness.h"
#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/fileio.h"
#include "util/rng.h"

static char tmp[1024];

static const char *VOCAB[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", ",", "!",
                              "un", "##aff", "##able", "a", "##a", "é", "e", "##e", "中", "σ", "ς", "ο", "##ς",
                              "##σ", "x", "##x", "y", "<", ">", "Hello", "café", "cafe", "<e1>", NULL};

static char *tmp_path(const char *name) { return tt_path(tmp, name); }

static void write_text(const char *path, const char *text) {
    CHECK(os_write_file_atomic(path, text, strlen(text)) == OS_OK);
}

static os_tokenizer *load_small(const os_tokenizer_options *o) {
    char text[1024] = "";
    for (int i = 0; VOCAB[i]; i++) {
        strcat(text, VOCAB[i]);
        strcat(text, "\n");
    }
    write_text(tmp_path("vocab.txt"), text);
    os_tokenizer *t = NULL;
    CHECK(os_tokenizer_load(tmp_path("vocab.txt"), o, &t) == OS_OK);
    return t;
}

// ids of the encoding as a string "2 5 8 3" for compact checks
static const char *ids_str(const os_encoding *e) {
    static char buf[4096];
    size_t n = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < e->n && n < sizeof buf - 16; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", i ? " " : "", (int)e->ids[i]);
    return buf;
}

static const char *enc(const os_tokenizer *t, const char *text, os_encoding *e) {
    CHECK(os_tokenizer_encode(t, text, strlen(text), NULL, e) == OS_OK);
    return ids_str(e);
}

#define CHECK_IDS(t, text, want)                                                              \
    do {                                                                                      \
        const char *got_ = enc(t, text, &e);                                                  \
        CHECK_MSG(!strcmp(got_, want), "'%s': got [%s], want [%s]", text, got_, want);         \
    } while (0)

static void test_utf8_rule(void) {
    struct {
        const char *in;
        int n_chars;
    } cases[] = {
        {"abc", 3},          {"\xc3\xa9", 1},      {"\xff", 1},          {"\xc3", 1},      {"\xc3(", 2},
        {"\xe2\x82", 1},     {"\xe2\x82x", 2},     {"\xed\xa0\x80", 3},  {"\xf0\x9f\x98", 1}, {"\xf0\x9f\x98!", 2},
        {"\xf4\x90\x80\x80", 4}, {"\xc0\xaf", 2},  {"\x80\x80" "a", 3},   {"\xe0\x80\x80", 3}, {"\xf0\x9f\x98\x80", 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = strlen(cases[k].in);
        CHECK_MSG((int)os_utf8_count(cases[k].in, n) == cases[k].n_chars, "case %zu", k);
    }
    size_t i = 0;
    CHECK(os_utf8_next((const uint8_t *)"\xe2\x82x", 3, &i) == OS_UTF8_REPLACEMENT && i == 2);
    i = 0;
    CHECK(os_utf8_next((const uint8_t *)"\xf0\x9f\x98\x80", 4, &i) == 0x1F600 && i == 4);
    char buf[4];
    CHECK(os_utf8_put(0x10FFFF, buf) == 4 && os_utf8_put(0x7FF, buf) == 2 && os_utf8_put(0x800, buf) == 3);
}

static void test_basic(void) {
    os_tokenizer *t = load_small(NULL);
    if (!t) return;
    os_encoding e;
    os_encoding_init(&e);
    CHECK_IDS(t, "Hello, world!", "2 5 8 6 9 3");
    CHECK_IDS(t, "unaffable worlds", "2 10 11 12 6 7 3");
    CHECK_IDS(t, "", "2 3");
    CHECK_IDS(t, " \t\r\n ", "2 3");
    CHECK_IDS(t, "zzz", "2 1 3");                      // no piece matches: the whole word is [UNK]
    CHECK_IDS(t, "CAFÉ Café", "2 31 31 3");            // lower-cased and accents stripped
    CHECK_IDS(t, "ΟΣ σ Σ", "2 21 22 19 19 3");          // final sigma at a word end, not alone
    CHECK_IDS(t, "a中a", "2 13 18 13 3");               // CJK ideographs are words on their own
    CHECK_IDS(t, "a\x01" "a\xc2\x85" "a", "2 13 14 14 3");  // control characters vanish (U+0085 too)
    CHECK_IDS(t, "hello\xffworld", "2 1 3");           // invalid byte: U+FFFD, removed -> "helloworld"
    CHECK_IDS(t, "[CLS]hello[SEP]", "2 2 5 3 3");     // special tokens in text are never split
    CHECK_IDS(t, "[cls]", "2 1 1 1 3");               // ... but only exactly as written
    // offsets are bytes into the input; word ids count words from 0; specials get (0,0) and -1
    CHECK(os_tokenizer_encode(t, "é unaffable", 12, NULL, &e) == OS_OK);
    int32_t want_off[] = {0, 0, 0, 2, 3, 5, 5, 8, 8, 12, 0, 0};
    int32_t want_word[] = {-1, 0, 1, 1, 1, -1};
    CHECK(e.n == 6);
    for (int i = 0; i < 6 && e.n == 6; i++) {
        CHECK_MSG(e.offsets[2 * i] == want_off[2 * i] && e.offsets[2 * i + 1] == want_off[2 * i + 1], "offset %d", i);
        CHECK(e.word_ids[i] == want_word[i]);
        CHECK(e.attention_mask[i] == 1 && e.type_ids[i] == 0);
    }
    os_special_ids sp = os_tokenizer_special_ids(t);
    CHECK(sp.pad == 0 && sp.unk == 1 && sp.cls == 2 && sp.sep == 3 && sp.mask == 4);
    CHECK(os_tokenizer_token_to_id(t, "##able") == 12 && os_tokenizer_token_to_id(t, "nope") == -1);
    CHECK(!strcmp(os_tokenizer_id_to_token(t, 5), "hello") && os_tokenizer_id_to_token(t, 999) == NULL);
    CHECK(os_tokenizer_vocab_size(t) == 33);
    os_encoding_free(&e);
    os_tokenizer_free(t);
}

static void test_long_words(void) {
    os_tokenizer *t = load_small(NULL);
    if (!t) return;
    os_encoding e;
    os_encoding_init(&e);
    char word[256];
    memset(word, 'a', 100);
    word[100] = 0;
    CHECK(os_tokenizer_encode(t, word, 100, NULL, &e) == OS_OK && e.n == 102 && e.ids[1] == 13 && e.ids[100] == 14);
    memset(word, 'a', 101);
    word[101] = 0;
    CHECK_IDS(t, word, "2 1 3");                       // 101 characters: [UNK]
    CHECK(e.offsets[2] == 0 && e.offsets[3] == 101);
    char acc[512] = "";
    for (int i = 0; i < 101; i++) strcat(acc, "E\xcc\x81");  // 101 characters after stripping the 101 accents
    CHECK_IDS(t, acc, "2 1 3");
    os_encoding_free(&e);
    os_tokenizer_free(t);
}

static void test_options(void) {
    os_tokenizer_options o = os_tokenizer_options_default();
    o.lowercase = 0;  // cased: strip_accents follows lowercase (off)
    os_tokenizer *t = load_small(&o);
    os_encoding e;
    os_encoding_init(&e);
    if (t) {
        CHECK_IDS(t, "Hello hello", "2 29 5 3");
        CHECK_IDS(t, "café", "2 30 3");
        os_tokenizer_free(t);
    }
    o.lowercase = 1;
    o.strip_accents = 0;
    if ((t = load_small(&o))) {
        CHECK_IDS(t, "CAFÉ", "2 30 3");
        os_tokenizer_free(t);
    }
    o = os_tokenizer_options_default();
    o.tokenize_chinese_chars = 0;
    if ((t = load_small(&o))) {
        CHECK_IDS(t, "a中a", "2 1 3");
        os_tokenizer_free(t);
    }
    os_encoding_free(&e);
}

static void test_added_tokens_and_save(void) {
    os_tokenizer *t = load_small(NULL);
    if (!t) return;
    os_encoding e;
    os_encoding_init(&e);
    CHECK_IDS(t, "x<e1>y", "2 24 27 1 28 26 3");  // "<e1>" is in the vocabulary but not special yet: split
    int32_t id = -1, id2 = -1;
    CHECK(os_tokenizer_add_special_token(t, "<e1>", &id) == OS_OK && id == 32);  // existing token keeps its id
    CHECK(os_tokenizer_add_special_token(t, "</e1>", &id2) == OS_OK && id2 == 33);  // new: appended
    CHECK(os_tokenizer_vocab_size(t) == 34);
    CHECK_IDS(t, "x<e1>y</e1>", "2 24 32 26 33 3");
    CHECK(e.word_ids[2] == 1 && e.offsets[4] == 1 && e.offsets[5] == 5);
    char *dir = tmp_path("model_dir");
    CHECK(os_tokenizer_save(t, dir) == OS_OK);
    os_tokenizer *u = NULL;
    CHECK(os_tokenizer_load(dir, NULL, &u) == OS_OK);  // prefers the tokenizer.json just written
    if (u) {
        CHECK(os_tokenizer_vocab_size(u) == 34);
        CHECK_IDS(u, "x<e1>y</e1>", "2 24 32 26 33 3");
        os_tokenizer_free(u);
    }
    char path[4300];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    CHECK(os_tokenizer_load(path, NULL, &u) == OS_OK);  // vocab.txt alone keeps ids but not the added tokens
    if (u) {
        CHECK(os_tokenizer_token_to_id(u, "</e1>") == 33);
        os_tokenizer_free(u);
    }
    os_encoding_free(&e);
    os_tokenizer_free(t);
}

static void test_truncation_padding(void) {
    os_tokenizer *t = load_small(NULL);
    if (!t) return;
    os_encoding e;
    os_encoding_init(&e);
    os_encode_options o = os_encode_options_default();
    const char *a = "a a a a a a", *b = "x x";
    CHECK(os_tokenizer_encode_pair(t, a, strlen(a), b, strlen(b), &o, &e) == OS_OK);
    CHECK(!strcmp(ids_str(&e), "2 13 13 13 13 13 13 3 24 24 3"));
    CHECK(e.type_ids[7] == 0 && e.type_ids[8] == 1 && e.type_ids[10] == 1 && e.sequence_ids[8] == 1);
    o.max_length = 7;  // room 4: the longer first sequence absorbs the cut
    CHECK(os_tokenizer_encode_pair(t, a, strlen(a), b, strlen(b), &o, &e) == OS_OK);
    CHECK(!strcmp(ids_str(&e), "2 13 13 3 24 24 3") && e.n_truncated == 4);
    o.truncation = OS_TRUNCATE_ONLY_SECOND;  // the second has 2 pieces, 4 must go
    CHECK(os_tokenizer_encode_pair(t, a, strlen(a), b, strlen(b), &o, &e) == OS_ERR_INPUT && e.n == 0);
    CHECK(strstr(os_last_error(), "max_length 4") != NULL);
    CHECK(os_tokenizer_encode(t, a, strlen(a), &o, &e) == OS_ERR_INPUT);  // only_second needs a pair
    o.truncation = OS_TRUNCATE_NONE;
    CHECK(os_tokenizer_encode(t, a, strlen(a), &o, &e) == OS_OK && e.n == 8);
    o = os_encode_options_default();
    o.max_length = 6;
    o.pad_to_max_length = 1;
    CHECK(os_tokenizer_encode(t, "a", 1, &o, &e) == OS_OK && !strcmp(ids_str(&e), "2 13 3 0 0 0"));
    CHECK(e.attention_mask[2] == 1 && e.attention_mask[3] == 0 && e.word_ids[4] == -1 && e.sequence_ids[5] == -1);
    o.pad_to_max_length = 0;
    o.max_length = 0;
    o.pad_to_multiple_of = 4;
    CHECK(os_tokenizer_encode(t, "a a", 3, &o, &e) == OS_OK && e.n == 4);
    CHECK(os_tokenizer_encode(t, "a a a", 5, &o, &e) == OS_OK && e.n == 8);
    o = os_encode_options_default();
    o.add_special_tokens = 0;
    CHECK(os_tokenizer_encode(t, "a", 1, &o, &e) == OS_OK && !strcmp(ids_str(&e), "13"));
    os_encoding_free(&e);
    os_tokenizer_free(t);
}

static void test_words(void) {
    os_tokenizer *t = load_small(NULL);
    if (!t) return;
    os_encoding e;
    os_encoding_init(&e);
    const char *words[] = {"Hello", "worlds!", "", "zz"};
    CHECK(os_tokenizer_encode_words(t, words, NULL, 4, NULL, &e) == OS_OK);
    CHECK(!strcmp(ids_str(&e), "2 5 6 7 9 1 3"));
    int32_t want_word[] = {-1, 0, 1, 1, 1, 3, -1};
    for (int i = 0; i < 7 && e.n == 7; i++) CHECK(e.word_ids[i] == want_word[i]);
    CHECK(e.offsets[6] == 5 && e.offsets[7] == 6 && e.offsets[10] == 0 && e.offsets[11] == 2);  // inside each word
    os_encoding_free(&e);
    os_tokenizer_free(t);
}

static void test_tokenizer_json(void) {
    char *dir = tmp_path("json_model");
    CHECK(os_mkdirs(dir) == OS_OK);
    char path[4300];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    remove(path);  // left by an earlier run
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    write_text(path,
               "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},{\"id\":5,\"content\":\"<ent>\","
               "\"special\":true}],\"normalizer\":{\"type\":\"BertNormalizer\",\"lowercase\":false,\"strip_accents\":null,"
               "\"clean_text\":true,\"handle_chinese_chars\":true},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
               "\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"</s>\",2],\"cls\":[\"<s>\",1]},"
               "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"<unk>\",\"continuing_subword_prefix\":\"@@\","
               "\"max_input_chars_per_word\":5,\"vocab\":{\"<unk>\":0,\"<s>\":1,\"</s>\":2,\"Ab\":3,\"@@c\":4}}}");
    os_tokenizer *t = NULL;
    CHECK(os_tokenizer_load(dir, NULL, &t) == OS_OK);
    os_encoding e;
    os_encoding_init(&e);
    if (t) {
        CHECK_IDS(t, "Abc ab<ent>Abcccc", "1 3 4 0 5 0 2");  // cased; "@@" prefix; 6 characters > 5: unknown
        os_tokenizer_free(t);
    }
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    write_text(path, "{\"do_lower_case\": true}");  // HF applies the config's flag over tokenizer.json
    CHECK(os_tokenizer_load(dir, NULL, &t) == OS_OK);
    if (t) {
        CHECK_IDS(t, "Abc", "1 0 2");
        os_tokenizer_free(t);
    }
    struct {
        const char *json;
        const char *msg;
    } bad[] = {
        {"{", "bad.json:1"},
        {"{\"model\":{\"type\":\"BPE\"},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", "model.type 'BPE'"},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", "non-empty"},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":-3}},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", "valid id"},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}},\"pre_tokenizer\":{\"type\":\"Metaspace\"}}", "Metaspace"},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}},\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"}}", "unknown token"},
    };
    snprintf(path, sizeof path, "%s/bad.json", tmp);
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        write_text(path, bad[k].json);
        t = NULL;
        os_status st = os_tokenizer_load(path, NULL, &t);
        CHECK_MSG(st == OS_ERR_INPUT && t == NULL && strstr(os_last_error(), bad[k].msg), "bad json %zu: %s", k,
                  os_last_error());
    }
    CHECK(os_tokenizer_load(tmp_path("missing_dir/vocab.txt"), NULL, &t) == OS_ERR_IO);
    CHECK(os_mkdirs(tmp_path("empty_dir")) == OS_OK);
    CHECK(os_tokenizer_load(tmp_path("empty_dir"), NULL, &t) == OS_ERR_IO);  // a directory without model files
    os_encoding_free(&e);
}

// Random bytes, biased towards UTF-8 lead/continuation bytes, specials and spaces: never fails, offsets sane.
static void test_fuzz(void) {
    os_tokenizer *t = load_small(NULL);
    if (!t) return;
    CHECK(os_tokenizer_add_special_token(t, "<e1>", NULL) == OS_OK);
    os_rng r;
    os_rng_seed(&r, 42);
    os_encoding e;
    os_encoding_init(&e);
    static const char pieces[][5] = {"a", " ", "\xc3", "\xa9", "\xe4", "\xb8", "\xad", "\xf0", "\x9f", "\xff", "\x80",
                                     "[SEP]", "<e1>", "\xce\xa3", ".", "\0", "\xcc\x81", "E", "\xed"};
    char text[600];
    int bad = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = 0, want = (size_t)os_rng_below(&r, 120);
        while (n < want) {
            const char *p = pieces[os_rng_below(&r, sizeof pieces / sizeof pieces[0])];
            size_t pl = p[0] ? strlen(p) : 1;
            memcpy(text + n, p, pl);
            n += pl;
        }
        os_encode_options o = os_encode_options_default();
        o.max_length = (int32_t)os_rng_below(&r, 3) * 16;
        o.pad_to_max_length = o.max_length > 0;
        if (os_tokenizer_encode_pair(t, text, n, text, n / 2, &o, &e) != OS_OK) {
            bad++;
            continue;
        }
        for (int32_t i = 0; i < e.n; i++) {
            int32_t s = e.offsets[2 * i], en = e.offsets[2 * i + 1];
            size_t lim = e.sequence_ids[i] == 1 ? n / 2 : n;
            if (s < 0 || en < s || (size_t)en > lim || e.ids[i] < 0 || e.ids[i] >= os_tokenizer_vocab_size(t)) bad++;
        }
    }
    CHECK_MSG(bad == 0, "%d fuzz failures", bad);
    os_encoding_free(&e);
    os_tokenizer_free(t);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "%s/tokenizer_unit", th_tmpdir());
    if (os_mkdirs(tmp) != OS_OK) return fprintf(stderr, "cannot create %s\n", tmp), 1;
    RUN(test_utf8_rule);
    RUN(test_basic);
    RUN(test_long_words);
    RUN(test_options);
    RUN(test_added_tokens_and_save);
    RUN(test_truncation_padding);
    RUN(test_words);
    RUN(test_tokenizer_json);
    RUN(test_fuzz);
    return th_finish();
}
