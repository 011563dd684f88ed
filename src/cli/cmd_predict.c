// onestone predict MODEL_DIR: one text per stdin line -> one JSON object per stdout line, every task.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "onestone.h"

static const char *usage =
    "usage: onestone predict MODEL_DIR [--tasks A,B] [--logits] [--max-length N] [--batch-size N]\n"
    "\n"
    "Reads one text per line on stdin and writes one JSON object per line with every task's prediction,\n"
    "all tasks from one encoder pass. MODEL_DIR is a onestone model directory or an HF BERT directory\n"
    "(config.json + model.safetensors + vocab.txt).\n"
    "\n"
    "  --tasks A,B       only these tasks (default: all)\n"
    "  --logits          add raw logits: a vector per sequence-level task; for token-level tasks the word\n"
    "                    pieces and one vector per piece, [CLS] and [SEP] included\n"
    "  --max-length N    truncate texts to N pieces including [CLS]/[SEP] (default: the model's limit)\n"
    "  --batch-size N    texts per encoder pass (default 32; results do not depend on it beyond float\n"
    "                    rounding of padded batches)\n"
    "\n"
    "Output per task: {\"label\",\"score\"} (classification), {\"labels\",\"scores\"} (multi-label),\n"
    "{\"value\"} (regression), {\"words\": [{\"word\",\"start\",\"end\",\"label\"}]} (token tasks); see docs/predict.md.\n";

static int parse_int(const char *s, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v <= 0 || v > 1000000) return -1;
    *out = (int)v;
    return 0;
}

static int flush_batch(onestone_context *c, const char *tasks, char **lines, int n) {
    onestone_result *res;
    char err[1024];
    int rc = onestone_predict(c, (const char *const *)lines, n, tasks, &res, err, sizeof err);
    if (rc) {
        fprintf(stderr, "onestone predict: %s\n", err);
        return rc;
    }
    for (int i = 0; i < n; i++) {
        char *s = onestone_result_json(res, i);
        if (s) puts(s);
        free(s);
    }
    onestone_result_free(res);
    for (int i = 0; i < n; i++) free(lines[i]);
    fflush(stdout);
    return 0;
}

int cmd_predict(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir = NULL, *tasks = NULL;
    int with_logits = 0, max_length = 0, batch = 32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--logits")) with_logits = 1;
        else if (!strcmp(a, "--tasks") && i + 1 < argc) tasks = argv[++i];
        else if (!strcmp(a, "--max-length") && i + 1 < argc) {
            if (parse_int(argv[++i], &max_length)) {
                fprintf(stderr, "onestone predict: --max-length needs a positive integer, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--batch-size") && i + 1 < argc) {
            if (parse_int(argv[++i], &batch)) {
                fprintf(stderr, "onestone predict: --batch-size needs a positive integer, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "onestone predict: unknown or incomplete option '%s' (see onestone predict --help)\n", a);
            return 2;
        } else if (!dir) dir = a;
        else {
            fprintf(stderr, "onestone predict: unexpected argument '%s' (see onestone predict --help)\n", a);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "onestone predict: missing MODEL_DIR (see onestone predict --help)\n");
        return 2;
    }
    char err[1024];
    onestone_model *m = onestone_model_load(dir, err, sizeof err);
    onestone_context *c = m ? onestone_context_new(m, err, sizeof err) : NULL;
    if (!c) {
        fprintf(stderr, "onestone predict: %s\n", err);
        onestone_model_free(m);
        return onestone_last_error_code();
    }
    onestone_context_set_max_length(c, max_length);
    onestone_context_set_logits(c, with_logits);
    onestone_result *none;
    int rc = onestone_predict(c, NULL, 0, tasks, &none, err, sizeof err);  // checks --tasks before reading stdin
    onestone_result_free(none);
    if (rc) {
        fprintf(stderr, "onestone predict: %s\n", err);
        onestone_context_free(c);
        onestone_model_free(m);
        return rc;
    }
    char **lines = calloc((size_t)batch, sizeof(char *));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int n = 0;
    while (!rc && (len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        lines[n++] = strdup(line);
        if (n == batch) {
            rc = flush_batch(c, tasks, lines, n);
            n = 0;
        }
    }
    if (!rc && n) rc = flush_batch(c, tasks, lines, n);
    free(line);
    free(lines);
    onestone_context_free(c);
    onestone_model_free(m);
    return rc;
}
