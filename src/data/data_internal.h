// Helpers shared by the dataset readers (not part of the public API).
#ifndef ONESTONE_DATA_INTERNAL_H
#define ONESTONE_DATA_INTERNAL_H
#include <stddef.h>

#include "data/dataset.h"

// Readers' label cells longer than this in messages are cut.
#define DS_SHOW 60

// Checks a reader's input: a NUL byte is an error naming its line; a UTF-8 byte-order mark is skipped.
// *start gets the offset of the first byte to parse.
os_status ds_check_input(const char *name, const char *data, size_t len, size_t *start);

// Line iterator over [p, end): lines end in LF or CRLF (the CR is dropped); the last line may lack one.
typedef struct {
    const char *p, *end;
    size_t lineno;  // line number of the line returned last (1-based)
} ds_lines;

void ds_lines_init(ds_lines *it, const char *data, size_t len, size_t start);
// The next line (not NUL-terminated) in *line/*len; 0 at the end.
int ds_lines_next(ds_lines *it, const char **line, size_t *len);

// Starts a parse: *out = NULL, ds_check_input, a new empty *ds and a line iterator *it over the input.
os_status ds_begin_parse(const char *name, const char *data, size_t len, os_dataset **out, os_dataset **ds,
                         ds_lines *it);

// True when s[0..len) holds only spaces, tabs and CRs.
int ds_blank(const char *s, size_t len);
// Strips leading and trailing spaces and tabs of s[0..*len), moving *s.
void ds_trim(const char **s, size_t *len);

// Sets ex->labels[field] from the text of a cell: empty (after trimming) = MISSING; CLASS: the trimmed
// text; MULTI: names split on `sep` (each trimmed, empty ones dropped); NUMBER: a finite strtod number
// or an error "name:line: column 'col' ...".
os_status ds_label_from_cell(os_dataset *ds, os_example *ex, int field, const char *s, size_t len, char sep,
                             const char *name, size_t line, const char *col);

// Ends a parse: a dataset without examples is an OS_ERR_INPUT error ("name: no examples ..."); otherwise
// hands it to *out.
os_status ds_finish(const char *name, os_dataset **ds, os_dataset **out);
// ds_finish after a parse that returned st: on failure frees *ds and returns st.
os_status ds_end_parse(const char *name, os_status st, os_dataset **ds, os_dataset **out);

// Defines `os_status READ(const char *path, const OPTS *o, os_dataset **out)`: reads the file, runs PARSE on
// it (naming the path in messages) and frees the buffer.
#define DS_DEFINE_READER(READ, PARSE, OPTS)                                   \
    os_status READ(const char *path, const OPTS *o, os_dataset **out) {      \
        char *buf;                                                           \
        size_t len;                                                          \
        *out = NULL;                                                         \
        os_status st = os_read_file(path, &buf, &len);                       \
        if (st == OS_OK) st = PARSE(path, buf, len, o, out);                 \
        free(buf);                                                           \
        return st;                                                           \
    }
// Frees *ds and sets it NULL, then returns st (for `return ds_abandon(&ds, st)`).
os_status ds_abandon(os_dataset **ds, os_status st);
#endif
