#include "tokenizer/unichar.h"

#include <utf8proc.h>

static int category(int32_t cp) { return utf8proc_get_property(cp)->category; }

int os_uc_is_control(int32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return 0;
    int c = category(cp);
    return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF || c == UTF8PROC_CATEGORY_CO ||
           c == UTF8PROC_CATEGORY_CS;
}

int os_uc_is_space(int32_t cp) {
    if (cp == ' ' || (cp >= '\t' && cp <= '\r')) return 1;
    if (cp < 0x80) return 0;
    if (cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF) return 1;
    return category(cp) == UTF8PROC_CATEGORY_ZS;
}

int os_uc_is_punct(int32_t cp) {
    if ((cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
        (cp >= 0x7B && cp <= 0x7E))
        return 1;
    if (cp < 0x80) return 0;
    int c = category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

int os_uc_is_cjk(int32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF);
}

int os_uc_is_cased(int32_t cp) {
    int c = category(cp);
    if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT) return 1;
    // Other_Lowercase / Other_Uppercase: most have a case mapping; the rest are these (PropList.txt, Unicode 15)
    // or are modifier letters, which Final_Sigma skips as case-ignorable before asking whether they are cased.
    if (utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp) return 1;
    return cp == 0xAA || cp == 0xBA || (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
           (cp >= 0x1F170 && cp <= 0x1F189);
}

int os_uc_is_case_ignorable(int32_t cp) {
    // Case_Ignorable = Mn | Me | Cf | Lm | Sk | Word_Break in {MidLetter, MidNumLet, Single_Quote}
    // (DerivedCoreProperties.txt). utf8proc has no Word_Break, so those 17 code points are listed (WordBreakProperty.txt).
    switch (cp) {
        case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4: case 0x2018: case 0x2019:
        case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
            return 1;
        default: break;
    }
    int c = category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
           c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK;
}

int os_uc_ccc(int32_t cp) { return utf8proc_get_property(cp)->combining_class; }

int os_uc_lower(int32_t cp, int32_t *out) {
    // SpecialCasing.txt has one unconditional lower-case mapping longer than a code point: U+0130 -> i + U+0307.
    if (cp == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = utf8proc_tolower(cp);
    return 1;
}

int os_uc_nfd_strip(int32_t cp, int32_t *out) {
    utf8proc_int32_t buf[OS_UC_NFD_MAX];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, OS_UC_NFD_MAX, UTF8PROC_DECOMPOSE, &last);
    if (n < 0 || n > OS_UC_NFD_MAX) {  // cannot happen for valid code points; keep the character as it is
        out[0] = cp;
        return category(cp) == UTF8PROC_CATEGORY_MN ? 0 : 1;
    }
    int k = 0;
    for (utf8proc_ssize_t j = 0; j < n; j++)
        if (category(buf[j]) != UTF8PROC_CATEGORY_MN) out[k++] = buf[j];
    return k;
}
