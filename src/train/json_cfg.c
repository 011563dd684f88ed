#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/json_cfg.h"

os_cfg_ctx os_cfg_child(const os_cfg_ctx *c, const char *key, int index) {
    os_cfg_ctx d = {c->file, ""};
    int n;
    if (key) n = snprintf(d.path, sizeof d.path, "%s%s%s", c->path, c->path[0] ? "." : "", key);
    else n = snprintf(d.path, sizeof d.path, "%s[%d]", c->path, index);
    if (n >= (int)sizeof d.path) strcpy(d.path + sizeof d.path - 4, "...");
    return d;
}

static void full_path(const os_cfg_ctx *c, const char *key, char *buf, size_t size) {
    if (key) snprintf(buf, size, "%s%s%s", c->path, c->path[0] ? "." : "", key);
    else snprintf(buf, size, "%s", c->path[0] ? c->path : "(root)");
}

os_status os_cfg_error(const os_cfg_ctx *c, const char *key, const char *fmt, ...) {
    char path[300], msg[600];
    full_path(c, key, path, sizeof path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return os_fail(OS_ERR_INPUT, "%s: field '%s' %s", c->file, path, msg);
}

// A short rendering of a JSON value for messages.
static void show(const json_t *v, char *buf, size_t size) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(buf, size, "%s", s ? s : "?");
    if (s && strlen(s) >= size && size > 4) strcpy(buf + size - 4, "...");
    free(s);
}

os_status os_cfg_check_keys(const os_cfg_ctx *c, const json_t *obj, const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            if (!strcmp(key, allowed[i])) ok = 1;
        if (!ok) {
            char list[400] = "";
            for (int i = 0; allowed[i]; i++) {
                if (strlen(list) + strlen(allowed[i]) + 3 >= sizeof list) break;
                strcat(list, i ? ", " : "");
                strcat(list, allowed[i]);
            }
            return os_cfg_error(c, key, "is not a known setting (known here: %s)", list);
        }
    }
    return OS_OK;
}

os_status os_cfg_string(const os_cfg_ctx *c, const json_t *obj, const char *key, const char *def, const char **out) {
    const json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v || json_is_null(v)) return OS_OK;
    if (!json_is_string(v)) {
        char buf[80];
        show(v, buf, sizeof buf);
        return os_cfg_error(c, key, "must be a string, got %s", buf);
    }
    *out = json_string_value(v);
    return OS_OK;
}

os_status os_cfg_int(const os_cfg_ctx *c, const json_t *obj, const char *key, long def, long min, long max, long *out) {
    const json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v || json_is_null(v)) return OS_OK;
    json_int_t x = json_integer_value(v);
    if (!json_is_integer(v) || x < min || x > max) {
        char buf[80];
        show(v, buf, sizeof buf);
        return os_cfg_error(c, key, "must be an integer in [%ld, %ld], got %s", min, max, buf);
    }
    *out = (long)x;
    return OS_OK;
}

os_status os_cfg_number(const os_cfg_ctx *c, const json_t *obj, const char *key, double def, double min, double max,
                        double *out) {
    const json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v || json_is_null(v)) return OS_OK;
    double x = json_number_value(v);
    if (!json_is_number(v) || !(x >= min && x <= max)) {
        char buf[80];
        show(v, buf, sizeof buf);
        return os_cfg_error(c, key, "must be a number in [%g, %g], got %s", min, max, buf);
    }
    *out = x;
    return OS_OK;
}

os_status os_cfg_bool(const os_cfg_ctx *c, const json_t *obj, const char *key, int def, int *out) {
    const json_t *v = json_object_get(obj, key);
    *out = def;
    if (!v || json_is_null(v)) return OS_OK;
    if (!json_is_boolean(v)) {
        char buf[80];
        show(v, buf, sizeof buf);
        return os_cfg_error(c, key, "must be true or false, got %s", buf);
    }
    *out = json_is_true(v);
    return OS_OK;
}

os_status os_cfg_object(const os_cfg_ctx *c, const json_t *obj, const char *key, const json_t **out) {
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) return OS_OK;
    if (!json_is_object(v)) return os_cfg_error(c, key, "must be an object");
    *out = v;
    return OS_OK;
}

// Finds the array element a path segment names: an index, or the element whose "name" equals it.
static json_t *array_elem(json_t *arr, const char *seg) {
    char *end;
    long i = strtol(seg, &end, 10);
    if (*seg && !*end) return json_array_get(arr, (size_t)i);
    size_t k;
    json_t *e;
    json_array_foreach(arr, k, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (name && !strcmp(name, seg)) return e;
    }
    return NULL;
}

os_status os_cfg_set(json_t *root, const char *assignment) {
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return os_fail(OS_ERR_USAGE, "--set '%s': expected PATH=VALUE (e.g. training.batch_size=16)", assignment);
    char *path = strndup(assignment, (size_t)(eq - assignment));
    if (!path) return os_fail(OS_ERR_NOMEM, "out of memory");
    json_error_t err;
    json_t *value = json_loads(eq + 1, JSON_DECODE_ANY, &err);
    if (!value) value = json_string(eq + 1);
    if (!value) {
        free(path);
        return os_fail(OS_ERR_USAGE, "--set '%s': the value is not valid UTF-8", assignment);
    }
    json_t *cur = root;
    os_status st = OS_OK;
    char *save = NULL, *seg = strtok_r(path, ".", &save);
    while (seg) {
        char *next = strtok_r(NULL, ".", &save);
        if (json_is_array(cur)) {
            json_t *e = array_elem(cur, seg);
            if (!e) {
                st = os_fail(OS_ERR_USAGE, "--set '%s': no element '%s' in that array", assignment, seg);
                break;
            }
            if (!next) {
                st = os_fail(OS_ERR_USAGE, "--set '%s': cannot replace a whole array element", assignment);
                break;
            }
            cur = e;
        } else if (json_is_object(cur)) {
            if (!next) {
                json_object_set(cur, seg, value);
                break;
            }
            json_t *child = json_object_get(cur, seg);
            if (!child || json_is_null(child)) {
                child = json_object();
                json_object_set_new(cur, seg, child);
            }
            cur = child;
        } else {
            st = os_fail(OS_ERR_USAGE, "--set '%s': '%s' is inside a value that is not an object", assignment, seg);
            break;
        }
        seg = next;
    }
    json_decref(value);
    free(path);
    return st;
}

static os_status expand_string(json_t *s, const char *file, const char *where) {
    const char *v = json_string_value(s);
    if (!strstr(v, "${")) return OS_OK;
    size_t cap = strlen(v) + 1, len = 0;
    char *out = malloc(cap);
    if (!out) return os_fail(OS_ERR_NOMEM, "out of memory");
    for (const char *p = v; *p;) {
        const char *piece = p;
        size_t plen = 1;
        if (p[0] == '$' && p[1] == '{' && strchr(p, '}')) {
            const char *close = strchr(p, '}');
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(close - p - 2), p + 2);
            piece = getenv(name);
            if (!piece) {
                free(out);
                return os_fail(OS_ERR_INPUT, "%s: field '%s' uses ${%s}, which is not set in the environment", file,
                               where, name);
            }
            plen = strlen(piece);
            p = close + 1;
        } else {
            p++;
        }
        if (len + plen + 1 > cap) {
            cap = (len + plen + 1) * 2;
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                return os_fail(OS_ERR_NOMEM, "out of memory");
            }
            out = grown;
        }
        memcpy(out + len, piece, plen);
        len += plen;
    }
    out[len] = '\0';
    json_string_set(s, out);
    free(out);
    return OS_OK;
}

static os_status expand(json_t *v, const char *file, const char *where) {
    if (json_is_string(v)) return expand_string(v, file, where);
    char child[300];
    if (json_is_object(v)) {
        const char *key;
        json_t *e;
        json_object_foreach(v, key, e) {
            snprintf(child, sizeof child, "%s%s%s", where, *where ? "." : "", key);
            os_status st = expand(e, file, child);
            if (st) return st;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            snprintf(child, sizeof child, "%s[%zu]", where, i);
            os_status st = expand(e, file, child);
            if (st) return st;
        }
    }
    return OS_OK;
}

os_status os_cfg_expand_env(json_t *root, const char *file) { return expand(root, file, ""); }
