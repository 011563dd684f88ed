// Writing a compressed model directory next to the model it came from: the model (its deploy layers
// included), the source's onestone training metadata (so `onestone eval` still knows each task's data
// format) and the source's tokenizer.
#ifndef ONESTONE_DEPLOY_MODEL_DIR_H
#define ONESTONE_DEPLOY_MODEL_DIR_H
#include <jansson.h>

#include "model/model.h"

// `provenance` (may be NULL) is added to config.json's onestone section under "compression".
// OUT_DIR must differ from IN_DIR.
os_status os_compressed_save(const os_model *m, const char *in_dir, const char *out_dir, json_t *provenance);
// Bytes of OUT_DIR/model.safetensors (0 when unreadable).
long long os_model_file_bytes(const char *dir);
#endif
