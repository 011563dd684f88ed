// onestone pretrain CONFIG.json --out RUN_DIR: masked-LM pretraining of the shared encoder on raw text.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "pretrain/pretrainer.h"
#include "util/fileio.h"

static const char *usage =
    "usage: onestone pretrain CONFIG.json --out RUN_DIR [--set PATH=VALUE]... [--seed N] [--max-steps N] [--quiet]\n"
    "       onestone pretrain --resume --out RUN_DIR [--max-steps N]\n"
    "\n"
    "Masked-language-model pretraining of a BERT encoder on raw text files (docs/pretraining.md describes\n"
    "CONFIG). The result, RUN_DIR/model, is an HF BertForMaskedLM directory and a valid model.init for\n"
    "`onestone train`.\n"
    "\n"
    "  --out RUN_DIR        where the run goes: config.json (resolved), metrics.jsonl, train.blocks /\n"
    "                       dev.blocks (the packed corpus), model/ (latest model), checkpoint/, summary.json\n"
    "  --set PATH=VALUE     override a config value, e.g. --set training.batch_size=16\n"
    "  --seed N             same as --set seed=N\n"
    "  --max-steps N        stop after N optimizer steps (the LR schedule keeps the configured length)\n"
    "  --resume             continue RUN_DIR from its last checkpoint with its saved config; the result is\n"
    "                       bit-for-bit the same as an uninterrupted run\n"
    "  --quiet              no progress line\n";

int cmd_pretrain(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *config = NULL, *out = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof(char *));
    char seed_buf[64];
    int n_sets = 0, resume = 0, quiet = 0, bad = 0;
    long max_steps = 0;
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(a, "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            snprintf(seed_buf, sizeof seed_buf, "seed=%s", argv[++i]);
            sets[n_sets++] = seed_buf;
        } else if (!strcmp(a, "--max-steps") && i + 1 < argc) {
            char *end;
            max_steps = strtol(argv[++i], &end, 10);
            if (*end || max_steps <= 0) {
                fprintf(stderr, "onestone pretrain: --max-steps needs a positive integer, got '%s'\n", argv[i]);
                bad = 1;
            }
        } else if (!strcmp(a, "--resume")) resume = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (a[0] == '-' || config) {
            fprintf(stderr, "onestone pretrain: unexpected argument '%s' (see onestone pretrain --help)\n", a);
            bad = 1;
        } else config = a;
    }
    if (!bad && (!out || (!config && !resume))) {
        fprintf(stderr, "onestone pretrain: needs CONFIG.json and --out RUN_DIR (see onestone pretrain --help)\n");
        bad = 1;
    }
    if (!bad && resume && (n_sets || config)) {
        fprintf(stderr, "onestone pretrain: --resume uses the run's saved config; CONFIG, --set and --seed cannot change it\n");
        bad = 1;
    }
    if (bad) {
        free(sets);
        return 2;
    }
    char *saved = resume ? os_path_join(out, "config.json") : NULL;
    os_pretrain_config cfg;
    os_status st = os_pretrain_config_load(&cfg, resume ? saved : config, sets, n_sets);
    if (!st) {
        os_pretrain_opts o = {.run_dir = out, .resume = resume, .max_steps = max_steps, .quiet = quiet};
        st = os_pretrain(&cfg, &o);
    }
    if (!st) printf("model saved in %s/model; fine-tune it with model.init = \"%s/model\" in a training config\n", out, out);
    os_pretrain_config_free(&cfg);
    free(saved);
    free(sets);
    return st ? cli_report("pretrain", st) : 0;
}
