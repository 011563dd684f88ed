#include <stdio.h>

#include "cli/commands.h"

#define ONESTONE_VERSION "0.1.0"

int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("onestone %s\n", ONESTONE_VERSION);
    return 0;
}
