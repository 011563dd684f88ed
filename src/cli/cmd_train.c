// onestone train CONFIG.json --out RUN_DIR: joint multi-task training.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "train/trainer.h"
#include "util/fileio.h"

static const char *usage =
    "usage: onestone train CONFIG.json --out RUN_DIR [--set PATH=VALUE]... [--seed N] [--max-steps N] [--quiet]\n"
    "       onestone train --resume --out RUN_DIR [--max-steps N]\n"
    "\n"
    "Trains one shared encoder with a head per task, jointly (docs/config.md describes CONFIG).\n"
    "\n"
    "  --out RUN_DIR        where the run goes: config.json (resolved), metrics.jsonl, best/ (the best model\n"
    "                       directory), checkpoint/ (for --resume), summary.json\n"
    "  --set PATH=VALUE     override a config value, e.g. --set training.batch_size=16,\n"
    "                       --set tasks.ner.loss_weight=2 (tasks by name or index); VALUE is JSON or a string\n"
    "  --seed N             same as --set seed=N\n"
    "  --max-steps N        stop after N optimizer steps (the LR schedule keeps the configured length)\n"
    "  --resume             continue RUN_DIR from its last checkpoint with its saved config; the result is\n"
    "                       bit-for-bit the same as an uninterrupted run\n"
    "  --quiet              no progress line\n";

int cmd_train(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *config = NULL, *out = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof(char *));
    char seed_buf[64];
    int n_sets = 0, resume = 0, quiet = 0;
    long max_steps = 0;
    for (int i = 1; i < argc; i++) {
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
                fprintf(stderr, "onestone train: --max-steps needs a positive integer, got '%s'\n", argv[i]);
                free(sets);
                return 2;
            }
        } else if (!strcmp(a, "--resume")) resume = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (a[0] == '-' || config) {
            fprintf(stderr, "onestone train: unexpected argument '%s' (see onestone train --help)\n", a);
            free(sets);
            return 2;
        } else config = a;
    }
    if (!out || (!config && !resume)) {
        fprintf(stderr, "onestone train: needs CONFIG.json and --out RUN_DIR (see onestone train --help)\n");
        free(sets);
        return 2;
    }
    char *saved = NULL;
    if (resume) {  // a resumed run uses the configuration it started with
        if (n_sets) {
            fprintf(stderr, "onestone train: --resume uses the run's saved config; --set/--seed cannot change it\n");
            free(sets);
            return 2;
        }
        saved = os_path_join(out, "config.json");
        config = saved;
    }
    os_train_config cfg;
    os_runtime rt;
    memset(&rt, 0, sizeof rt);
    os_status st = os_train_config_load(&cfg, config, sets, n_sets);
    if (!st && json_object_get(cfg.root, "distill"))
        st = os_fail(OS_ERR_USAGE, "%s has a 'distill' section: run it with onestone distill", config);
    if (!st) st = os_runtime_build(&rt, &cfg, stderr);
    if (!st) {
        os_train_opts o = {.run_dir = out, .resume = resume, .max_steps = max_steps, .quiet = quiet};
        st = os_train(&rt, &o);
    }
    if (!st) printf("model saved in %s/best; try: echo \"some text\" | onestone predict %s/best\n", out, out);
    os_runtime_free(&rt);
    os_train_config_free(&cfg);
    free(saved);
    free(sets);
    return st ? cli_report("train", st) : 0;
}
