// Helpers shared by the tokenizer tests: scratch paths and the shared data folder.
#ifndef ONESTONE_TEST_TOKENIZER_UTIL_H
#define ONESTONE_TEST_TOKENIZER_UTIL_H
#include <stdio.h>
#include <stdlib.h>

// DIR/NAME in one of 16 rotating static buffers, so a few results can be alive at once.
static inline char *tt_path(const char *dir, const char *name) {
    static char buf[16][1200];
    static int k;
    k = (k + 1) % 16;
    int r = snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    if (r < 0 || (size_t)r >= sizeof buf[k]) buf[k][0] = 0;  // too long: reads as a missing file
    return buf[k];
}

// REL inside the shared data folder: $ONESTONE_DATA, else ../shared/data next to the repository ($ONESTONE_SRC).
static inline const char *tt_data_path(const char *rel) {
    static char buf[1200];
    const char *data = getenv("ONESTONE_DATA"), *src = getenv("ONESTONE_SRC");
    int r;
    if (data && *data)
        r = snprintf(buf, sizeof buf, "%s/%s", data, rel);
    else
        r = snprintf(buf, sizeof buf, "%s/../shared/data/%s", src && *src ? src : ".", rel);
    if (r < 0 || (size_t)r >= sizeof buf) buf[0] = 0;
    return buf;
}
#endif
