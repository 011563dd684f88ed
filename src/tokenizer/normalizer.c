#include "tokenizer/normalizer.h"

#include "tokenizer/unichar.h"
#include "tokenizer/utf8.h"

void os_normalizer_prepare(os_normalizer *n) {
    for (int b = 0; b < 128; b++) {
        uint8_t kind;
        if (n->clean_text && (b == 0 || os_uc_is_control(b)))
            kind = OS_ASCII_DROP;
        else if (os_uc_is_space(b))
            kind = OS_ASCII_SPACE;
        else if (os_uc_is_punct(b))
            kind = OS_ASCII_PUNCT;
        else
            kind = OS_ASCII_WORD;
        n->ascii_kind[b] = kind;
        n->ascii_lower[b] = (uint8_t)(n->lowercase && b >= 'A' && b <= 'Z' ? b + 32 : b);
        n->ascii_sigma[b] = (uint8_t)(os_uc_is_case_ignorable(b) ? 2 : os_uc_is_cased(b) ? 1 : 0);
    }
}

// Final_Sigma's second half: is the sigma followed (after case-ignorable characters, and after what clean_text
// removes) by a cased letter? Whitespace and padded CJK end the search, as they would in the cleaned text.
static int followed_by_cased(const os_normalizer *n, const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        int32_t cp = os_utf8_next(s, len, &i);
        if (n->clean_text) {
            if (cp == 0 || cp == OS_UTF8_REPLACEMENT || os_uc_is_control(cp)) continue;
            if (os_uc_is_space(cp)) return 0;
        }
        if (n->handle_chinese_chars && os_uc_is_cjk(cp)) return 0;
        if (!os_uc_is_case_ignorable(cp)) return os_uc_is_cased(cp);
    }
    return 0;
}

int os_normalize_char(const os_normalizer *n, int32_t cp, const uint8_t *rest, size_t rest_len, int *prev_cased,
                      int32_t *out, int *cjk) {
    *cjk = 0;
    if (n->clean_text) {
        if (cp == 0 || cp == OS_UTF8_REPLACEMENT || os_uc_is_control(cp)) return 0;
        if (os_uc_is_space(cp)) cp = ' ';
    }
    if (n->handle_chinese_chars && os_uc_is_cjk(cp)) *cjk = 1;  // its padding spaces reset the sigma context
    int32_t low[2] = {cp, 0};
    int nl = 1;
    if (n->lowercase) {
        if (cp == 0x3A3)  // GREEK CAPITAL SIGMA: final form at the end of a word (Unicode Final_Sigma)
            low[0] = *prev_cased && !followed_by_cased(n, rest, rest_len) ? 0x3C2 : 0x3C3;
        else
            nl = os_uc_lower(cp, low);
    }
    if (*cjk)
        *prev_cased = 0;
    else if (!os_uc_is_case_ignorable(cp))
        *prev_cased = os_uc_is_cased(cp);
    if (!n->strip_accents) {
        for (int k = 0; k < nl; k++) out[k] = low[k];
        return nl;
    }
    int no = 0;
    for (int k = 0; k < nl; k++) no += os_uc_nfd_strip(low[k], out + no);
    return no;
}
