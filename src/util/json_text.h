// JSON strings from arbitrary bytes: JSON text must be valid UTF-8, user text may not be.
#ifndef ONESTONE_UTIL_JSON_TEXT_H
#define ONESTONE_UTIL_JSON_TEXT_H
#include <jansson.h>
#include <stddef.h>

// A JSON string of s[0..len); every byte that is not part of a valid UTF-8 sequence becomes U+FFFD.
json_t *os_json_string_lossy(const char *s, size_t len);
#endif
