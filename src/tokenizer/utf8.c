#include "tokenizer/utf8.h"

int32_t os_utf8_next(const uint8_t *s, size_t n, size_t *i) {
    size_t p = *i;
    uint8_t b = s[p++];
    if (b < 0x80) {
        *i = p;
        return b;
    }
    int need;
    int32_t cp;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the next byte (WHATWG excludes overlongs/surrogates here)
    if (b >= 0xC2 && b <= 0xDF) {
        need = 1;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        cp = b & 0x0F;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        cp = b & 0x07;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        *i = p;  // stray continuation byte or C0/C1/F5..FF: one replacement for this byte
        return OS_UTF8_REPLACEMENT;
    }
    for (int k = 0; k < need; k++) {
        if (p >= n || s[p] < lo || s[p] > hi) {
            *i = p;  // the offending byte is not consumed: it starts the next character
            return OS_UTF8_REPLACEMENT;
        }
        cp = (cp << 6) | (s[p++] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *i = p;
    return cp;
}

int os_utf8_put(int32_t cp, char *out) {
    uint8_t *o = (uint8_t *)out;
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | (cp >> 6));
        o[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (cp >> 12));
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (cp >> 18));
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

size_t os_utf8_count(const char *s, size_t n) {
    size_t i = 0, c = 0;
    while (i < n) {
        os_utf8_next((const uint8_t *)s, n, &i);
        c++;
    }
    return c;
}
