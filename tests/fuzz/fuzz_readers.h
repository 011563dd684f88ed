// Shared checks for the dataset-reader fuzz targets: any input is either rejected with one line that names
// the source (OS_ERR_INPUT, or OS_ERR_NOMEM), or gives a dataset whose every string and label is readable.
#ifndef ONESTONE_FUZZ_READERS_H
#define ONESTONE_FUZZ_READERS_H
#include <stdint.h>
#include <string.h>

#include "data/readers.h"

static size_t fz_sink;

static void fz_touch(const char *s) {
    if (s) fz_sink += strlen(s);
}

// Traps unless (rc, ds) keeps the readers' contract.
static void fz_check(const char *name, os_status rc, os_dataset *ds) {
    if (rc) {
        const char *msg = os_last_error();
        if (rc == OS_ERR_NOMEM) return;
        if (rc != OS_ERR_INPUT || strncmp(msg, name, strlen(name)) || strchr(msg, '\n') || ds) __builtin_trap();
        return;
    }
    if (!ds) __builtin_trap();
    for (size_t i = 0; i < ds->n; i++) {
        const os_example *e = &ds->ex[i];
        fz_touch(e->text);
        fz_touch(e->text_pair);
        fz_touch(e->id);
        fz_touch(e->file);
        if (!e->text && !e->words) __builtin_trap();
        for (uint32_t w = 0; w < e->n_words; w++) fz_touch(e->words[w]);
        for (int f = 0; f < ds->n_fields; f++) {
            const os_label *l = &e->labels[f];
            if (l->kind != OS_LABEL_MISSING && l->kind != ds->fields[f].kind) __builtin_trap();
            if (l->kind == OS_LABEL_CLASS) fz_touch(l->v.name);
            if (l->kind == OS_LABEL_MULTI || l->kind == OS_LABEL_TAGS)
                for (uint32_t k = 0; k < l->n; k++) fz_touch(l->v.names[k]);
            if (l->kind == OS_LABEL_TAGS && l->n != e->n_words) __builtin_trap();
        }
    }
    os_dataset_free(ds);
}
#endif
