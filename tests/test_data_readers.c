// Dataset readers (CoNLL, TSV/CSV, JSONL, SemEval-2010 Task 8) and the example set: small files written
// into ONESTONE_TMP, well-formed and malformed.
#include "data/dataset.h"
#include "data/readers.h"
#include "data_testutil.h"

static const char *tags_of(const os_example *ex, int field, uint32_t i) {
    const os_label *l = &ex->labels[field];
    return l->kind == OS_LABEL_TAGS && i < l->n ? l->v.names[i] : NULL;
}

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

// ---- CoNLL ----

static const int conll_cols[2] = {3, 1};
static const char *const conll_names[2] = {"ner", "pos"};
static const os_conll_opts conll_opts = {.word_column = 0, .tag_columns = conll_cols, .tag_fields = conll_names,
                                         .n_tags = 2};

static void test_conll(void) {
    // Like CoNLL-2003 as shipped: no -DOCSTART- at the top, one at the very end without a newline, CRLF on
    // one line, several blank lines, trailing spaces.
    const char *path = dt_file("ok.conll",
                               "EU NNP I-NP I-ORG\n"
                               "rejects VBZ I-VP O\r\n"
                               "\n"
                               "\n"
                               "-DOCSTART- -X- O O\n"
                               "\n"
                               "Peter NNP I-NP I-PER  \n"
                               "Blackburn\tNNP\tI-NP\tI-PER\n"
                               "\n"
                               "-DOCSTART- -X- O O\n"
                               "\n"
                               "Caf\xc3\xa9 NN I-NP O\n"
                               "-DOCSTART- -X- O O");
    os_dataset *ds;
    CHECK(os_read_conll(path, &conll_opts, &ds) == OS_OK);
    if (!ds) return;
    CHECK(ds->n == 3 && ds->n_fields == 2);
    CHECK(streq(ds->fields[0].name, "ner") && ds->fields[0].kind == OS_LABEL_TAGS);
    CHECK(streq(ds->fields[1].name, "pos"));
    const os_example *e = &ds->ex[0];
    CHECK(e->n_words == 2 && streq(e->words[0], "EU") && streq(e->words[1], "rejects") && e->text == NULL);
    CHECK(streq(tags_of(e, 0, 0), "I-ORG") && streq(tags_of(e, 0, 1), "O") && streq(tags_of(e, 1, 1), "VBZ"));
    CHECK(e->line == 1 && e->doc == 0 && streq(e->file, path));
    e = &ds->ex[1];
    CHECK(e->n_words == 2 && streq(e->words[1], "Blackburn") && streq(tags_of(e, 0, 0), "I-PER"));
    CHECK(e->line == 7 && e->doc == 1);
    CHECK(ds->ex[2].doc == 2 && streq(ds->ex[2].words[0], "Caf\xc3\xa9"));
    // Tags are interned: equal tags share one pointer.
    CHECK(tags_of(&ds->ex[0], 0, 1) == tags_of(&ds->ex[2], 0, 0));
    os_labelset ls;
    CHECK(os_dataset_labels(ds, 0, &ls) == OS_OK);
    CHECK(ls.n == 3 && streq(ls.names[0], "I-ORG") && streq(ls.names[1], "I-PER") && streq(ls.names[2], "O"));
    CHECK(os_labelset_find(&ls, "O") == 2 && os_labelset_find(&ls, "B-LOC") == -1);
    os_labelset_free(&ls);
    os_dataset_free(ds);

    // A word-only file (no tag columns) and a CoNLL-U style file with comments.
    os_conll_opts words_only = {.word_column = 1, .comments = 1};
    const char *u = "# sent_id = 1\n1 Hello\n2 world\n";
    CHECK(os_parse_conll("u.conllu", u, strlen(u), &words_only, &ds) == OS_OK);
    CHECK(ds && ds->n == 1 && ds->ex[0].n_words == 2 && streq(ds->ex[0].words[0], "Hello") && ds->n_fields == 0);
    os_dataset_free(ds);
}

static void test_conll_malformed(void) {
    static const dt_case bad[] = {
        {"bad.conll", "EU NNP I-NP I-ORG\nrejects VBZ O\n", {"bad.conll:2:", "3 column", "expected 4"}},
        {"few.conll", "\n\nEU I-ORG\n", {"few.conll:3:", "column 3"}},
        {"empty.conll", "-DOCSTART- -X- O O\n\n\n", {"empty.conll", "no examples"}},
    };
    DT_BAD_CASES(bad, os_read_conll, &conll_opts);
    os_dataset *ds;
    os_conll_opts fixed = conll_opts;
    fixed.n_columns = 5;
    const char *p = dt_file("five.conll", "EU NNP I-NP I-ORG\n");
    DT_FAILS(os_read_conll(p, &fixed, &ds), OS_ERR_INPUT, "five.conll:1:", "expected 5 (the column count");
    static const char nul[] = "EU NNP I-NP I-ORG\n\nX\0Y NN I-NP O\n";
    p = dt_write("nul.conll", nul, sizeof nul - 1);
    DT_FAILS(os_read_conll(p, &conll_opts, &ds), OS_ERR_INPUT, "nul.conll:3:", "NUL");
    DT_FAILS(os_read_conll("no/such/file.conll", &conll_opts, &ds), OS_ERR_IO, "no/such/file.conll");
    os_conll_opts neg = {.word_column = -1};
    DT_FAILS(os_parse_conll("x", "a b\n", 4, &neg, &ds), OS_ERR_USAGE, "x:");
    CHECK(ds == NULL);
}

// ---- TSV / CSV ----

static void test_tsv(void) {
    // GLUE SST-2 shape: a space before the tab, then the label; an empty label cell is MISSING.
    const char *path = dt_file("sst.tsv",
                               "sentence\tlabel\n"
                               "hide new secretions from the parental units \t0\n"
                               "\n"
                               "a \"quoted\" word, kept \t1\r\n"
                               "no label here \t\n"
                               "bytes \xff\xfe pass \t1\n");
    os_label_spec lab = {.key = "label"};
    os_delim_opts o = {.text_column = "sentence", .labels = &lab, .n_labels = 1};
    os_dataset *ds;
    CHECK(os_read_delimited(path, &o, &ds) == OS_OK);
    if (!ds) return;
    CHECK(ds->n == 4 && ds->n_fields == 1 && ds->fields[0].kind == OS_LABEL_CLASS);
    CHECK(streq(ds->ex[0].text, "hide new secretions from the parental units"));
    CHECK(streq(ds->ex[0].labels[0].v.name, "0") && ds->ex[0].line == 2 && ds->ex[0].text_pair == NULL);
    CHECK(streq(ds->ex[1].text, "a \"quoted\" word, kept") && ds->ex[1].line == 4);
    CHECK(ds->ex[2].labels[0].kind == OS_LABEL_MISSING && ds->ex[2].line == 5);
    CHECK(streq(ds->ex[3].text, "bytes \xff\xfe pass"));  // invalid UTF-8 passes through
    CHECK(os_dataset_count_labeled(ds, 0) == 3);
    os_dataset_free(ds);

    // Pairs, ids, several label fields (single-input multi-task with partial labels), numbers, multi-label.
    path = dt_file("pairs.tsv",
                   "id\tsentence1\tsentence2\tlabel\tscore\ttopics\n"
                   "a1\tA man plays.\tSomeone plays.\tentailment\t4.5\tsport, music\n"
                   "a2\tA cat.\tA dog.\t\t0\t\n"
                   "a3\tRain.\tSun.\tcontradiction\t\t,\n");
    os_label_spec labs[3] = {{.key = "label", .field = "nli"},
                             {.key = "score", .kind = OS_LABEL_NUMBER},
                             {.key = "topics", .kind = OS_LABEL_MULTI}};
    os_delim_opts po = {.text_column = "sentence1", .pair_column = "sentence2", .id_column = "id",
                        .labels = labs, .n_labels = 3};
    CHECK(os_read_delimited(path, &po, &ds) == OS_OK);
    if (!ds) return;
    CHECK(ds->n == 3 && ds->n_fields == 3 && os_dataset_field(ds, "nli") == 0 && os_dataset_field(ds, "score") == 1);
    CHECK(streq(ds->ex[0].text_pair, "Someone plays.") && streq(ds->ex[0].id, "a1"));
    CHECK(ds->ex[0].labels[1].kind == OS_LABEL_NUMBER && ds->ex[0].labels[1].v.number == 4.5);
    const os_label *t = &ds->ex[0].labels[2];
    CHECK(t->kind == OS_LABEL_MULTI && t->n == 2 && streq(t->v.names[0], "sport") && streq(t->v.names[1], "music"));
    CHECK(ds->ex[1].labels[0].kind == OS_LABEL_MISSING && ds->ex[1].labels[1].v.number == 0);
    CHECK(ds->ex[1].labels[2].kind == OS_LABEL_MISSING);
    CHECK(ds->ex[2].labels[1].kind == OS_LABEL_MISSING);
    CHECK(ds->ex[2].labels[2].kind == OS_LABEL_MULTI && ds->ex[2].labels[2].n == 0);
    CHECK(os_dataset_count_labeled(ds, 0) == 2 && os_dataset_count_labeled(ds, 1) == 2);
    os_dataset_free(ds);
}

static void test_tsv_malformed(void) {
    static const dt_case bad[] = {
        {"cells.tsv", "sentence\tlabel\nfine\t1\nan extra\ttab\t1\n", {"cells.tsv:3:", "3 cell", "has 2"}},
        {"nocol.tsv", "text\tlabel\nfine\t1\n", {"nocol.tsv:1:", "'sentence'", "'text'"}},
        {"dup.tsv", "sentence\tsentence\tlabel\na\tb\t1\n", {"dup.tsv:1:", "twice"}},
        {"hdr.tsv", "sentence\tlabel\n\n", {"hdr.tsv", "no examples"}},
        {"void.tsv", "", {"void.tsv", "no header"}},
    };
    os_label_spec lab = {.key = "label"};
    os_delim_opts o = {.text_column = "sentence", .labels = &lab, .n_labels = 1};
    DT_BAD_CASES(bad, os_read_delimited, &o);
    static const dt_case bad_num[] = {
        {"num.tsv", "sentence\tlabel\na\t1.5\nb\t2.x\n", {"num.tsv:3:", "'label'", "2.x"}},
        {"inf.tsv", "sentence\tlabel\na\tinf\n", {"inf.tsv:2:", "finite"}},
    };
    lab.kind = OS_LABEL_NUMBER;
    DT_BAD_CASES(bad_num, os_read_delimited, &o);
    lab.kind = OS_LABEL_TAGS;
    os_dataset *ds;
    DT_FAILS(os_read_delimited(dt_file("tags.tsv", "sentence\tlabel\na\tO\n"), &o, &ds), OS_ERR_USAGE, "tags.tsv");
    CHECK(ds == NULL);
}

static void test_csv(void) {
    // RFC 4180: quoted commas, doubled quotes, a newline inside quotes, CRLF rows, a byte-order mark.
    const char *path = dt_file("r.csv",
                               "\xEF\xBB\xBFtext,label\r\n"
                               "\"Hello, world\",pos\r\n"
                               "\"She said \"\"hi\"\"\",neg\r\n"
                               "\"two\nlines\",pos\r\n"
                               "plain \"inner\" quote,\r\n"
                               "\"\",neg");
    os_label_spec lab = {.key = "label"};
    os_delim_opts o = {.text_column = "text", .labels = &lab, .n_labels = 1};
    os_dataset *ds;
    CHECK(os_read_delimited(path, &o, &ds) == OS_OK);  // AUTO: .csv
    if (!ds) return;
    CHECK(ds->n == 5);
    CHECK(streq(ds->ex[0].text, "Hello, world") && streq(ds->ex[0].labels[0].v.name, "pos"));
    CHECK(streq(ds->ex[1].text, "She said \"hi\""));
    CHECK(streq(ds->ex[2].text, "two\nlines") && ds->ex[2].line == 4);
    CHECK(streq(ds->ex[3].text, "plain \"inner\" quote") && ds->ex[3].line == 6);
    CHECK(ds->ex[3].labels[0].kind == OS_LABEL_MISSING);
    CHECK(streq(ds->ex[4].text, "") && ds->ex[4].line == 7);
    os_dataset_free(ds);

    // The same file read as TSV: one column named "text,label" (after the BOM), so no 'text' column.
    os_delim_opts ot = o;
    ot.format = OS_DELIM_TSV;
    DT_FAILS(os_read_delimited(path, &ot, &ds), OS_ERR_INPUT, "r.csv:1:", "'text,label'");

    // A buffer without a terminating NUL that ends right after a separator: an empty last cell.
    static const char tail[] = "text,label\nx,";
    char *exact = malloc(sizeof tail - 1);
    if (exact) {
        memcpy(exact, tail, sizeof tail - 1);
        CHECK(os_parse_delimited("tail.csv", exact, sizeof tail - 1, &o, &ds) == OS_OK);
        CHECK(ds && ds->n == 1 && ds->ex[0].labels[0].kind == OS_LABEL_MISSING);
        os_dataset_free(ds);
        free(exact);
    }

    static const dt_case bad[] = {
        {"open.csv", "text,label\nok,1\n\"never closed,1\nmore,2\n", {"open.csv:3:1:", "never closed"}},
        {"after.csv", "text,label\n\"quoted\"x,1\n", {"after.csv:2:9:", "closing quote"}},
        {"width.csv", "text,label\n\"a\nb\",1\nx,1,2\n", {"width.csv:4:", "3 cell"}},
    };
    DT_BAD_CASES(bad, os_read_delimited, &o);
}

// ---- JSONL ----

static void test_jsonl(void) {
    const char *path = dt_file("t.jsonl",
                               "{\"id\": 7, \"text\": \"caf\\u00e9 ok\", \"label\": \"pos\", \"score\": 0.5, "
                               "\"topics\": [\"a\", \"b\"]}\n"
                               "\n"
                               "{\"text\": \"second\", \"pair\": \"other\", \"label\": null, \"score\": 1.25}\r\n"
                               "{\"text\": \"third\", \"label\": 3, \"topics\": []}\n");
    os_label_spec labs[3] = {{.key = "label", .field = "sentiment"}, {.key = "score"}, {.key = "topics"}};
    os_jsonl_opts o = {.pair_key = "pair", .id_key = "id", .labels = labs, .n_labels = 3};
    os_dataset *ds;
    CHECK(os_read_jsonl(path, &o, &ds) == OS_OK);
    if (!ds) return;
    CHECK(ds->n == 3 && ds->n_fields == 3);
    CHECK(ds->fields[0].kind == OS_LABEL_CLASS && ds->fields[1].kind == OS_LABEL_NUMBER);
    CHECK(ds->fields[2].kind == OS_LABEL_MULTI && streq(ds->fields[0].name, "sentiment"));
    CHECK(streq(ds->ex[0].text, "caf\xc3\xa9 ok") && streq(ds->ex[0].id, "7") && ds->ex[0].line == 1);
    CHECK(ds->ex[0].labels[2].n == 2 && streq(ds->ex[0].labels[2].v.names[1], "b"));
    CHECK(ds->ex[1].labels[0].kind == OS_LABEL_MISSING && ds->ex[1].labels[1].v.number == 1.25);
    CHECK(streq(ds->ex[1].text_pair, "other") && ds->ex[1].line == 3 && ds->ex[1].id == NULL);
    CHECK(ds->ex[1].labels[2].kind == OS_LABEL_MISSING);
    CHECK(streq(ds->ex[2].labels[0].v.name, "3") && ds->ex[2].labels[1].kind == OS_LABEL_MISSING);
    CHECK(ds->ex[2].labels[2].kind == OS_LABEL_MULTI && ds->ex[2].labels[2].n == 0);
    os_dataset_free(ds);

    // Word-level examples with per-word tags (null = masked position) and a sentence-level field.
    path = dt_file("w.jsonl", "{\"tokens\": [\"Paris\", \"is\", \"big\"], \"ner\": [\"B-LOC\", null, \"O\"], "
                              "\"topic\": \"geo\"}\n"
                              "{\"tokens\": [\"Hi\"], \"topic\": \"chat\"}\n");
    os_label_spec wl[2] = {{.key = "ner"}, {.key = "topic", .kind = OS_LABEL_CLASS}};
    os_jsonl_opts wo = {.words_key = "tokens", .labels = wl, .n_labels = 2};
    CHECK(os_read_jsonl(path, &wo, &ds) == OS_OK);
    if (!ds) return;
    CHECK(ds->n == 2 && ds->fields[0].kind == OS_LABEL_TAGS && ds->ex[0].n_words == 3 && ds->ex[0].text == NULL);
    CHECK(streq(tags_of(&ds->ex[0], 0, 0), "B-LOC") && tags_of(&ds->ex[0], 0, 1) == NULL);
    CHECK(ds->ex[1].labels[0].kind == OS_LABEL_MISSING && streq(ds->ex[1].labels[1].v.name, "chat"));
    os_labelset ls;
    CHECK(os_dataset_labels(ds, 0, &ls) == OS_OK && ls.n == 2);  // the NULL tag is not a label
    os_labelset_free(&ls);
    os_dataset_free(ds);
}

static void test_jsonl_malformed(void) {
    static const dt_case bad[] = {
        {"bad.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n\n{\"text\": \"b\", \"label\": }\n",
         {"bad.jsonl:3:24:", "invalid JSON"}},
        {"arr.jsonl", "[1, 2]\n", {"arr.jsonl:1:", "not a JSON object"}},
        {"notext.jsonl", "{\"label\": \"x\"}\n", {"notext.jsonl:1:", "'text'"}},
        {"mix.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": [\"x\"]}\n",
         {"mix.jsonl:2:", "on line 1"}},
        {"utf8.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"bad \xff byte\"}\n", {"utf8.jsonl:2:", "0xff"}},
        {"dupkey.jsonl", "{\"text\": \"a\", \"text\": \"b\"}\n", {"dupkey.jsonl:1:", "duplicate"}},
    };
    os_label_spec lab = {.key = "label"};
    os_jsonl_opts o = {.labels = &lab, .n_labels = 1};
    DT_BAD_CASES(bad, os_read_jsonl, &o);
    lab.kind = OS_LABEL_NUMBER;
    static const dt_case bad_num[] = {
        {"num.jsonl", "{\"text\": \"a\", \"label\": \"high\"}\n", {"num.jsonl:1:", "'label'", "a number"}},
    };
    DT_BAD_CASES(bad_num, os_read_jsonl, &o);
    static const dt_case bad_words[] = {
        {"len.jsonl", "{\"words\": [\"a\", \"b\"], \"tags\": [\"O\"]}\n", {"len.jsonl:1:", "1 tags for 2 words"}},
        {"words.jsonl", "{\"words\": [\"a\", 3]}\n", {"words.jsonl:1:", "word 1"}},
        {"nowords.jsonl", "{\"words\": []}\n", {"nowords.jsonl:1:", "empty"}},
    };
    os_label_spec tg = {.key = "tags", .kind = OS_LABEL_TAGS};
    os_jsonl_opts wo = {.words_key = "words", .labels = &tg, .n_labels = 1};
    DT_BAD_CASES(bad_words, os_read_jsonl, &wo);
    os_jsonl_opts tags_no_words = {.labels = &tg, .n_labels = 1};
    os_dataset *ds;
    DT_FAILS(os_parse_jsonl("x.jsonl", "{}", 2, &tags_no_words, &ds), OS_ERR_USAGE, "x.jsonl");
    CHECK(ds == NULL);
}

// ---- SemEval-2010 Task 8 ----

static void test_semeval(void) {
    const char *path = dt_file("sem.txt",
                               "1\t\"The system has an arrayed <e1>configuration</e1> of antenna <e2>elements</e2>.\"\n"
                               "Component-Whole(e2,e1)\n"
                               "Comment: Not a collection: there is structure here, organisation.\n"
                               "\n"
                               "30\t\"The <e1>timer</e1> eliminates \"standby power\" <e2>use</e2>.\"\r\n"
                               "Other\r\n"
                               "Comment:\r\n"
                               "\r\n");
    os_dataset *ds;
    CHECK(os_read_semeval(path, NULL, &ds) == OS_OK);
    if (!ds) return;
    CHECK(ds->n == 2 && ds->n_fields == 1 && streq(ds->fields[0].name, "relation"));
    CHECK(streq(ds->ex[0].text, "The system has an arrayed <e1>configuration</e1> of antenna <e2>elements</e2>."));
    CHECK(streq(ds->ex[0].id, "1") && streq(ds->ex[0].labels[0].v.name, "Component-Whole(e2,e1)"));
    CHECK(streq(ds->ex[1].text, "The <e1>timer</e1> eliminates \"standby power\" <e2>use</e2>."));
    CHECK(streq(ds->ex[1].labels[0].v.name, "Other") && ds->ex[1].line == 5 && streq(ds->ex[1].id, "30"));
    os_dataset_free(ds);

    // The unlabeled test-file layout: sentence lines only.
    const char *t = "8001\t\"<e1>A</e1> b <e2>c</e2>\"\n8002\t\"<e2>x</e2> and <e1>y</e1>\"\n";
    os_semeval_opts so = {.field = "rel"};
    CHECK(os_parse_semeval("test.txt", t, strlen(t), &so, &ds) == OS_OK);
    CHECK(ds && ds->n == 2 && ds->ex[1].labels[0].kind == OS_LABEL_MISSING && streq(ds->fields[0].name, "rel"));
    os_dataset_free(ds);
}

static void test_semeval_malformed(void) {
    static const dt_case bad[] = {
        {"e2.txt", "1\t\"<e1>a</e1> b\"\nOther\nComment:\n\n2\t\"x\"\n", {"e2.txt:1:", "'<e2>'"}},
        {"twice.txt", "1\t\"<e1>a</e1> <e2>b</e2>\"\nOther\n\n2\t\"<e1>a</e1> <e1>b</e1> <e2>c</e2>\"\n",
         {"twice.txt:4:", "2 '<e1>'"}},
        {"order.txt", "1\t\"</e1>a<e1> <e2>b</e2>\"\n", {"order.txt:1:", "closing"}},
        {"nest.txt", "1\t\"<e1>a <e2>b</e2></e1>\"\n", {"nest.txt:1:", "overlap"}},
        {"label.txt", "1\t\"<e1>a</e1> <e2>b</e2>\"\nCause-Effect(e1,e3)\n", {"label.txt:2:", "Cause-Effect(e1,e3)"}},
        {"two.txt", "1\t\"<e1>a</e1> <e2>b</e2>\"\nOther\nOther\n", {"two.txt:3:", "second label", "line 1"}},
        {"first.txt", "Other\n1\t\"<e1>a</e1> <e2>b</e2>\"\n", {"first.txt:1:", "sentence line"}},
    };
    DT_BAD_CASES(bad, os_read_semeval, NULL);
}

// ---- the example set ----

static os_dataset *class_set(const char *file, const char *const *labels, int n) {
    os_dataset *ds;
    if (os_dataset_new(&ds) || os_dataset_add_field(ds, "label", OS_LABEL_CLASS, NULL)) return NULL;
    for (int i = 0; i < n; i++) {
        os_example *ex = os_dataset_push(ds, file, (size_t)i + 2);
        ex->text = os_dataset_strndup(ds, "x", 1);
        if (labels[i]) {
            ex->labels[0].kind = OS_LABEL_CLASS;
            ex->labels[0].v.name = os_dataset_intern(ds, labels[i], strlen(labels[i]));
        }
    }
    return ds;
}

static void test_unknown_labels(void) {
    const char *tl[4] = {"pos", "neg", "pos", NULL};
    const char *dl[5] = {"pos", "neutral", NULL, "mixed", "neutral"};
    os_dataset *train = class_set("train.tsv", tl, 4), *dev = class_set("dev.tsv", dl, 5);
    if (!train || !dev) return;
    os_labelset known;
    CHECK(os_dataset_labels(train, 0, &known) == OS_OK && known.n == 2 && streq(known.names[0], "neg"));
    os_unknown_report r;
    DT_FAILS(os_dataset_check_labels(dev, 0, &known, OS_UNKNOWN_LABEL_ERROR, &r), OS_ERR_INPUT, "dev.tsv:3:",
             "'neutral'", "2 known: neg, pos", "3 unknown", "2 distinct");
    CHECK(r.n_unknown == 3 && r.n_examples == 3 && r.n_distinct == 2 && r.first_line == 3);
    CHECK(dev->ex[1].labels[0].kind == OS_LABEL_CLASS);  // the error policy changes nothing
    CHECK(os_dataset_check_labels(dev, 0, &known, OS_UNKNOWN_LABEL_IGNORE, &r) == OS_OK && r.n_unknown == 3);
    CHECK(dev->ex[1].labels[0].kind == OS_LABEL_MISSING && dev->ex[0].labels[0].kind == OS_LABEL_CLASS);
    CHECK(os_dataset_count_labeled(dev, 0) == 1);
    char msg[256];
    os_unknown_report_format(&r, "label", msg, sizeof msg);
    CHECK(strstr(msg, "dev.tsv:3") && strstr(msg, "3 label(s)"));
    CHECK(os_dataset_check_labels(dev, 0, &known, OS_UNKNOWN_LABEL_ERROR, &r) == OS_OK && r.n_unknown == 0);
    os_labelset_free(&known);
    os_dataset_free(train);
    os_dataset_free(dev);

    // Token tags: an unknown tag is masked in place (NULL), the rest of the sentence keeps its labels.
    const int col[1] = {1};
    os_conll_opts co = {.tag_columns = col, .n_tags = 1};
    const char *a = "a O\nb B-X\n\nc O\n", *b = "a O\nb B-Y\n";
    os_dataset *tr, *dv;
    CHECK(os_parse_conll("tr", a, strlen(a), &co, &tr) == OS_OK);
    CHECK(os_parse_conll("dv", b, strlen(b), &co, &dv) == OS_OK);
    if (!tr || !dv) return;
    CHECK(os_dataset_labels(tr, 0, &known) == OS_OK);
    DT_FAILS(os_dataset_check_labels(dv, 0, &known, OS_UNKNOWN_LABEL_ERROR, NULL), OS_ERR_INPUT, "dv:1:",
             "'B-Y' (word 2");
    CHECK(os_dataset_check_labels(dv, 0, &known, OS_UNKNOWN_LABEL_IGNORE, &r) == OS_OK && r.n_unknown == 1);
    CHECK(streq(tags_of(&dv->ex[0], 0, 0), "O") && tags_of(&dv->ex[0], 0, 1) == NULL);
    os_labelset_free(&known);
    // A numeric field has no label set.
    CHECK(os_dataset_labels(tr, 5, &known) == OS_ERR_USAGE);
    os_dataset_free(tr);
    os_dataset_free(dv);
}

static void test_concat_and_fields(void) {
    // Multi-input data (one set per task) concatenated into one single-input set with partial labels.
    const int ner_col[1] = {1};
    const char *const ner_name[1] = {"ner"};
    os_conll_opts co = {.tag_columns = ner_col, .tag_fields = ner_name, .n_tags = 1};
    const char *c = "Paris B-LOC\n";
    const char *t = "text\tlabel\nnice\tpos\n";
    os_label_spec lab = {.key = "label", .field = "sentiment"};
    os_delim_opts to = {.text_column = "text", .labels = &lab, .n_labels = 1};
    os_dataset *parts[2], *all;
    CHECK(os_parse_conll("a.conll", c, strlen(c), &co, &parts[0]) == OS_OK);
    CHECK(os_parse_delimited("b.tsv", t, strlen(t), &to, &parts[1]) == OS_OK);
    if (!parts[0] || !parts[1]) return;
    CHECK(os_dataset_concat(parts, 2, &all) == OS_OK);
    if (!all) return;
    CHECK(all->n == 2 && all->n_fields == 2);
    int ner = os_dataset_field(all, "ner"), sen = os_dataset_field(all, "sentiment");
    CHECK(ner >= 0 && sen >= 0);
    CHECK(all->ex[0].labels[ner].kind == OS_LABEL_TAGS && all->ex[0].labels[sen].kind == OS_LABEL_MISSING);
    CHECK(all->ex[1].labels[sen].kind == OS_LABEL_CLASS && all->ex[1].labels[ner].kind == OS_LABEL_MISSING);
    CHECK(streq(all->ex[1].file, "b.tsv") && all->ex[1].line == 2 && streq(all->ex[0].words[0], "Paris"));
    // A field added after the examples exist is MISSING for all of them.
    int extra;
    CHECK(os_dataset_add_field(all, "extra", OS_LABEL_NUMBER, &extra) == OS_OK && extra == 2);
    CHECK(all->ex[0].labels[extra].kind == OS_LABEL_MISSING && all->ex[1].labels[sen].kind == OS_LABEL_CLASS);
    CHECK(os_dataset_add_field(all, "extra", OS_LABEL_NUMBER, NULL) == OS_ERR_USAGE);
    os_dataset_free(all);
    // Same field name, different kinds: an error naming the field.
    os_dataset_free(parts[1]);
    os_label_spec clash = {.key = "label", .field = "ner"};
    to.labels = &clash;
    CHECK(os_parse_delimited("b.tsv", t, strlen(t), &to, &parts[1]) == OS_OK);
    DT_FAILS(os_dataset_concat(parts, 2, &all), OS_ERR_INPUT, "b.tsv", "'ner' holds class labels", "tags");
    os_dataset_free(parts[0]);
    os_dataset_free(parts[1]);
}

int main(void) {
    RUN(test_conll);
    RUN(test_conll_malformed);
    RUN(test_tsv);
    RUN(test_tsv_malformed);
    RUN(test_csv);
    RUN(test_jsonl);
    RUN(test_jsonl_malformed);
    RUN(test_semeval);
    RUN(test_semeval_malformed);
    RUN(test_unknown_labels);
    RUN(test_concat_and_fields);
    return th_finish();
}
