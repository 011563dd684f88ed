#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics/tag_scheme.h"

int os_tag_scheme_parse(const char *name, os_tag_scheme *scheme) {
    if (!strcasecmp(name, "iob1")) {
        *scheme = OS_SCHEME_IOB1;
    } else if (!strcasecmp(name, "iob2") || !strcasecmp(name, "bio")) {
        *scheme = OS_SCHEME_IOB2;
    } else if (!strcasecmp(name, "bioes") || !strcasecmp(name, "iobes")) {
        *scheme = OS_SCHEME_BIOES;
    } else {
        return -1;
    }
    return 0;
}

const char *os_tag_scheme_name(os_tag_scheme scheme) {
    switch (scheme) {
    case OS_SCHEME_IOB1: return "iob1";
    case OS_SCHEME_IOB2: return "iob2";
    case OS_SCHEME_BIOES: return "bioes";
    }
    return "?";
}

static bool parse_tag(const char *tag, os_tag *out) {
    if (!strcmp(tag, "O")) {
        *out = (os_tag){.prefix = 'O', .type = ""};
        return true;
    }
    // The type may itself contain '-' (conlleval splits at the first one only).
    if (tag[0] && strchr("BIES", tag[0]) && tag[1] == '-' && tag[2]) {
        *out = (os_tag){.prefix = tag[0], .type = tag + 2};
        return true;
    }
    return false;
}

#define BAD_TAG "entity tag '%s'%s is neither O nor B-, I-, E- or S- followed by a type"

os_status os_tag_parse(const char *tag, os_tag *out) {
    return parse_tag(tag, out) ? OS_OK : os_fail(OS_ERR_INPUT, BAD_TAG, tag, "");
}

// seqeval's end_of_chunk: did a chunk end between the previous token and this one?
static bool chunk_ends(os_tag prev, os_tag cur) {
    if (prev.prefix == 'E' || prev.prefix == 'S') return true;
    if ((prev.prefix == 'B' || prev.prefix == 'I') &&
        (cur.prefix == 'B' || cur.prefix == 'S' || cur.prefix == 'O'))
        return true;
    return prev.prefix != 'O' && strcmp(prev.type, cur.type) != 0;
}

// seqeval's start_of_chunk (conlleval's startOfChunk plus the S- rules).
static bool chunk_starts(os_tag prev, os_tag cur) {
    if (cur.prefix == 'B' || cur.prefix == 'S') return true;
    if ((cur.prefix == 'E' || cur.prefix == 'I') &&
        (prev.prefix == 'E' || prev.prefix == 'S' || prev.prefix == 'O'))
        return true;
    return cur.prefix != 'O' && strcmp(prev.type, cur.type) != 0;
}

os_status os_chunks_extract(const char *const *tags, size_t len, os_chunk *out, size_t *n_out) {
    *n_out = 0;
    os_tag prev = {.prefix = 'O', .type = ""}, cur;
    size_t begin = 0;
    // One step past the end with an O closes a chunk that runs to the end of the sentence.
    for (size_t i = 0; i <= len; i++) {
        if (i < len) {
            if (!parse_tag(tags[i], &cur)) {
                char where[48];
                snprintf(where, sizeof where, " at token %zu", i);
                return os_fail(OS_ERR_INPUT, BAD_TAG, tags[i], where);
            }
        } else {
            cur = (os_tag){.prefix = 'O', .type = ""};
        }
        if (chunk_ends(prev, cur))
            out[(*n_out)++] = (os_chunk){.type = prev.type, .start = begin, .end = i - 1};
        if (chunk_starts(prev, cur)) begin = i;
        prev = cur;
    }
    return OS_OK;
}

static char *make_tag(char prefix, const char *type) {
    size_t n = strlen(type);
    char *s = malloc(n + 3);
    if (!s) return NULL;
    s[0] = prefix;
    s[1] = '-';
    memcpy(s + 2, type, n + 1);
    return s;
}

os_status os_tags_convert(const char *const *in, size_t len, os_tag_scheme to, char **out) {
    for (size_t i = 0; i < len; i++) out[i] = NULL;
    os_chunk *chunks = os_calloc(len, sizeof *chunks);
    if (!chunks) return OS_ERR_NOMEM;
    size_t n = 0;
    os_status st = os_chunks_extract(in, len, chunks, &n);
    for (size_t c = 0; st == OS_OK && c < n; c++) {
        const os_chunk *k = &chunks[c];
        // IOB1 spells a chunk's first token B- only when a chunk of the same type ends right before it.
        bool glued = c > 0 && chunks[c - 1].end + 1 == k->start && !strcmp(chunks[c - 1].type, k->type);
        for (size_t i = k->start; i <= k->end && st == OS_OK; i++) {
            char p = 'I';
            if (to == OS_SCHEME_BIOES && k->start == k->end)
                p = 'S';
            else if (i == k->start && (to != OS_SCHEME_IOB1 || glued))
                p = 'B';
            else if (to == OS_SCHEME_BIOES && i == k->end)
                p = 'E';
            if (!(out[i] = make_tag(p, k->type))) st = os_fail(OS_ERR_NOMEM, "out of memory converting tags");
        }
    }
    for (size_t i = 0; st == OS_OK && i < len; i++)
        if (!out[i] && !(out[i] = strdup("O"))) st = os_fail(OS_ERR_NOMEM, "out of memory converting tags");
    free(chunks);
    if (st != OS_OK) os_tags_free(out, len);
    return st;
}

void os_tags_free(char **tags, size_t len) {
    for (size_t i = 0; i < len; i++) {
        free(tags[i]);
        tags[i] = NULL;
    }
}
