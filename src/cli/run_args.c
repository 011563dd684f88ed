#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run_args.h"
#include "util/fileio.h"

int cli_run_args_parse(cli_run_args *a, const char *cmd, int argc, char **argv) {
    memset(a, 0, sizeof *a);
    a->sets = calloc((size_t)argc + 1, sizeof(char *));
    if (!a->sets) return 2;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--out") && i + 1 < argc) a->out = argv[++i];
        else if (!strcmp(s, "--set") && i + 1 < argc) a->sets[a->n_sets++] = argv[++i];
        else if (!strcmp(s, "--seed") && i + 1 < argc) {
            snprintf(a->seed_buf, sizeof a->seed_buf, "seed=%s", argv[++i]);
            a->sets[a->n_sets++] = a->seed_buf;
        } else if (!strcmp(s, "--max-steps") && i + 1 < argc) {
            char *end;
            a->max_steps = strtol(argv[++i], &end, 10);
            if (*end || a->max_steps <= 0) {
                fprintf(stderr, "onestone %s: --max-steps needs a positive integer, got '%s'\n", cmd, argv[i]);
                return 2;
            }
        } else if (!strcmp(s, "--resume")) a->resume = 1;
        else if (!strcmp(s, "--quiet")) a->quiet = 1;
        else if (s[0] == '-' || a->config) {
            fprintf(stderr, "onestone %s: unexpected argument '%s' (see onestone %s --help)\n", cmd, s, cmd);
            return 2;
        } else a->config = s;
    }
    if (!a->out || (!a->config && !a->resume)) {
        fprintf(stderr, "onestone %s: needs CONFIG.json and --out RUN_DIR (see onestone %s --help)\n", cmd, cmd);
        return 2;
    }
    if (a->resume) {  // a resumed run uses the configuration it started with
        if (a->n_sets) {
            fprintf(stderr, "onestone %s: --resume uses the run's saved config; --set/--seed cannot change it\n", cmd);
            return 2;
        }
        a->saved = os_path_join(a->out, "config.json");
        a->config = a->saved;
    }
    return 0;
}

void cli_run_args_free(cli_run_args *a) {
    free(a->sets);
    free(a->saved);
    memset(a, 0, sizeof *a);
}
