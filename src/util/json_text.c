#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util/json_text.h"

json_t *os_json_string_lossy(const char *s, size_t len) {
    json_t *j = json_stringn(s, len);  // fast path: already valid
    if (j) return j;
    char *buf = malloc(len * 3 + 1);  // each bad byte grows to the 3-byte U+FFFD at most
    if (!buf) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k > 0 && cp != 0) {
            memcpy(buf + o, s + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        } else {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    j = json_stringn(buf, o);
    free(buf);
    return j;
}
