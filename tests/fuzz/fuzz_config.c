// libFuzzer target for the config.json parser (scripts/fuzz.sh config SECONDS). Any input must either be
// rejected with a one-line message naming the source, or give a valid config that survives
// to_json -> from_json unchanged.
#include <stdint.h>
#include <string.h>

#include "model/bert_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t err;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    if (!root) return 0;
    os_bert_config c, back;
    os_status rc = os_bert_config_from_json(&c, root, "fuzz.json");
    json_decref(root);
    if (rc) {
        const char *msg = os_last_error();
        if (rc != OS_ERR_INPUT || strncmp(msg, "fuzz.json: ", 11) || strchr(msg, '\n')) __builtin_trap();
        return 0;
    }
    if (os_bert_config_validate(&c, "fuzz.json") != OS_OK) __builtin_trap();
    json_t *out = os_bert_config_to_json(&c);
    if (!out) return 0;  // out of memory
    if (os_bert_config_from_json(&back, out, "round trip") != OS_OK || memcmp(&c, &back, sizeof c))
        __builtin_trap();
    json_decref(out);
    return 0;
}
