// Minimal test harness: CHECK records a failure and continues; the program exits non-zero if any failed.
#ifndef ONESTONE_TEST_HARNESS_H
#define ONESTONE_TEST_HARNESS_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_failures = 0;
static int th_checks = 0;

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        th_checks++;                                                                        \
        if (!(cond)) {                                                                      \
            th_failures++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                                   \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                \
    do {                                                                                    \
        th_checks++;                                                                        \
        if (!(cond)) {                                                                      \
            th_failures++;                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%g vs %g (tol %g)", \
                                        (double)(a), (double)(b), (double)(tol))

// Runs one test function and prints its name.
#define RUN(fn)                                                                             \
    do {                                                                                    \
        int before_ = th_failures;                                                          \
        fn();                                                                               \
        printf("%s %s\n", th_failures == before_ ? "ok  " : "FAIL", #fn);                   \
    } while (0)

// Ends main: prints a summary line and returns the exit status.
static inline int th_finish(void) {
    printf("%d checks, %d failed\n", th_checks, th_failures);
    return th_failures ? 1 : 0;
}

// Directory for scratch files (created by the caller as needed).
static inline const char *th_tmpdir(void) {
    const char *d = getenv("ONESTONE_TMP");
    return d && *d ? d : "/tmp";
}
#endif
