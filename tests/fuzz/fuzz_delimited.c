// libFuzzer target for the TSV/CSV reader (scripts/fuzz.sh delimited SECONDS). The first byte picks the
// options (TSV or CSV, pair and id columns, label kinds, spaces kept); the rest is the file.
#include "fuzz_readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t b = data[0];
    static const os_label_kind kinds[] = {OS_LABEL_MISSING, OS_LABEL_CLASS, OS_LABEL_MULTI, OS_LABEL_NUMBER};
    os_label_spec labels[2] = {{"label", NULL, kinds[(b >> 2) & 3]}, {"score", "s", kinds[(b >> 4) & 3]}};
    os_delim_opts o = {0};
    o.format = (b & 1) ? OS_DELIM_CSV : OS_DELIM_TSV;
    o.text_column = "text";
    o.pair_column = (b & 2) ? "pair" : NULL;
    o.id_column = (b & 0x40) ? "id" : NULL;
    o.labels = labels;
    o.n_labels = 1 + ((b >> 7) & 1);
    o.multi_sep = (b & 0x20) ? '|' : 0;
    o.keep_spaces = (b >> 3) & 1;
    os_dataset *ds = NULL;
    os_status rc = os_parse_delimited("fuzz.tsv", (const char *)data + 1, size - 1, &o, &ds);
    fz_check("fuzz.tsv", rc, ds);
    return 0;
}
