// onestone vocab train: builds a WordPiece vocabulary (vocab.txt) from raw text files.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "tokenizer/vocab_train.h"

static const char *HELP =
    "usage: onestone vocab train --size N --out VOCAB.txt [options] FILE...\n"
    "\n"
    "Builds a WordPiece vocabulary from raw text files (one vocab.txt token per line, ids = line numbers):\n"
    "[PAD] [UNK] [CLS] [SEP] [MASK], every character seen (as a word start and, where it occurs inside words,\n"
    "as ##c), then the most frequent adjacent pieces merged (BPE-style, the way HF's WordPieceTrainer works)\n"
    "until the vocabulary has N tokens or no pair is frequent enough. The text is normalised and split into\n"
    "words exactly as `onestone tokenize` does. Same input, options and seed: the same file, byte for byte.\n"
    "\n"
    "options:\n"
    "  --size N            vocabulary size, special tokens and characters included (required)\n"
    "  --out PATH          where to write vocab.txt (written atomically; required)\n"
    "  --lowercase         uncased vocabulary: lower-case and strip accents (the default)\n"
    "  --cased             keep case and accents\n"
    "  --min-frequency K   never merge a pair seen fewer than K times (default 2)\n"
    "  --seed S            orders pairs of equal frequency (default 0)\n"
    "\n"
    "exit: 0 ok, 2 usage, 3 bad input (e.g. N smaller than the alphabet), 4 unreadable files or unwritable --out\n";

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "onestone vocab: %s%s%s (see onestone vocab --help)\n", msg, arg ? " " : "", arg ? arg : "");
    return 2;
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out) {
    char *end;
    if (!s || !*s || *s == '-') return 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > max) return 0;
    *out = v;
    return 1;
}

int cmd_vocab(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(HELP, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "train")) return usage_error("expected the subcommand 'train'", NULL);
    os_vocab_train_options o = os_vocab_train_defaults();
    o.vocab_size = 0;
    const char *out = NULL;
    const char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0, rc = 0;
    if (!files) return fprintf(stderr, "onestone vocab: out of memory\n"), 5;
    for (int i = 2; i < argc && !rc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long v = 0;
        if (!strcmp(a, "--lowercase")) o.lowercase = 1;
        else if (!strcmp(a, "--cased")) o.lowercase = 0;
        else if (!strcmp(a, "--out")) {
            if (!next) rc = usage_error("missing value after", a);
            out = next;
            i++;
        } else if (!strcmp(a, "--size") || !strcmp(a, "--min-frequency") || !strcmp(a, "--seed")) {
            unsigned long long max = strcmp(a, "--seed") ? 100000000ull : ~0ull;
            if (!parse_u64(next, max, &v)) rc = usage_error("expected a non-negative integer after", a);
            else if (!strcmp(a, "--size")) o.vocab_size = (int32_t)v;
            else if (!strcmp(a, "--min-frequency")) o.min_frequency = (int32_t)v;
            else o.seed = v;
            i++;
        } else if (a[0] == '-' && a[1]) rc = usage_error("unknown option", a);
        else files[n_files++] = a;
    }
    if (!rc && !o.vocab_size) rc = usage_error("--size N is required", NULL);
    if (!rc && !out) rc = usage_error("--out PATH is required", NULL);
    if (!rc && !n_files) rc = usage_error("no input FILE given", NULL);
    if (!rc) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        os_vocab_train_stats s;
        os_status st = os_vocab_train(files, n_files, &o, out, &s);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (st) {
            rc = cli_report("vocab", st);
        } else {
            double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
            fprintf(stderr, "onestone vocab: %d tokens (%d characters, %d merges) from %lld words (%d distinct), "
                    "%.1f MB, in %.1f s -> %s\n", (int)s.vocab_size, (int)s.alphabet, (int)s.merges,
                    (long long)s.words, (int)s.unique_words, (double)s.bytes / 1e6, secs, out);
        }
    }
    free(files);
    return rc;
}
