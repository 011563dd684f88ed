// Bearer-token access control: the token comes from a file or an environment variable, and requests are
// compared against it in constant time (no early exit on the first differing byte).
#ifndef ONESTONE_SERVE_AUTH_H
#define ONESTONE_SERVE_AUTH_H
#include <stddef.h>

// Reads the token: the first line of `file` (trailing whitespace dropped) when file is non-NULL, else the
// value of the environment variable `env`. Returns a malloc'd token, or NULL with a one-line message in err
// (missing/unreadable file, unset variable, an empty token or one with whitespace or control characters).
char *sv_token_load(const char *file, const char *env, char *err, size_t errlen);
// 1 when the Authorization header value is "Bearer " + token. header may be NULL.
int sv_token_check(const char *header, const char *token);
#endif
