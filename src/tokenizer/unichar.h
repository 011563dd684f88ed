// Character classes and case/accent mappings used by BERT normalisation, with the exact definitions of the
// reference (transformers.js, whose Unicode comes from V8/ICU). Data comes from utf8proc; where a rule needs a
// property utf8proc does not expose, the few code points of that rule are listed next to it with its source.
#ifndef ONESTONE_TOKENIZER_UNICHAR_H
#define ONESTONE_TOKENIZER_UNICHAR_H
#include <stdint.h>

// Control characters removed by clean_text: categories Cc, Cf, Co, Cs, except \t \n \r (which are whitespace).
int os_uc_is_control(int32_t cp);
// JavaScript's \s (ECMAScript WhiteSpace + LineTerminator): category Zs plus \t \n \v \f \r U+2028 U+2029 U+FEFF.
int os_uc_is_space(int32_t cp);
// BERT punctuation: any P* category, plus the ASCII symbol ranges ! to /, : to @, [ to `, { to ~.
int os_uc_is_punct(int32_t cp);
// CJK ideographs that get spaces around them. Only the BMP blocks: the reference tests UTF-16 code units, so
// supplementary-plane ideographs (U+20000...) are never padded (HF's Rust tokenizers would pad them).
int os_uc_is_cjk(int32_t cp);
// Unicode Cased and Case_Ignorable properties (for the Final_Sigma rule of full lower-casing).
int os_uc_is_cased(int32_t cp);
int os_uc_is_case_ignorable(int32_t cp);
// Canonical combining class.
int os_uc_ccc(int32_t cp);

// Full lower-case mapping without context into out (room for 2); returns the count. Final sigma is the caller's.
int os_uc_lower(int32_t cp, int32_t *out);
// NFD decomposition of cp with every Mn (nonspacing mark) dropped, into out (room for OS_UC_NFD_MAX); returns
// the count (0 when cp itself is a nonspacing mark).
#define OS_UC_NFD_MAX 8
int os_uc_nfd_strip(int32_t cp, int32_t *out);
#endif
