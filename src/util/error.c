#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/error.h"

static _Thread_local char last_error[1024];

os_status os_fail(os_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    // Messages are one line by contract: fold any newline a caller's data smuggled in.
    for (char *p = last_error; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return code;
}

const char *os_last_error(void) { return last_error; }

void os_clear_error(void) { last_error[0] = '\0'; }

void *os_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) os_fail(OS_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}
