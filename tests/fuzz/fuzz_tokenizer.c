// libFuzzer target for the tokenizer (scripts/fuzz.sh tokenizer SECONDS) with a small vocabulary built here.
// Byte 0 picks the mode (one text, a pair, pre-split words) and the options (special tokens, max length,
// truncation, padding, lowercasing); byte 1 is where a pair splits; the rest is the text (words are split at
// 0x01 bytes). Any bytes must encode, or be refused with a one-line OS_ERR_INPUT message (truncation that
// cannot fit); every id is in the vocabulary, offsets lie inside their text, and lengths keep max_length.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenizer/tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static os_tokenizer *tok[2];  // lowercasing, cased
static os_encoding enc;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char *const vocab[] = {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "a", "b", "c", "the", "un", "##aff", "##able",
        "##s", "##e", "##ing", "run", "play", "é", "ü", "中", "国", "##a", "##b", "##c", "A", "B", "The", "😀"};
    char path[] = "/tmp/onestone_fuzz_vocab_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) abort();
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; i < sizeof vocab / sizeof *vocab; i++) fprintf(f, "%s\n", vocab[i]);
    fclose(f);
    for (int c = 0; c < 2; c++) {
        os_tokenizer_options to = os_tokenizer_options_default();
        to.lowercase = !c;
        if (os_tokenizer_load(path, &to, &tok[c])) abort();
    }
    if (os_tokenizer_add_special_token(tok[0], "<e1>", NULL) || os_tokenizer_add_special_token(tok[1], "<e1>", NULL))
        abort();
    unlink(path);
    os_encoding_init(&enc);
    return 0;
}

static void check(const os_tokenizer *t, os_status rc, const os_encode_options *o, int pair, size_t alen, size_t blen,
                  const size_t *wlens, int32_t n_words) {
    if (rc) {
        const char *msg = os_last_error();
        if (rc != OS_ERR_INPUT || strchr(msg, '\n') || !*msg) __builtin_trap();
        return;
    }
    int32_t vs = os_tokenizer_vocab_size(t);
    // Truncation keeps max_length, except that the template's special tokens always stay (as in HF).
    int32_t specials = o->add_special_tokens ? (pair ? 3 : 2) : 0;
    int32_t limit = o->max_length > specials ? o->max_length : specials;
    if (o->max_length && o->truncation != OS_TRUNCATE_NONE && enc.n > limit) __builtin_trap();
    if (o->pad_to_max_length && o->max_length && enc.n < o->max_length) __builtin_trap();
    for (int32_t i = 0; i < enc.n; i++) {
        if (enc.ids[i] < 0 || enc.ids[i] >= vs) __builtin_trap();
        if (enc.attention_mask[i] != 0 && enc.attention_mask[i] != 1) __builtin_trap();
        int32_t s = enc.offsets[2 * i], e = enc.offsets[2 * i + 1], seq = enc.sequence_ids[i];
        if (s < 0 || e < s) __builtin_trap();
        if (seq < -1 || seq > 1) __builtin_trap();
        if (wlens) {
            int32_t w = enc.word_ids[i];
            if (w >= n_words) __builtin_trap();
            if (w >= 0 && (size_t)e > wlens[w]) __builtin_trap();
        } else if (seq >= 0 && (size_t)e > (seq ? blen : alen)) {
            __builtin_trap();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint8_t b = data[0];
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    const os_tokenizer *t = tok[(b >> 7) & 1];
    os_encode_options o = os_encode_options_default();
    o.add_special_tokens = !(b & 4);
    o.max_length = (b & 8) ? 2 + data[1] % 14 : 0;
    o.truncation = (os_truncation)((b >> 4) & 3);
    o.pad_to_max_length = (b >> 6) & 1;
    o.pad_to_multiple_of = (b & 0x40) && !(b & 8) ? 8 : 0;
    switch (b & 3) {
    case 0:
    case 3:
        check(t, os_tokenizer_encode(t, text, len, &o, &enc), &o, 0, len, 0, NULL, 0);
        break;
    case 1: {
        size_t cut = len ? data[1] % (len + 1) : 0;
        check(t, os_tokenizer_encode_pair(t, text, cut, text + cut, len - cut, &o, &enc), &o, 1, cut, len - cut,
              NULL, 0);
        break;
    }
    case 2: {
        const char *words[64];
        size_t lens[64];
        int32_t n = 0;
        size_t start = 0;
        for (size_t i = 0; i <= len && n < 64; i++)
            if (i == len || text[i] == '\x01') {
                words[n] = text + start;
                lens[n++] = i - start;
                start = i + 1;
            }
        check(t, os_tokenizer_encode_words(t, words, lens, n, &o, &enc), &o, 0, 0, 0, lens, n);
        break;
    }
    }
    return 0;
}
