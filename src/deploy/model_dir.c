#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "deploy/model_dir.h"
#include "model/checkpoint.h"
#include "tokenizer/tokenizer.h"
#include "util/fileio.h"

static int same_dir(const char *a, const char *b) {
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

// The source's onestone keys that describe how it was trained (not its layout, which the writer derives).
static json_t *carried_metadata(const char *in_dir) {
    char *path = os_path_join(in_dir, "config.json");
    json_t *root = path ? json_load_file(path, 0, NULL) : NULL;
    free(path);
    json_t *extra = json_object();
    const json_t *os = json_object_get(root, "onestone");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)os, key, val) {
        if (strcmp(key, "tasks") && strcmp(key, "format_version") && strcmp(key, "pooler") && strcmp(key, "deploy"))
            json_object_set(extra, key, val);
    }
    json_decref(root);
    return extra;
}

os_status os_compressed_save(const os_model *m, const char *in_dir, const char *out_dir, json_t *provenance) {
    if (same_dir(in_dir, out_dir))
        return os_fail(OS_ERR_USAGE, "%s: the output directory must differ from the input model", out_dir);
    os_tokenizer *tok = NULL;
    os_status st = os_tokenizer_load(in_dir, NULL, &tok);
    if (st) return st;
    json_t *extra = carried_metadata(in_dir);
    if (provenance) json_object_set(extra, "compression", provenance);
    st = os_model_save(m, out_dir, extra);
    if (!st) st = os_tokenizer_save(tok, out_dir);
    json_decref(extra);
    os_tokenizer_free(tok);
    return st;
}

long long os_model_file_bytes(const char *dir) {
    char *path = os_path_join(dir, "model.safetensors");
    struct stat sb;
    long long n = path && !stat(path, &sb) ? (long long)sb.st_size : 0;
    free(path);
    return n;
}
