// UTF-8 decoding with one defined rule for invalid input: the WHATWG Encoding Standard's decoder (the one node,
// browsers and Python's "replace" error handler use). Each maximal invalid subsequence decodes to ONE U+FFFD and
// decoding resumes at the first byte that cannot continue it, so no valid character is ever swallowed.
#ifndef ONESTONE_TOKENIZER_UTF8_H
#define ONESTONE_TOKENIZER_UTF8_H
#include <stddef.h>
#include <stdint.h>

#define OS_UTF8_REPLACEMENT 0xFFFD

// Decodes the code point starting at s[*i] (requires *i < n) and advances *i past it (at least one byte).
// Invalid or truncated sequences give U+FFFD as described above.
int32_t os_utf8_next(const uint8_t *s, size_t n, size_t *i);

// Writes cp (0..0x10FFFF, not a surrogate) as UTF-8 into out (room for 4 bytes); returns the byte count.
int os_utf8_put(int32_t cp, char *out);

// Number of decoded characters (each invalid subsequence counts one) in s[0..n).
size_t os_utf8_count(const char *s, size_t n);
#endif
