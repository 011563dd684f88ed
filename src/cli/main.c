// onestone: one shared encoder, many tasks. Dispatches to the subcommands in cmd_*.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "util/error.h"

static const os_command commands[] = {
    {"train", "train one shared encoder on several tasks from a JSON config", cmd_train},
    {"pretrain", "masked-LM pretraining of the encoder on raw text files", cmd_pretrain},
    {"eval", "metrics of one task of a model on a labelled file", cmd_eval},
    {"distill", "knowledge distillation: teachers -> a smaller student (docs/distill.md)", cmd_distill},
    {"predict", "run every task of a model on text lines from stdin (JSON lines out)", cmd_predict},
    {"quantize", "int8 copy of a model (encoder linears) for faster inference", cmd_quantize},
    {"prune", "magnitude or structured (heads, FFN units) pruning of a model, optional recovery fine-tune", cmd_prune},
    {"serve", "serve a model over HTTP (predict, health, metrics, a web page to try it)", cmd_serve},
    {"tokenize", "text lines on stdin -> BERT WordPiece token ids (HF-compatible)", cmd_tokenize},
    {"vocab", "train a WordPiece vocabulary from raw text files (vocab train)", cmd_vocab},
    {"affinity", "task-affinity matrices and a suggested task grouping of a training run", cmd_affinity},
    {"export-data", "the encoded data and initial model of a training config, for reference runs", cmd_export_data},
    {"version", "print the version", cmd_version},
};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

static void usage(FILE *out) {
    fprintf(out,
            "onestone - multi-task learning with one shared BERT encoder\n\n"
            "usage: onestone COMMAND [options]   (onestone COMMAND --help for details)\n\ncommands:\n");
    for (int i = 0; i < n_commands; i++) fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\nexit codes: 0 ok, 1 internal error, 2 usage error, 3 bad input (config, data, checkpoint),\n"
            "            4 I/O error, 5 out of memory, 6 non-finite loss or gradient\n");
}

int cli_report(const char *cmd, int code) {
    const char *msg = os_last_error();
    fprintf(stderr, "onestone %s: %s\n", cmd, *msg ? msg : "failed");
    return code;
}

int cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

// How long an idle OpenMP thread spins before it sleeps. libgomp's default (300,000 spins) steals the CPU from
// every other process, and from OpenBLAS's worker threads, on a small shared machine: measured 2.5-7x slower
// training with one other busy process on 2 cores. Never spinning (OMP_WAIT_POLICY=PASSIVE) pays a sleep and
// wake-up at each of the step's few hundred parallel regions: 5-10 % of a BERT-Mini step on an idle machine.
// 1,000 spins measured as fast as spinning when idle and as fast as PASSIVE beside a busy process
// (docs/performance.md). libgomp reads these variables when it loads, before main, so the setting is made and
// the program re-executed once. A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is respected.
static void prefer_short_spinning(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    setenv("GOMP_SPINCOUNT", "1000", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then run with libgomp's defaults
}

int main(int argc, char **argv) {
    prefer_short_spinning(argv);
    if (argc < 2) {
        usage(stderr);
        return OS_ERR_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (int i = 0; i < n_commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "onestone: unknown command '%s' (see onestone --help)\n", argv[1]);
    return OS_ERR_USAGE;
}
