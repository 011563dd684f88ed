// Helpers for the dataset tests: scratch files and error-message checks.
#ifndef ONESTONE_TEST_DATA_TESTUTIL_H
#define ONESTONE_TEST_DATA_TESTUTIL_H
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "util/error.h"
#include "util/fileio.h"

// Writes `len` bytes to ONESTONE_TMP/data_PID_NAME and returns the path (a static buffer per slot).
static inline const char *dt_write(const char *name, const char *data, size_t len) {
    static char paths[8][512];
    static int slot;
    char *p = paths[slot++ % 8];
    os_mkdirs(th_tmpdir());
    snprintf(p, 512, "%s/data_%d_%s", th_tmpdir(), (int)getpid(), name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len, f) != len) fprintf(stderr, "cannot write %s\n", p);
    if (f) fclose(f);
    return p;
}

static inline const char *dt_file(const char *name, const char *text) { return dt_write(name, text, strlen(text)); }

// Checks that a call failed with `code` and a one-line message containing each non-NULL `want` string.
// ONESTONE_TEST_VERBOSE=1 prints every message (to review their wording).
static inline void dt_check_fail(os_status st, os_status code, const char *call, const char *const *want,
                                 size_t n_want) {
    const char *msg = os_last_error();
    if (getenv("ONESTONE_TEST_VERBOSE")) printf("  message: %s\n", msg);
    CHECK_MSG(st == code, "%s returned %d, expected %d (%s)", call, (int)st, (int)code, msg);
    CHECK_MSG(strchr(msg, '\n') == NULL, "message of %s spans lines", call);
    for (size_t i = 0; i < n_want; i++)
        if (want[i]) CHECK_MSG(strstr(msg, want[i]) != NULL, "%s: message '%s' lacks '%s'", call, msg, want[i]);
}

#define DT_FAILS(call, code, ...)                                                       \
    do {                                                                                \
        os_clear_error();                                                               \
        os_status st_ = (call);                                                         \
        const char *const want_[] = {__VA_ARGS__};                                      \
        dt_check_fail(st_, code, #call, want_, sizeof want_ / sizeof *want_);           \
    } while (0)

// A malformed input: file name, content, and what the message must contain.
typedef struct {
    const char *file, *text;
    const char *want[3];
} dt_case;

// Runs READ(path, OPTS, &ds) on each case's file and expects OS_ERR_INPUT with the case's strings.
#define DT_BAD_CASES(cases, READ, OPTS)                                                            \
    for (size_t c_ = 0; c_ < sizeof(cases) / sizeof *(cases); c_++) {                              \
        os_dataset *ds_ = (os_dataset *)&c_;                                                       \
        DT_FAILS(READ(dt_file((cases)[c_].file, (cases)[c_].text), OPTS, &ds_), OS_ERR_INPUT,      \
                 (cases)[c_].want[0], (cases)[c_].want[1], (cases)[c_].want[2]);                   \
        CHECK(ds_ == NULL);                                                                        \
    }
#endif
