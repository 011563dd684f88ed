// onestone affinity RUN_DIR: the task-affinity matrices recorded during training and a suggested grouping.
#include <stdio.h>

#include "cli/commands.h"
#include "train/trainer_internal.h"

static const char *usage =
    "usage: onestone affinity RUN_DIR\n"
    "\n"
    "Prints the task-affinity matrices of a training run that had weighting.affinity_every > 0, averaged over\n"
    "its probes: the cosine similarity of the tasks' gradients on the shared encoder, and the lookahead affinity\n"
    "Z[i][j] = 1 - L_j(after a step on task i) / L_j(before) (Fifty et al. 2021), then the task grouping that\n"
    "maximises the mutual affinity inside groups. Also writes RUN_DIR/affinity.json (docs/weighting.md).\n";

int cmd_affinity(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 2) {
        fputs(usage, stderr);
        return 2;
    }
    os_status st = os_affinity_report(argv[1], stdout);
    return st ? cli_report("affinity", st) : 0;
}
