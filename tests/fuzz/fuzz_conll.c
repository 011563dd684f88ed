// libFuzzer target for the CoNLL reader (scripts/fuzz.sh conll SECONDS). The first byte picks the options
// (tag columns, fixed column count, comment lines); the rest is the file.
#include "fuzz_readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t b = data[0];
    // Valid options only (distinct columns, none the word's): option errors are not the file's fault.
    static const int tag_cols[2][4][2] = {{{3, 1}, {1, 2}, {2, 3}, {1, 3}}, {{3, 0}, {0, 2}, {2, 3}, {0, 3}}};
    os_conll_opts o = {0};
    o.word_column = (b & 0x10) ? 1 : 0;
    o.tag_columns = tag_cols[o.word_column][b & 3];
    o.n_tags = 1 + ((b >> 2) & 1);
    o.n_columns = (b & 0x20) ? 4 : 0;
    o.comments = (b >> 3) & 1;
    o.docstart = (b & 0x40) ? "#doc" : NULL;
    os_dataset *ds = NULL;
    os_status rc = os_parse_conll("fuzz.conll", (const char *)data + 1, size - 1, &o, &ds);
    fz_check("fuzz.conll", rc, ds);
    return 0;
}
