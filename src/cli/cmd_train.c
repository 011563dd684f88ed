// onestone train CONFIG.json --out RUN_DIR: joint multi-task training.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/run_args.h"
#include "train/trainer.h"

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
    cli_run_args a;
    if (cli_run_args_parse(&a, "train", argc, argv)) {
        cli_run_args_free(&a);
        return 2;
    }
    os_train_config cfg;
    os_runtime rt;
    memset(&rt, 0, sizeof rt);
    os_status st = os_train_config_load(&cfg, a.config, a.sets, a.n_sets);
    if (!st && json_object_get(cfg.root, "distill"))
        st = os_fail(OS_ERR_USAGE, "%s has a 'distill' section: run it with onestone distill", a.config);
    if (!st) st = os_runtime_build(&rt, &cfg, stderr);
    if (!st) {
        os_train_opts o = {.run_dir = a.out, .resume = a.resume, .max_steps = a.max_steps, .quiet = a.quiet};
        st = os_train(&rt, &o);
    }
    if (!st) printf("model saved in %s/best; try: echo \"some text\" | onestone predict %s/best\n", a.out, a.out);
    os_runtime_free(&rt);
    os_train_config_free(&cfg);
    cli_run_args_free(&a);
    return st ? cli_report("train", st) : 0;
}
