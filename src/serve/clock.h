// Monotonic seconds, for latencies and batching deadlines.
#ifndef ONESTONE_SERVE_CLOCK_H
#define ONESTONE_SERVE_CLOCK_H
#include <time.h>

static inline double sv_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif
