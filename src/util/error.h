// One-line user-facing errors: what went wrong, where (file:line, tensor or config field), what to do.
// Library functions set the message and return an os_status; only the CLI prints and exits.
#ifndef ONESTONE_UTIL_ERROR_H
#define ONESTONE_UTIL_ERROR_H

typedef enum {
    OS_OK = 0,
    OS_ERR_INTERNAL = 1,   // a bug in onestone (please report)
    OS_ERR_USAGE = 2,      // bad command line
    OS_ERR_INPUT = 3,      // bad config, data, checkpoint or request content
    OS_ERR_IO = 4,         // file missing / unreadable / unwritable
    OS_ERR_NOMEM = 5,      // allocation failed
    OS_ERR_NUMERIC = 6,    // non-finite loss or gradient
} os_status;

// Sets the thread's last error message (printf format) and returns `code` for `return os_fail(...)`.
os_status os_fail(os_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// The thread's last error message ("" when none).
const char *os_last_error(void);
// Clears the thread's last error message.
void os_clear_error(void);

// calloc that sets an error on failure (returns NULL then).
void *os_calloc(size_t n, size_t size);

#endif
