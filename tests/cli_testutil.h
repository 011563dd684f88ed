// Helpers for tests that run the onestone binary ($ONESTONE_BIN) in a scratch directory.
#ifndef ONESTONE_TESTS_CLI_TESTUTIL_H
#define ONESTONE_TESTS_CLI_TESTUTIL_H
#include <sys/wait.h>

#include "harness.h"
#include "util/fileio.h"

static char cli_dir[512];

// Runs "onestone ARGS" with stdout / stderr in DIR/out.txt and DIR/err.txt; returns the exit status.
static inline int cli_run(const char *args) {
    const char *bin = getenv("ONESTONE_BIN");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s > %s/out.txt 2> %s/err.txt", bin ? bin : "build/onestone", args, cli_dir, cli_dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// DIR/name's contents ("" when unreadable); the caller frees.
static inline char *cli_read(const char *name) {
    char path[1200], *data = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", cli_dir, name);
    if (os_read_file(path, &data, &len)) return strdup("");
    return data;
}

// True when DIR/a and DIR/b exist, are non-empty and byte for byte equal.
static inline int cli_same_file(const char *a, const char *b) {
    char pa[1200], pb[1200], *x, *y;
    size_t lx, ly;
    snprintf(pa, sizeof pa, "%s/%s", cli_dir, a);
    snprintf(pb, sizeof pb, "%s/%s", cli_dir, b);
    if (os_read_file(pa, &x, &lx)) return 0;
    if (os_read_file(pb, &y, &ly)) {
        free(x);
        return 0;
    }
    int same = lx == ly && lx > 0 && !memcmp(x, y, lx);
    free(x);
    free(y);
    return same;
}

// Runs ARGS and checks the exit code and that the last stderr line starts with "onestone CMD: " and holds
// `needle`.
static inline void cli_expect_error(const char *args, const char *cmd, int code, const char *needle) {
    int rc = cli_run(args);
    char *err = cli_read("err.txt"), prefix[64];
    size_t n = strlen(err);
    while (n && err[n - 1] == '\n') err[--n] = '\0';
    const char *last = strrchr(err, '\n') ? strrchr(err, '\n') + 1 : err;
    snprintf(prefix, sizeof prefix, "onestone %s: ", cmd);
    CHECK_MSG(rc == code, "'%s' exited %d, expected %d: %s", args, rc, code, last);
    CHECK_MSG(strstr(last, needle) != NULL, "'%s': message lacks '%s': %s", args, needle, last);
    CHECK_MSG(!strncmp(last, prefix, strlen(prefix)), "'%s': not a onestone error line: %s", args, last);
    free(err);
}
#endif
