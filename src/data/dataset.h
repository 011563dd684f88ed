// In-memory example sets for every task type, and the readers that fill them (docs/data.md).
//
// An example is either text (with an optional second segment, `text_pair`) or a pre-split word sequence
// (token-level data), plus one label slot per named FIELD of its dataset. A field holds one kind of label:
// a class name, a list of class names (multi-label), a number (regression) or one tag per word (token
// tasks). Any slot may be MISSING: that example then carries no label for that task and is masked out of
// its loss, which is how one dataset serves several tasks with partial labels (single-input multi-task);
// one dataset per task is the other mode (multi-input).
//
// A dataset owns all its strings in an arena (few mallocs for 100k examples); label strings and file names
// are interned, so equal labels share one pointer. Every example remembers its source file:line for
// messages. Datasets are not thread-safe for writing; concurrent readers are fine.
#ifndef ONESTONE_DATA_DATASET_H
#define ONESTONE_DATA_DATASET_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum {
    OS_LABEL_MISSING = 0,  // no label (masked out of the loss); in reader specs: "the format's default kind"
    OS_LABEL_CLASS = 1,    // one class name (single-label classification)
    OS_LABEL_MULTI = 2,    // a list of class names (multi-label classification)
    OS_LABEL_NUMBER = 3,   // a real number (regression)
    OS_LABEL_TAGS = 4,     // one tag per word (token classification); needs word-level examples
} os_label_kind;

// "class", "multi-label", "number", "tags" or "missing" (for messages).
const char *os_label_kind_name(os_label_kind kind);

// One label slot. `kind` is the field's kind, or OS_LABEL_MISSING.
typedef struct {
    os_label_kind kind;
    uint32_t n;  // MULTI: number of names; TAGS: number of tags (== the example's n_words); else 0
    union {
        const char *name;    // CLASS: interned class name
        const char **names;  // MULTI: n interned names; TAGS: n interned tags, a NULL tag = masked position
        double number;       // NUMBER
    } v;
} os_label;

typedef struct {
    const char *text;       // UTF-8 (not validated), NUL-terminated; NULL for word-level examples
    const char *text_pair;  // second segment (sentence pairs), NULL when absent
    const char **words;     // word-level examples: n_words words; NULL for plain text examples
    uint32_t n_words;
    uint32_t doc;           // document index (CoNLL -DOCSTART- boundaries, counted from 0); 0 elsewhere
    const char *id;         // the example's id in the source (SemEval id, id column/key), NULL when none
    os_label *labels;       // one slot per field: labels[f] for field f of the dataset
    const char *file;       // source file name, interned
    size_t line;            // 1-based line where the example starts
} os_example;

typedef struct {
    const char *name;
    os_label_kind kind;
} os_field;

typedef struct os_dataset os_dataset;
struct os_dataset {
    os_example *ex;  // n examples, in file order
    size_t n;
    os_field *fields;  // n_fields label fields
    int n_fields;
    struct os_dataset_store *store;  // arena, intern table and capacities (private)
};

// ---- building ----

// A new empty dataset (*out is NULL on failure).
os_status os_dataset_new(os_dataset **out);
void os_dataset_free(os_dataset *ds);
// Adds a label field (kind CLASS, MULTI, NUMBER or TAGS); existing examples get MISSING for it.
// A second field of the same name is an OS_ERR_USAGE error. *index (may be NULL) gets the field index.
os_status os_dataset_add_field(os_dataset *ds, const char *name, os_label_kind kind, int *index);
// The index of the field called `name`, or -1.
int os_dataset_field(const os_dataset *ds, const char *name);
// Appends an empty example (no text, all labels MISSING) from file:line; NULL when out of memory (error
// set). The pointer is valid until the next push.
os_example *os_dataset_push(os_dataset *ds, const char *file, size_t line);
// Copies len bytes (plus a NUL) into the dataset's arena; NULL when out of memory.
char *os_dataset_strndup(os_dataset *ds, const char *s, size_t len);
// The dataset's single copy of the string s[0..len) (for labels); NULL when out of memory.
const char *os_dataset_intern(os_dataset *ds, const char *s, size_t len);
// Zeroed arena memory (8-byte aligned), freed with the dataset; NULL when out of memory.
void *os_dataset_alloc(os_dataset *ds, size_t size);

// ---- labels ----

// The distinct labels of a CLASS, MULTI or TAGS field, sorted by byte order (strcmp), so ids depend only
// on the label strings, never on file order. Missing labels and NULL tags are not counted.
typedef struct {
    char **names;  // n malloc'd copies, sorted
    int n;
} os_labelset;

// Collects the label set of field `field` (OS_ERR_USAGE for a NUMBER field or a bad index).
os_status os_dataset_labels(const os_dataset *ds, int field, os_labelset *out);
// The id (index into names) of `label`, or -1 when it is not in the set. Binary search.
int os_labelset_find(const os_labelset *ls, const char *label);
void os_labelset_free(os_labelset *ls);

// What to do with labels in a dev/test set that the training label set lacks.
typedef enum {
    OS_UNKNOWN_LABEL_ERROR = 0,   // fail with OS_ERR_INPUT naming file:line of the first one and the count
    OS_UNKNOWN_LABEL_IGNORE = 1,  // mask them (CLASS: slot MISSING; TAGS: that tag NULL; MULTI: name
                                  // dropped) and report them in *report; the caller must show the report
} os_unknown_policy;

typedef struct {
    size_t n_unknown;         // unknown label occurrences
    size_t n_examples;        // examples with at least one
    int n_distinct;           // distinct unknown labels
    const char *first_label;  // the first one in file order (owned by the dataset), NULL when none
    const char *first_file;
    size_t first_line;
    uint32_t first_word;      // TAGS: the 0-based word of the first one in its sentence; else 0
} os_unknown_report;

// Checks field `field` of `ds` (e.g. dev data) against `known` (the training label set). *report (may be
// NULL) is filled either way. ERROR policy with unknown labels: OS_ERR_INPUT, one line such as
// "dev.tsv:17: label 'neutral' of field 'label' is not in the training label set (2 known: 0, 1); 5
// unknown labels in 4 examples; fix the data or ignore unknown labels to mask them".
os_status os_dataset_check_labels(os_dataset *ds, int field, const os_labelset *known,
                                  os_unknown_policy policy, os_unknown_report *report);
// Formats a report as one warning line (e.g. for OS_UNKNOWN_LABEL_IGNORE) into buf.
void os_unknown_report_format(const os_unknown_report *r, const char *field, char *buf, size_t size);

// Examples with a (non-missing) label in field `field`.
size_t os_dataset_count_labeled(const os_dataset *ds, int field);

// ---- copying ----

// A new dataset holding copies of ds->ex[idx[0..n)] in that order, with the same fields.
os_status os_dataset_subset(const os_dataset *ds, const size_t *idx, size_t n, os_dataset **out);
// Concatenates datasets (e.g. one per task) into one single-input dataset: fields are united by name (the
// same name must have the same kind, else OS_ERR_INPUT) and each example keeps its own labels, with
// MISSING in the fields of the other parts.
os_status os_dataset_concat(os_dataset *const *parts, int n_parts, os_dataset **out);

#endif
