// The tokenize and vocab commands end to end: output format, options, exit codes (2 usage, 3 input, 4 I/O).
#include <sys/wait.h>

#include "harness.h"
#include "test_tokenizer_util.h"
#include "util/fileio.h"

static char tmp[1024], bin[1024], vocab[1100];
static char *out_text, *err_text;

// Runs `onestone ARGS < stdin_text`, keeps stdout/stderr in out_text/err_text, returns the exit code.
static int run(const char *args, const char *stdin_text) {
    char in[1100], out[1100], err[1100], cmd[16384];
    snprintf(in, sizeof in, "%s/stdin.txt", tmp);
    snprintf(out, sizeof out, "%s/stdout.txt", tmp);
    snprintf(err, sizeof err, "%s/stderr.txt", tmp);
    CHECK(os_write_file_atomic(in, stdin_text, strlen(stdin_text)) == OS_OK);
    snprintf(cmd, sizeof cmd, "'%s' %s < '%s' > '%s' 2> '%s'", bin, args, in, out, err);
    int st = system(cmd);
    free(out_text);
    free(err_text);
    size_t n;
    if (os_read_file(out, &out_text, &n)) out_text = strdup("");
    if (os_read_file(err, &err_text, &n)) err_text = strdup("");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define CHECK_RUN(args, in, code, want_out)                                                                     \
    do {                                                                                                      \
        int rc_ = run(args, in);                                                                              \
        CHECK_MSG(rc_ == (code), "onestone %s: exit %d, want %d (stderr: %s)", args, rc_, code, err_text);    \
        CHECK_MSG(!(want_out) || !strcmp(out_text, (want_out) ? (want_out) : ""), "onestone %s: output %s", args, \
                  out_text);                                                                                  \
    } while (0)

static void test_tokenize(void) {
    char args[4096];
    CHECK_RUN("tokenize --help", "", 0, NULL);
    CHECK(strstr(out_text, "--pairs") && strstr(out_text, "--char-offsets") && strstr(out_text, "--bench"));
    CHECK_RUN("tokenize", "", 2, "");
    CHECK(strstr(err_text, "missing VOCAB_OR_MODEL_DIR") != NULL);
    snprintf(args, sizeof args, "tokenize '%s' --bogus", vocab);
    CHECK_RUN(args, "", 2, "");
    snprintf(args, sizeof args, "tokenize '%s' --max-length x", vocab);
    CHECK_RUN(args, "", 2, "");
    snprintf(args, sizeof args, "tokenize '%s' --pad", vocab);
    CHECK_RUN(args, "", 2, "");
    CHECK_RUN("tokenize /no/such/dir/vocab.txt", "x\n", 4, "");
    snprintf(args, sizeof args, "tokenize '%s'", vocab);
    CHECK_RUN(args, "Hello, world!\n\nzz \xff hello", 0, "[2,5,10,6,9,3]\n[2,3]\n[2,1,5,3]\n");
    snprintf(args, sizeof args, "tokenize '%s' --pieces --offsets --word-ids --type-ids", vocab);
    CHECK_RUN(args, "\xc3\xa9 \"x\n", 0,  // accents are stripped: "e" is unknown here; '"' is a word on its own
              "{\"ids\":[2,1,1,1,3],\"pieces\":[\"[CLS]\",\"[UNK]\",\"[UNK]\",\"[UNK]\",\"[SEP]\"],\"offsets\":[[0,0],"
              "[0,2],[3,4],[4,5],[0,0]],\"word_ids\":[null,0,1,2,null],\"type_ids\":[0,0,0,0,0],\"attention_mask\":"
              "[1,1,1,1,1]}\n");
    snprintf(args, sizeof args, "tokenize '%s' --char-offsets --cased --no-strip-accents", vocab);
    CHECK_RUN(args, "\xc3\xa9 hello\n", 0, "{\"ids\":[2,7,5,3],\"offsets\":[[0,0],[0,1],[2,7],[0,0]]}\n");
    snprintf(args, sizeof args, "tokenize '%s' --pairs --type-ids --max-length 5 --pad-multiple 4", vocab);
    CHECK_RUN(args, "hello hello hello\tworld\n", 0,
              "{\"ids\":[2,5,3,6,3,0,0,0],\"type_ids\":[0,0,0,1,1,0,0,0],\"attention_mask\":[1,1,1,1,1,0,0,0]}\n");
    snprintf(args, sizeof args, "tokenize '%s' --pairs", vocab);
    CHECK_RUN(args, "ok\tok\nno tab here\n", 3, "[2,1,3,1,3]\n");
    CHECK(strstr(err_text, "line 2") != NULL);
    snprintf(args, sizeof args, "tokenize '%s' --words --offsets --word-ids", vocab);
    CHECK_RUN(args, "hello worlds!\n", 0,
              "{\"ids\":[2,5,6,8,9,3],\"offsets\":[[0,0],[0,5],[0,5],[5,6],[6,7],[0,0]],\"word_ids\":[null,0,1,1,1,null]}\n");
    snprintf(args, sizeof args, "tokenize '%s' --add-special '<x>' --no-special-tokens", vocab);
    CHECK_RUN(args, "hello<x>world\n", 0, "[5,11,6]\n");
    snprintf(args, sizeof args, "tokenize '%s' --bench --repeat 2", vocab);
    CHECK_RUN(args, "hello world\nhello\n", 0, NULL);
    CHECK(strstr(out_text, "\"lines\":2,\"tokens\":7,\"repeat\":2") && strstr(out_text, "mb_per_s"));
}

static void test_vocab(void) {
    char args[4096], corpus[1100], out[1100];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", tmp);
    snprintf(out, sizeof out, "%s/trained.txt", tmp);
    const char *text = "the cat sat on the mat. the cat ate the rat! Thé end\nmat mat mat cat\n";
    CHECK(os_write_file_atomic(corpus, text, strlen(text)) == OS_OK);
    CHECK_RUN("vocab --help", "", 0, NULL);
    CHECK(strstr(out_text, "--min-frequency") && strstr(out_text, "--seed"));
    CHECK_RUN("vocab", "", 2, "");
    snprintf(args, sizeof args, "vocab train --out '%s' '%s'", out, corpus);
    CHECK_RUN(args, "", 2, "");
    CHECK(strstr(err_text, "--size") != NULL);
    snprintf(args, sizeof args, "vocab train --size 8 --out '%s' '%s'", out, corpus);
    CHECK_RUN(args, "", 3, "");
    snprintf(args, sizeof args, "vocab train --size 40 --out '%s' '%s/nope.txt'", out, tmp);
    CHECK_RUN(args, "", 4, "");
    snprintf(args, sizeof args, "vocab train --size 40 --min-frequency 2 --seed 3 --out '%s' '%s'", out, corpus);
    CHECK_RUN(args, "", 0, "");
    char *v;
    size_t n;
    CHECK(os_read_file(out, &v, &n) == OS_OK);
    if (!v) return;
    CHECK(!strncmp(v, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", 31) && strstr(v, "\nthe\n") && strstr(v, "\n##at\n"));
    CHECK(!strstr(v, "\nT\n"));  // uncased by default
    free(v);
    snprintf(args, sizeof args, "tokenize '%s' --pieces --no-special-tokens", out);
    CHECK_RUN(args, "The cat\n", 0, NULL);
    CHECK(strstr(out_text, "\"pieces\":[\"the\",\"cat\"]") != NULL);
}

// With the shared data: the CLI gives HF's ids for bert-base-uncased.
static void test_bert_vocab(void) {
    char path[1200], args[4096];
    snprintf(path, sizeof path, "%s", tt_data_path("vocab/bert-base-uncased/vocab.txt"));
    if (!os_path_exists(path)) {
        printf("SKIP bert-base-uncased CLI check: %s not found\n", path);
        return;
    }
    snprintf(args, sizeof args, "tokenize '%s'", path);
    CHECK_RUN(args, "Hello, World! caf\xc3\xa9 na\xc3\xafve\n", 0, "[101,7592,1010,2088,999,7668,15743,102]\n");
}

int main(void) {
    const char *b = getenv("ONESTONE_BIN");
    snprintf(bin, sizeof bin, "%s", b && *b ? b : "./onestone");
    snprintf(tmp, sizeof tmp, "%s/tokenizer_cli", th_tmpdir());
    if (os_mkdirs(tmp) != OS_OK) return fprintf(stderr, "cannot create %s\n", tmp), 1;
    snprintf(vocab, sizeof vocab, "%s/vocab.txt", tmp);
    const char *words = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n\xc3\xa9\n##s\n!\n,\n";
    CHECK(os_write_file_atomic(vocab, words, strlen(words)) == OS_OK);
    RUN(test_tokenize);
    RUN(test_vocab);
    RUN(test_bert_vocab);
    free(out_text);
    free(err_text);
    return th_finish();
}
