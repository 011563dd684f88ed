#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/auth.h"

// Tokens longer than this are refused at load time; it also bounds the comparison loop.
#define SV_TOKEN_MAX 4096

static int valid_token(const char *t) {
    if (!*t) return 0;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p <= ' ' || *p == 0x7f) return 0;
    return strlen(t) <= SV_TOKEN_MAX;
}

char *sv_token_load(const char *file, const char *env, char *err, size_t errlen) {
    char *tok = NULL;
    const char *where;
    if (file) {
        where = file;
        FILE *f = fopen(file, "r");
        if (!f) {
            snprintf(err, errlen, "%s: cannot read the token file: %s", file, strerror(errno));
            return NULL;
        }
        size_t cap = 0;
        ssize_t n = getline(&tok, &cap, f);
        fclose(f);
        if (n < 0) {
            free(tok);
            snprintf(err, errlen, "%s: the token file is empty", file);
            return NULL;
        }
        while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            tok[--n] = '\0';
    } else {
        where = env;
        const char *v = getenv(env);
        if (!v) {
            snprintf(err, errlen, "the environment variable %s is not set", env);
            return NULL;
        }
        tok = strdup(v);
        if (!tok) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
    }
    if (!valid_token(tok)) {
        free(tok);
        snprintf(err, errlen, "%s: the token must be 1 to %d printable characters without spaces", where,
                 SV_TOKEN_MAX);
        return NULL;
    }
    return tok;
}

int sv_token_check(const char *header, const char *token) {
    static const char prefix[] = "Bearer ";
    if (!header || strncmp(header, prefix, sizeof prefix - 1)) return 0;
    const char *given = header + sizeof prefix - 1;
    size_t glen = strnlen(given, SV_TOKEN_MAX + 1), tlen = strlen(token);
    // Every byte of the token is compared whatever the given value, so the time taken does not depend on
    // how many leading bytes match.
    unsigned char diff = glen != tlen;
    for (size_t i = 0; i < tlen; i++) diff |= (unsigned char)(token[i] ^ (i < glen ? given[i] : 0));
    return diff == 0;
}
