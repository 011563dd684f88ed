// The CLI's subcommands. Each lives in its own cmd_*.c, parses its own options and returns an exit code
// (0 ok, otherwise an os_status from util/error.h: 2 usage, 3 bad input, 4 I/O, ...).
#ifndef ONESTONE_CLI_COMMANDS_H
#define ONESTONE_CLI_COMMANDS_H

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);  // argv[0] is the command name
} os_command;

// Prints the library's last error as one "onestone CMD: message" line and returns `code`.
int cli_report(const char *cmd, int code);
// True when argv holds -h or --help.
int cli_wants_help(int argc, char **argv);

int cmd_version(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_distill(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_affinity(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_export_data(int argc, char **argv);
#endif
