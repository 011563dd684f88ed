// The command line shared by the commands that make a run directory (train, pretrain):
//   CONFIG.json --out RUN_DIR [--set PATH=VALUE]... [--seed N] [--max-steps N] [--quiet]
//   --resume --out RUN_DIR [--max-steps N]        (the run's saved RUN_DIR/config.json is used)
#ifndef ONESTONE_CLI_RUN_ARGS_H
#define ONESTONE_CLI_RUN_ARGS_H

typedef struct {
    const char *config;  // the config to load: CONFIG.json, or RUN_DIR/config.json with --resume
    const char *out;
    char **sets;         // --set / --seed assignments
    int n_sets, resume, quiet;
    long max_steps;      // 0 = none
    char seed_buf[64];
    char *saved;         // RUN_DIR/config.json (owned) with --resume
} cli_run_args;

// Parses argv (argv[0] = the command); on a usage error prints one "onestone CMD: ..." line and returns 2,
// else 0. Free with cli_run_args_free either way.
int cli_run_args_parse(cli_run_args *a, const char *cmd, int argc, char **argv);
void cli_run_args_free(cli_run_args *a);
#endif
