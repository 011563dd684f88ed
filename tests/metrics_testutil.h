// Helpers for the metric tests: tests/ref/metrics_ref.py's pseudo-random generator and report checks.
#ifndef ONESTONE_TEST_METRICS_TESTUTIL_H
#define ONESTONE_TEST_METRICS_TESTUTIL_H
#include <string.h>

#include "harness.h"

#define MT_TOL 1e-12
#define MT_N(a) (sizeof(a) / sizeof((a)[0]))

// metrics_ref.py's Lcg.next(): glibc's old rand() recurrence, 15 bits per draw, so both draw the same cases.
static inline int mt_lcg_next(unsigned *s) {
    *s = (*s * 1103515245u + 12345u) & 0x7FFFFFFFu;
    return (int)(*s >> 16);
}

// Checks a formatted report: `len` (what the formatter returned) and the text in buf are want's. A function,
// not a macro, so the formatter has run before buf is read.
static inline void mt_check_text(size_t len, const char *buf, const char *want) {
    CHECK_MSG(strcmp(buf, want) == 0, "got:\n%s\nwanted:\n%s", buf, want);
    CHECK_MSG(len == strlen(want), "length %zu, wanted %zu", len, strlen(want));
}
#endif
