// onestone pretrain CONFIG.json --out RUN_DIR: masked-LM pretraining of the shared encoder on raw text.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/run_args.h"
#include "pretrain/pretrainer.h"

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
    cli_run_args a;
    if (cli_run_args_parse(&a, "pretrain", argc, argv)) {
        cli_run_args_free(&a);
        return 2;
    }
    os_pretrain_config cfg;
    os_status st = os_pretrain_config_load(&cfg, a.config, a.sets, a.n_sets);
    if (!st) {
        os_pretrain_opts o = {.run_dir = a.out, .resume = a.resume, .max_steps = a.max_steps, .quiet = a.quiet};
        st = os_pretrain(&cfg, &o);
    }
    if (!st) printf("model saved in %s/model; fine-tune it with model.init = \"%s\" in a training config\n", a.out, a.out);
    os_pretrain_config_free(&cfg);
    cli_run_args_free(&a);
    return st ? cli_report("pretrain", st) : 0;
}
