// Tag parsing, chunk reading (conlleval's rules, seqeval's E-/S- extension) and scheme conversion.
#include "harness.h"
#include "metrics_testutil.h"
#include "metrics/tag_scheme.h"

typedef struct {
    const char *type;
    size_t start, end;
} want_chunk;

// Reads tags' chunks and compares them with want (n_want entries).
static int chunks_are(const char *const *tags, size_t len, const want_chunk *want, size_t n_want) {
    os_chunk got[32];
    size_t n = 0;
    if (os_chunks_extract(tags, len, got, &n) != OS_OK || n != n_want) return 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(got[i].type, want[i].type) || got[i].start != want[i].start || got[i].end != want[i].end)
            return 0;
    return 1;
}

// conlleval's edge cases; each expectation follows startOfChunk/endOfChunk by hand (and conlleval agrees).
static void test_conlleval_chunk_rules(void) {
    // IOB1: B- separates two adjacent same-type chunks.
    const char *iob1[] = {"I-PER", "I-PER", "B-PER", "O"};
    const want_chunk w1[] = {{"PER", 0, 1}, {"PER", 2, 2}};
    CHECK(chunks_are(iob1, MT_N(iob1), w1, MT_N(w1)));
    // I- after O starts a chunk (IOB1's normal start, an error in IOB2 that conlleval still reads).
    const char *io[] = {"O", "I-LOC", "I-LOC", "O"};
    const want_chunk w2[] = {{"LOC", 1, 2}};
    CHECK(chunks_are(io, MT_N(io), w2, MT_N(w2)));
    // A type change mid-chunk ends one chunk and starts another.
    const char *change[] = {"B-PER", "I-PER", "I-LOC", "I-LOC"};
    const want_chunk w3[] = {{"PER", 0, 1}, {"LOC", 2, 3}};
    CHECK(chunks_are(change, MT_N(change), w3, MT_N(w3)));
    // A chunk running to the end of the sentence is closed there.
    const char *end[] = {"O", "B-ORG", "I-ORG"};
    const want_chunk w4[] = {{"ORG", 1, 2}};
    CHECK(chunks_are(end, MT_N(end), w4, MT_N(w4)));
    // B- B- of one type: two chunks. Types may contain '-'.
    const char *bb[] = {"B-ORG-X", "B-ORG-X"};
    const want_chunk w5[] = {{"ORG-X", 0, 0}, {"ORG-X", 1, 1}};
    CHECK(chunks_are(bb, MT_N(bb), w5, MT_N(w5)));
    const char *none[] = {"O", "O"};
    CHECK(chunks_are(none, MT_N(none), NULL, 0));
    CHECK(chunks_are(none, 0, NULL, 0));
}

// seqeval's default-mode rules for E- and S-.
static void test_bioes_chunk_rules(void) {
    const char *t[] = {"B-PER", "E-PER", "S-PER", "B-LOC", "I-LOC",
                       "E-LOC", "S-LOC", "I-LOC", "E-PER", "E-PER"};
    // S- after E- and B- after S- start chunks; I- after S- starts one; E- after E- starts one.
    const want_chunk w[] = {{"PER", 0, 1}, {"PER", 2, 2}, {"LOC", 3, 5}, {"LOC", 6, 6},
                            {"LOC", 7, 7}, {"PER", 8, 8}, {"PER", 9, 9}};
    CHECK(chunks_are(t, MT_N(t), w, MT_N(w)));
}

static void test_bad_tags(void) {
    os_tag tag;
    CHECK(os_tag_parse("B-PER", &tag) == OS_OK && tag.prefix == 'B' && !strcmp(tag.type, "PER"));
    CHECK(os_tag_parse("O", &tag) == OS_OK && tag.prefix == 'O' && !strcmp(tag.type, ""));
    const char *bad[] = {"B-", "X-PER", "PER", "o", "", "B", "BPER", "O-PER"};
    for (size_t i = 0; i < MT_N(bad); i++)
        CHECK_MSG(os_tag_parse(bad[i], &tag) == OS_ERR_INPUT, "%s", bad[i]);
    const char *seq[] = {"O", "B-PER", "I_PER"};
    os_chunk out[3];
    size_t n;
    CHECK(os_chunks_extract(seq, 3, out, &n) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "'I_PER' at token 2") != NULL);
    os_tag_scheme s;
    CHECK(os_tag_scheme_parse("BIO", &s) == 0 && s == OS_SCHEME_IOB2);
    CHECK(os_tag_scheme_parse("iobes", &s) == 0 && s == OS_SCHEME_BIOES);
    CHECK(os_tag_scheme_parse("iob1", &s) == 0 && s == OS_SCHEME_IOB1);
    CHECK(os_tag_scheme_parse("bilou", &s) == -1);
    CHECK(!strcmp(os_tag_scheme_name(OS_SCHEME_BIOES), "bioes"));
}

static int tags_are(char **got, const char *const *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(got[i], want[i])) return 0;
    return 1;
}

// IOB1 -> IOB2 -> BIOES -> IOB2 -> IOB1, each step spelled out by hand.
static void test_conversions(void) {
    const char *iob1[] = {"I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG", "I-ORG"};
    const char *iob2[] = {"B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "I-ORG"};
    const char *bioes[] = {"B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "I-ORG", "E-ORG"};
    enum { L = MT_N(iob1) };
    char *a[L], *b[L], *c[L], *d[L];
    CHECK(os_tags_convert(iob1, L, OS_SCHEME_IOB2, a) == OS_OK);
    CHECK(tags_are(a, iob2, L));
    CHECK(os_tags_convert((const char *const *)a, L, OS_SCHEME_BIOES, b) == OS_OK);
    CHECK(tags_are(b, bioes, L));
    CHECK(os_tags_convert((const char *const *)b, L, OS_SCHEME_IOB2, c) == OS_OK);
    CHECK(tags_are(c, iob2, L));
    CHECK(os_tags_convert((const char *const *)c, L, OS_SCHEME_IOB1, d) == OS_OK);
    CHECK(tags_are(d, iob1, L));
    os_tags_free(a, L);
    os_tags_free(b, L);
    os_tags_free(c, L);
    os_tags_free(d, L);

    // Ill-formed input is converted as conlleval reads it: "O I-X" becomes "O B-X", an E- that does not end
    // its chunk's run ("E-X I-X") leaves two chunks.
    const char *odd[] = {"O", "I-X", "E-X", "I-X", "I-Y"};
    const char *odd_bio[] = {"O", "B-X", "I-X", "B-X", "B-Y"};
    char *e[MT_N(odd)];
    CHECK(os_tags_convert(odd, MT_N(odd), OS_SCHEME_IOB2, e) == OS_OK);
    CHECK(tags_are(e, odd_bio, MT_N(odd)));
    os_tags_free(e, MT_N(odd));

    // A malformed tag converts nothing and leaves no strings behind.
    const char *bad[] = {"B-X", "Q-X"};
    char *f[2];
    CHECK(os_tags_convert(bad, 2, OS_SCHEME_BIOES, f) == OS_ERR_INPUT);
    CHECK(f[0] == NULL && f[1] == NULL);
}

int main(void) {
    RUN(test_conlleval_chunk_rules);
    RUN(test_bioes_chunk_rules);
    RUN(test_bad_tags);
    RUN(test_conversions);
    return th_finish();
}
