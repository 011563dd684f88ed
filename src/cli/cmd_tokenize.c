// onestone tokenize: text lines on stdin -> one JSON line of ids (or ids + pieces/offsets/...) per line.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

static const char *HELP =
    "usage: onestone tokenize VOCAB_OR_MODEL_DIR [options] < lines\n"
    "\n"
    "Reads one text per line on stdin (the newline is not part of the text) and prints, per line, a JSON array\n"
    "of the token ids with [CLS] ... [SEP] - the same as HF tokenizer.encode(text). VOCAB_OR_MODEL_DIR is a\n"
    "vocab.txt, a tokenizer.json, or a directory holding either (tokenizer.json preferred).\n"
    "\n"
    "input:\n"
    "  --pairs              each line is TEXT_A<TAB>TEXT_B, encoded as a pair (token_type_ids 0 / 1)\n"
    "  --words              each line is pre-split words separated by single spaces (HF is_split_into_words)\n"
    "output (any of these prints a JSON object per line instead of an array):\n"
    "  --pieces             the token strings\n"
    "  --offsets            start/end of every token: byte offsets into the line (into the word with --words)\n"
    "  --char-offsets       like --offsets but in characters (code points), as HF reports them\n"
    "  --word-ids           the word index of every token (null for [CLS]/[SEP]/[PAD])\n"
    "  --type-ids           token_type_ids and attention_mask\n"
    "encoding:\n"
    "  --max-length N       truncate to N tokens, special tokens included\n"
    "  --truncation S       longest_first (default), only_first, only_second or none\n"
    "  --pad                pad with [PAD] up to --max-length\n"
    "  --pad-multiple N     pad the length up to a multiple of N\n"
    "  --no-special-tokens  do not add [CLS]/[SEP]\n"
    "  --add-special TOKEN  register a token that is never split (e.g. <e1>); repeatable\n"
    "normalisation (default: from the model files; a bare vocab.txt is uncased):\n"
    "  --lowercase | --cased            lower-case the text or not\n"
    "  --strip-accents | --no-strip-accents   (default: same as lower-casing)\n"
    "  --no-chinese-chars   do not put spaces around CJK ideographs\n"
    "benchmark:\n"
    "  --bench              read all of stdin, then time encoding every line (ids only) and print one JSON\n"
    "                       object: bytes, lines, tokens, seconds, mb_per_s (MB = 10^6 bytes), single thread\n"
    "  --repeat R           with --bench: encode the input R times (default 3)\n"
    "\n"
    "Invalid UTF-8 never fails: each maximal invalid byte sequence reads as U+FFFD, which cleaning removes.\n"
    "exit: 0 ok, 2 usage, 3 bad input (e.g. a pair that cannot be truncated as asked), 4 unreadable files\n";

typedef struct {
    int pairs, words, pieces, offsets, char_offsets, word_ids, type_ids, bench, repeat;
    os_encode_options enc;
} opts;

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "onestone tokenize: %s%s%s (see onestone tokenize --help)\n", msg, arg ? " " : "", arg ? arg : "");
    return 2;
}

static int parse_int(const char *s, int min, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > 1000000000) return 0;
    *out = (int)v;
    return 1;
}

static void put_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_ints(FILE *f, const int32_t *v, int32_t n, int null_negative) {
    fputc('[', f);
    for (int32_t i = 0; i < n; i++) {
        if (i) fputc(',', f);
        if (null_negative && v[i] < 0)
            fputs("null", f);
        else
            fprintf(f, "%d", (int)v[i]);
    }
    fputc(']', f);
}

// Converts byte offsets to character offsets within text (a character = one decoded code point or one invalid
// sequence, as utf8.h decodes).
static int32_t char_index(const char *text, size_t len, int32_t byte) {
    return (int32_t)os_utf8_count(text, (size_t)byte < len ? (size_t)byte : len);
}

static void print_encoding(const os_tokenizer *t, const opts *o, const os_encoding *e, const char *const *texts,
                           const size_t *lens) {
    if (!o->pieces && !o->offsets && !o->word_ids && !o->type_ids) {
        put_ints(stdout, e->ids, e->n, 0);
        fputc('\n', stdout);
        return;
    }
    fputs("{\"ids\":", stdout);
    put_ints(stdout, e->ids, e->n, 0);
    if (o->pieces) {
        fputs(",\"pieces\":[", stdout);
        for (int32_t i = 0; i < e->n; i++) {
            if (i) fputc(',', stdout);
            const char *p = os_tokenizer_id_to_token(t, e->ids[i]);
            put_json_string(stdout, p ? p : "");
        }
        fputc(']', stdout);
    }
    if (o->offsets) {
        fputs(",\"offsets\":[", stdout);
        for (int32_t i = 0; i < e->n; i++) {
            int32_t s = e->offsets[2 * i], en = e->offsets[2 * i + 1];
            if (o->char_offsets && e->sequence_ids[i] >= 0) {
                int k = o->words ? e->word_ids[i] : e->sequence_ids[i];
                s = char_index(texts[k], lens[k], s);
                en = char_index(texts[k], lens[k], en);
            }
            fprintf(stdout, "%s[%d,%d]", i ? "," : "", (int)s, (int)en);
        }
        fputc(']', stdout);
    }
    if (o->word_ids) {
        fputs(",\"word_ids\":", stdout);
        put_ints(stdout, e->word_ids, e->n, 1);
    }
    if (o->type_ids) {
        fputs(",\"type_ids\":", stdout);
        put_ints(stdout, e->type_ids, e->n, 0);
        fputs(",\"attention_mask\":", stdout);
        put_ints(stdout, e->attention_mask, e->n, 0);
    }
    fputs("}\n", stdout);
}

// Encodes one line as the options say; texts/lens get the pieces of text offsets refer to (words or pair halves).
static os_status encode_line(const os_tokenizer *t, const opts *o, char *line, size_t len, os_encoding *e,
                             const char ***texts, size_t **lens, int32_t *cap) {
    int32_t n = o->pairs ? 2 : 1;
    if (o->words)
        for (size_t i = 0; i < len; i++) n += line[i] == ' ';
    if (n > *cap) {
        const char **tx = realloc(*texts, sizeof *tx * (size_t)n);
        if (tx) *texts = tx;
        size_t *ln = tx ? realloc(*lens, sizeof *ln * (size_t)n) : NULL;
        if (ln) *lens = ln;
        if (!ln) return os_fail(OS_ERR_NOMEM, "out of memory");
        *cap = n;
    }
    (*texts)[0] = line;
    (*lens)[0] = len;
    if (o->words) {
        int32_t k = 0;
        size_t start = 0;
        for (size_t i = 0; i <= len; i++)
            if (i == len || line[i] == ' ') {
                (*texts)[k] = line + start;
                (*lens)[k++] = i - start;
                start = i + 1;
            }
        return os_tokenizer_encode_words(t, *texts, *lens, k, &o->enc, e);
    }
    if (o->pairs) {
        char *tab = memchr(line, '\t', len);
        if (!tab) return os_fail(OS_ERR_INPUT, "--pairs: the line has no TAB between the two texts");
        (*lens)[0] = (size_t)(tab - line);
        (*texts)[1] = tab + 1;
        (*lens)[1] = len - (*lens)[0] - 1;
        return os_tokenizer_encode_pair(t, line, (*lens)[0], (*texts)[1], (*lens)[1], &o->enc, e);
    }
    return os_tokenizer_encode(t, line, len, &o->enc, e);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// --bench: the whole of stdin in memory, then only the encode calls are timed.
static int bench(const os_tokenizer *t, const opts *o) {
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, stdin)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    if (!buf) return fprintf(stderr, "onestone tokenize: out of memory reading stdin\n"), 5;
    os_encoding e;
    os_encoding_init(&e);
    long long lines = 0, tokens = 0;
    double t0 = now_s();
    for (int r = 0; r < o->repeat; r++) {
        for (size_t i = 0; i < len;) {
            const char *nl = memchr(buf + i, '\n', len - i);
            size_t end = nl ? (size_t)(nl - buf) : len;
            if (os_tokenizer_encode(t, buf + i, end - i, &o->enc, &e)) {
                free(buf);
                os_encoding_free(&e);
                return cli_report("tokenize", 3);
            }
            lines++;
            tokens += e.n;
            i = end + 1;
        }
    }
    double secs = now_s() - t0;
    printf("{\"bytes\":%zu,\"lines\":%lld,\"tokens\":%lld,\"repeat\":%d,\"seconds\":%.4f,\"mb_per_s\":%.2f}\n", len,
           lines / o->repeat, tokens / o->repeat, o->repeat, secs, secs > 0 ? (double)len * o->repeat / secs / 1e6 : 0.0);
    free(buf);
    os_encoding_free(&e);
    return 0;
}

int cmd_tokenize(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(HELP, stdout);
        return 0;
    }
    opts o = {0};
    o.repeat = 3;
    o.enc = os_encode_options_default();
    os_tokenizer_options to = os_tokenizer_options_default();
    const char *path = NULL;
    const char **specials = calloc((size_t)argc, sizeof *specials);
    int n_specials = 0, rc = 0;
    if (!specials) return fprintf(stderr, "onestone tokenize: out of memory\n"), 5;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int needs = !strcmp(a, "--max-length") || !strcmp(a, "--truncation") || !strcmp(a, "--pad-multiple") ||
                    !strcmp(a, "--add-special") || !strcmp(a, "--repeat");
        if (needs && !next) {
            rc = usage_error("missing value after", a);
            break;
        }
        int v;
        if (!strcmp(a, "--pairs")) o.pairs = 1;
        else if (!strcmp(a, "--words")) o.words = 1;
        else if (!strcmp(a, "--pieces")) o.pieces = 1;
        else if (!strcmp(a, "--offsets")) o.offsets = 1;
        else if (!strcmp(a, "--char-offsets")) o.offsets = o.char_offsets = 1;
        else if (!strcmp(a, "--word-ids")) o.word_ids = 1;
        else if (!strcmp(a, "--type-ids")) o.type_ids = 1;
        else if (!strcmp(a, "--pad")) o.enc.pad_to_max_length = 1;
        else if (!strcmp(a, "--no-special-tokens")) o.enc.add_special_tokens = 0;
        else if (!strcmp(a, "--lowercase")) to.lowercase = 1;
        else if (!strcmp(a, "--cased")) to.lowercase = 0;
        else if (!strcmp(a, "--strip-accents")) to.strip_accents = 1;
        else if (!strcmp(a, "--no-strip-accents")) to.strip_accents = 0;
        else if (!strcmp(a, "--no-chinese-chars")) to.tokenize_chinese_chars = 0;
        else if (!strcmp(a, "--bench")) o.bench = 1;
        else if (!strcmp(a, "--add-special")) specials[n_specials++] = argv[++i];
        else if (!strcmp(a, "--max-length") || !strcmp(a, "--pad-multiple") || !strcmp(a, "--repeat")) {
            if (!parse_int(next, 1, &v)) rc = usage_error("expected a positive integer after", a);
            else if (!strcmp(a, "--max-length")) o.enc.max_length = v;
            else if (!strcmp(a, "--pad-multiple")) o.enc.pad_to_multiple_of = v;
            else o.repeat = v;
            i++;
        } else if (!strcmp(a, "--truncation")) {
            static const char *names[] = {"longest_first", "only_first", "only_second", "none"};
            int k = 0;
            while (k < 4 && strcmp(next, names[k])) k++;
            if (k == 4) rc = usage_error("unknown --truncation", next);
            o.enc.truncation = (os_truncation)k;
            i++;
        } else if (a[0] == '-' && a[1]) rc = usage_error("unknown option", a);
        else if (path) rc = usage_error("more than one VOCAB_OR_MODEL_DIR:", a);
        else path = a;
    }
    if (!rc && !path) rc = usage_error("missing VOCAB_OR_MODEL_DIR", NULL);
    if (!rc && o.pairs && o.words) rc = usage_error("--pairs and --words cannot be combined", NULL);
    if (!rc && o.enc.pad_to_max_length && !o.enc.max_length) rc = usage_error("--pad needs --max-length", NULL);
    os_tokenizer *t = NULL;
    if (!rc) {
        os_status st = os_tokenizer_load(path, &to, &t);
        for (int k = 0; k < n_specials && !st; k++) st = os_tokenizer_add_special_token(t, specials[k], NULL);
        if (st) rc = cli_report("tokenize", st);
    }
    free(specials);
    if (rc) {
        os_tokenizer_free(t);
        return rc;
    }
    if (o.bench) {
        rc = bench(t, &o);
        os_tokenizer_free(t);
        return rc;
    }
    os_encoding e;
    os_encoding_init(&e);
    char *line = NULL;
    size_t line_cap = 0;
    const char **texts = NULL;
    size_t *lens = NULL;
    int32_t cap = 0;
    long long lineno = 0;
    ssize_t got;
    while ((got = getline(&line, &line_cap, stdin)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        os_status st = encode_line(t, &o, line, len, &e, &texts, &lens, &cap);
        if (st) {
            fprintf(stderr, "onestone tokenize: stdin line %lld: %s\n", lineno, os_last_error());
            rc = st == OS_ERR_NOMEM ? 5 : 3;
            break;
        }
        print_encoding(t, &o, &e, texts, lens);
    }
    if (!rc && fflush(stdout)) rc = (fprintf(stderr, "onestone tokenize: cannot write the output\n"), 4);
    free(line);
    free(texts);
    free(lens);
    os_encoding_free(&e);
    os_tokenizer_free(t);
    return rc;
}
