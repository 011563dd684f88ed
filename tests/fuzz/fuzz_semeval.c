// libFuzzer target for the SemEval-2010 Task 8 reader (scripts/fuzz.sh semeval SECONDS): the input is the file.
#include "fuzz_readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    os_semeval_opts o = {0};
    os_dataset *ds = NULL;
    os_status rc = os_parse_semeval("fuzz.txt", (const char *)data, size, &o, &ds);
    fz_check("fuzz.txt", rc, ds);
    return 0;
}
