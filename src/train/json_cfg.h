// Typed, path-aware access to JSON configuration objects. Every error names the config file and the full
// field path ("train.json: field 'training.batch_size' must be a positive integer, got \"abc\""), and
// objects are checked for unknown keys so a typo never silently falls back to a default.
#ifndef ONESTONE_TRAIN_JSON_CFG_H
#define ONESTONE_TRAIN_JSON_CFG_H
#include <jansson.h>

#include "util/error.h"

typedef struct {
    const char *file;  // config file name for messages
    char path[256];    // dotted path of the object being read ("" = root)
} os_cfg_ctx;

// A child context for key `key` (or array index when key is NULL).
os_cfg_ctx os_cfg_child(const os_cfg_ctx *c, const char *key, int index);
// Fails naming the first key of `obj` not in the NULL-terminated `allowed` list.
os_status os_cfg_check_keys(const os_cfg_ctx *c, const json_t *obj, const char *const *allowed);
// Readers: a missing key or JSON null leaves *out at `def`. Wrong type or range fails with the path.
os_status os_cfg_string(const os_cfg_ctx *c, const json_t *obj, const char *key, const char *def, const char **out);
os_status os_cfg_int(const os_cfg_ctx *c, const json_t *obj, const char *key, long def, long min, long max, long *out);
os_status os_cfg_number(const os_cfg_ctx *c, const json_t *obj, const char *key, double def, double min, double max,
                        double *out);
os_status os_cfg_bool(const os_cfg_ctx *c, const json_t *obj, const char *key, int def, int *out);
// An optional object (NULL when absent); not an object: fails.
os_status os_cfg_object(const os_cfg_ctx *c, const json_t *obj, const char *key, const json_t **out);
// Fails with "FILE: field 'PATH.key' ..." and the given explanation.
os_status os_cfg_error(const os_cfg_ctx *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// Applies "a.b.c=value" to `root`: value is parsed as JSON when it is valid JSON, else taken as a string.
// Array elements are addressed by index or, for arrays of objects with a "name", by that name
// ("tasks.ner.loss_weight=2"). Missing intermediate objects are created.
os_status os_cfg_set(json_t *root, const char *assignment);
// Replaces ${VAR} in every string of `root` by the environment variable (unset: fails naming the field).
os_status os_cfg_expand_env(json_t *root, const char *file);
#endif
