// SemEval-2010 Task 8 relation data: blocks of `ID<TAB>"sentence"`, a directed label line such as
// `Cause-Effect(e2,e1)` or `Other`, a `Comment:` line and a blank line. A block without a label line (the
// unlabeled test file) gives an example whose label is MISSING.
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "data/readers.h"
#include "util/fileio.h"

typedef struct {
    const char *name;
    os_dataset *ds;
    os_example *cur;  // the block being read, NULL between blocks
    size_t cur_line;
    int labeled;
} sem;

// Where `pat` occurs in s[0..len): how many times, and the first offset.
static int count_marker(const char *s, size_t len, const char *pat, size_t *at) {
    size_t pl = strlen(pat);
    int n = 0;
    for (size_t i = 0; i + pl <= len; i++)
        if (memcmp(s + i, pat, pl) == 0) {
            if (n++ == 0) *at = i;
            i += pl - 1;
        }
    return n;
}

static os_status check_markers(const sem *m, size_t line, const char *s, size_t len) {
    static const char *const marks[4] = {"<e1>", "</e1>", "<e2>", "</e2>"};
    size_t at[4] = {0};
    for (int k = 0; k < 4; k++) {
        int n = count_marker(s, len, marks[k], &at[k]);
        if (n != 1)
            return os_fail(OS_ERR_INPUT, "%s:%zu: the sentence has %d '%s' marker(s); it needs exactly one "
                                         "<e1>...</e1> and one <e2>...</e2>",
                           m->name, line, n, marks[k]);
    }
    if (at[1] < at[0] || at[3] < at[2])
        return os_fail(OS_ERR_INPUT, "%s:%zu: an entity's closing marker comes before its opening one; write "
                                     "<e1>...</e1> and <e2>...</e2>", m->name, line);
    if (!(at[1] < at[2] || at[3] < at[0]))
        return os_fail(OS_ERR_INPUT, "%s:%zu: the <e1> and <e2> entities overlap; they must be separate spans",
                       m->name, line);
    return OS_OK;
}

// `Other` or `Name(e1,e2)` / `Name(e2,e1)` where Name is letters, '-' and '_'.
static int valid_label(const char *s, size_t len) {
    size_t i = 0;
    while (i < len && (s[i] == '-' || s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
        i++;
    if (i == 0) return 0;
    if (i == len) return 1;
    return len - i == 7 && (memcmp(s + i, "(e1,e2)", 7) == 0 || memcmp(s + i, "(e2,e1)", 7) == 0);
}

static os_status sentence_line(sem *m, size_t line, const char *s, size_t len, size_t id_len) {
    os_example *ex = os_dataset_push(m->ds, m->name, line);
    if (!ex || !(ex->id = os_dataset_strndup(m->ds, s, id_len))) return OS_ERR_NOMEM;
    const char *t = s + id_len;
    size_t tl = len - id_len;
    ds_trim(&t, &tl);
    if (tl >= 2 && t[0] == '"' && t[tl - 1] == '"') {  // the outer quotes; quotes inside stay as they are
        t++;
        tl -= 2;
    }
    os_status st = check_markers(m, line, t, tl);
    if (st) return st;
    if (!(ex->text = os_dataset_strndup(m->ds, t, tl))) return OS_ERR_NOMEM;
    m->cur = ex;
    m->cur_line = line;
    m->labeled = 0;
    return OS_OK;
}

static os_status other_line(sem *m, size_t line, const char *s, size_t len) {
    const char *t = s;
    size_t tl = len;
    ds_trim(&t, &tl);
    int show = (int)(tl < DS_SHOW ? tl : DS_SHOW);
    if (!m->cur)
        return os_fail(OS_ERR_INPUT, "%s:%zu: expected a sentence line `ID<TAB>\"sentence\"`, got '%.*s'; each block "
                                     "starts with the example's number, a tab and the quoted sentence",
                       m->name, line, show, t);
    if (tl >= 7 && memcmp(t, "Comment", 7) == 0) return OS_OK;
    if (m->labeled)
        return os_fail(OS_ERR_INPUT, "%s:%zu: a second label line '%.*s' for the sentence on line %zu; each block "
                                     "is a sentence, one label, a Comment: line and a blank line",
                       m->name, line, show, t, m->cur_line);
    if (!valid_label(t, tl))
        return os_fail(OS_ERR_INPUT, "%s:%zu: '%.*s' is not a relation label; expected 'Other' or a directed label "
                                     "like 'Cause-Effect(e2,e1)'",
                       m->name, line, show, t);
    const char *name = os_dataset_intern(m->ds, t, tl);
    if (!name) return OS_ERR_NOMEM;
    m->cur->labels[0].kind = OS_LABEL_CLASS;
    m->cur->labels[0].v.name = name;
    m->labeled = 1;
    return OS_OK;
}

os_status os_parse_semeval(const char *name, const char *data, size_t len, const os_semeval_opts *o,
                           os_dataset **out) {
    sem m = {.name = name};
    ds_lines it;
    os_status st = ds_begin_parse(name, data, len, out, &m.ds, &it);
    if (st) return st;
    st = os_dataset_add_field(m.ds, o && o->field ? o->field : "relation", OS_LABEL_CLASS, NULL);
    const char *line;
    size_t n;
    while (!st && ds_lines_next(&it, &line, &n)) {
        if (ds_blank(line, n)) {
            m.cur = NULL;
            continue;
        }
        size_t id = 0;
        while (id < n && line[id] >= '0' && line[id] <= '9') id++;
        if (id > 0 && id < n && (line[id] == '\t' || line[id] == ' '))
            st = sentence_line(&m, it.lineno, line, n, id);
        else
            st = other_line(&m, it.lineno, line, n);
    }
    return ds_end_parse(name, st, &m.ds, out);
}

DS_DEFINE_READER(os_read_semeval, os_parse_semeval, os_semeval_opts)
