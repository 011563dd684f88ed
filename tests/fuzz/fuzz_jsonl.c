// libFuzzer target for the JSON Lines reader (scripts/fuzz.sh jsonl SECONDS). The first byte picks the
// options (text or pre-split words, pair and id keys, label kinds); the rest is the file.
#include "fuzz_readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t b = data[0];
    static const os_label_kind kinds[] = {OS_LABEL_MISSING, OS_LABEL_CLASS, OS_LABEL_MULTI, OS_LABEL_NUMBER,
                                          OS_LABEL_TAGS};
    int words = b & 1;
    os_label_kind k0 = kinds[(b >> 1) & 3];
    if (words && (b & 0x80)) k0 = OS_LABEL_TAGS;
    os_label_spec labels[2] = {{"label", NULL, k0}, {"tags", "t", kinds[(b >> 3) & 3]}};
    os_jsonl_opts o = {0};
    o.words_key = words ? "words" : NULL;
    o.pair_key = (b & 0x20) ? "pair" : NULL;
    o.id_key = (b & 0x40) ? "id" : NULL;
    o.labels = labels;
    o.n_labels = 1 + ((b >> 5) & 1);
    os_dataset *ds = NULL;
    os_status rc = os_parse_jsonl("fuzz.jsonl", (const char *)data + 1, size - 1, &o, &ds);
    fz_check("fuzz.jsonl", rc, ds);
    return 0;
}
