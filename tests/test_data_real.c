// The readers on the real data sets under $ONESTONE_DATA (skipped, with a message, when it is not set or a
// file is absent): counts from each folder's SOURCE.md, label sets, dev carving, load times.
#include <time.h>

#include "data/readers.h"
#include "data/split.h"
#include "data_testutil.h"

static char *data_path(const char *rel) {
    const char *root = getenv("ONESTONE_DATA");
    if (!root || !*root) return NULL;
    char *p = os_path_join(root, rel);
    if (p && !os_path_exists(p)) {
        printf("skip: %s is absent\n", p);
        free(p);
        return NULL;
    }
    return p;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t count_class(const os_dataset *ds, int field, const char *name) {
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const os_label *l = &ds->ex[i].labels[field];
        k += l->kind == OS_LABEL_CLASS && strcmp(l->v.name, name) == 0;
    }
    return k;
}

// IOB1 entity chunks of one type: a chunk starts at B-T, or at I-T after a tag of another type.
static size_t count_chunks(const os_dataset *ds, int field, const char *type) {
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++) {
        const os_label *l = &ds->ex[i].labels[field];
        for (uint32_t j = 0; j < l->n; j++) {
            const char *t = l->v.names[j];
            if (strlen(t) < 3 || strcmp(t + 2, type) != 0) continue;
            const char *prev = j ? l->v.names[j - 1] : "O";
            k += t[0] == 'B' || strlen(prev) < 3 || strcmp(prev + 2, type) != 0;
        }
    }
    return k;
}

static const int conll_cols[3] = {3, 1, 2};
static const char *const conll_fields[3] = {"ner", "pos", "chunk"};
static const os_conll_opts conll_opts = {.word_column = 0, .tag_columns = conll_cols, .tag_fields = conll_fields,
                                         .n_tags = 3};

static void check_conll(const char *rel, size_t sentences, size_t tokens, uint32_t docs, const size_t ent[4],
                        os_dataset **keep) {
    char *path = data_path(rel);
    if (!path) return;
    os_dataset *ds;
    double t0 = now_ms();
    os_status st = os_read_conll(path, &conll_opts, &ds);
    double ms = now_ms() - t0;
    CHECK_MSG(st == OS_OK, "%s", os_last_error());
    free(path);
    if (st) return;
    size_t n_tok = 0;
    uint32_t max_doc = 0;
    for (size_t i = 0; i < ds->n; i++) {
        n_tok += ds->ex[i].n_words;
        if (ds->ex[i].doc > max_doc) max_doc = ds->ex[i].doc;
    }
    printf("  %s: %zu sentences, %zu tokens, %u documents in %.1f ms\n", rel, ds->n, n_tok, max_doc + 1, ms);
    CHECK(ds->n == sentences && n_tok == tokens && max_doc + 1 == docs);
    static const char *const types[4] = {"LOC", "MISC", "ORG", "PER"};
    for (int k = 0; k < 4; k++) CHECK_MSG(count_chunks(ds, 0, types[k]) == ent[k], "%s %s", rel, types[k]);
    os_labelset ls;
    CHECK(os_dataset_labels(ds, 0, &ls) == OS_OK && ls.n >= 5 && os_labelset_find(&ls, "I-PER") >= 0);
    os_labelset_free(&ls);
    if (keep)
        *keep = ds;
    else
        os_dataset_free(ds);
}

static void test_conll2003(void) {
    static const size_t train_ent[4] = {7140, 3438, 6321, 6600}, dev_ent[4] = {1837, 922, 1341, 1842};
    os_dataset *train = NULL, *dev = NULL;
    check_conll("conll2003/eng.train", 14041, 203621, 946, train_ent, &train);
    check_conll("conll2003/eng.testa", 3250, 51362, 216, dev_ent, &dev);
    if (train && dev) {
        // The official dev split's tags against the training tag set, for every tag column.
        for (int f = 0; f < 3; f++) {
            os_labelset ls;
            os_unknown_report r;
            CHECK(os_dataset_labels(train, f, &ls) == OS_OK);
            os_status st = os_dataset_check_labels(dev, f, &ls, OS_UNKNOWN_LABEL_IGNORE, &r);
            char msg[300];
            os_unknown_report_format(&r, conll_fields[f], msg, sizeof msg);
            printf("  eng.testa vs eng.train: %d %s tags; %s\n", ls.n, conll_fields[f], msg);
            CHECK(st == OS_OK && (f != 0 || r.n_unknown == 0));
            os_labelset_free(&ls);
        }
    }
    os_dataset_free(train);
    os_dataset_free(dev);
}

static void test_semeval(void) {
    char *path = data_path("semeval2010_task8/TRAIN_FILE.TXT");
    if (!path) return;
    os_dataset *ds;
    double t0 = now_ms();
    os_status st = os_read_semeval(path, NULL, &ds);
    double ms = now_ms() - t0;
    free(path);
    CHECK_MSG(st == OS_OK, "%s", os_last_error());
    if (st) return;
    printf("  semeval2010_task8/TRAIN_FILE.TXT: %zu examples in %.1f ms\n", ds->n, ms);
    CHECK(ds->n == 8000 && os_dataset_count_labeled(ds, 0) == 8000);
    int ids_ok = 1;
    for (size_t i = 0; i < ds->n; i++) ids_ok &= strtoul(ds->ex[i].id, NULL, 10) == i + 1;
    CHECK(ids_ok);
    CHECK(strncmp(ds->ex[0].text, "The system as described above", 29) == 0);
    os_labelset ls;
    CHECK(os_dataset_labels(ds, 0, &ls) == OS_OK && ls.n == 19);
    os_labelset_free(&ls);
    CHECK(count_class(ds, 0, "Other") == 1410 && count_class(ds, 0, "Entity-Destination(e1,e2)") == 844);
    CHECK(count_class(ds, 0, "Entity-Destination(e2,e1)") == 1);
    // A fixed random 10% dev set, stratified by relation: every dev label is a train label.
    os_split_opts o = {.dev_fraction = 0.1, .seed = 2010, .stratify_field = "relation"};
    os_dataset *train, *dev;
    CHECK(os_dataset_split(ds, &o, &train, &dev) == OS_OK);
    if (train && dev) {
        CHECK(dev->n == 800 && train->n == 7200);
        CHECK(count_class(dev, 0, "Other") == 141 && count_class(train, 0, "Entity-Destination(e2,e1)") == 1);
        size_t tail = 0;  // ids 7110-8000 come from SemEval-2007: dev must not be drawn from them only
        for (size_t i = 0; i < dev->n; i++) tail += strtoul(dev->ex[i].id, NULL, 10) >= 7110;
        CHECK(tail < 200);
        CHECK(os_dataset_labels(train, 0, &ls) == OS_OK);
        CHECK(os_dataset_check_labels(dev, 0, &ls, OS_UNKNOWN_LABEL_ERROR, NULL) == OS_OK);
        os_labelset_free(&ls);
    }
    os_dataset_free(train);
    os_dataset_free(dev);
    os_dataset_free(ds);
}

static void test_sst2(void) {
    char *path = data_path("sst2/train.tsv");
    if (!path) return;
    os_label_spec lab = {.key = "label"};
    os_delim_opts o = {.text_column = "sentence", .labels = &lab, .n_labels = 1};
    os_dataset *ds;
    double t0 = now_ms();
    os_status st = os_read_delimited(path, &o, &ds);
    double ms = now_ms() - t0;
    free(path);
    CHECK_MSG(st == OS_OK, "%s", os_last_error());
    if (st) return;
    printf("  sst2/train.tsv: %zu rows in %.1f ms\n", ds->n, ms);
    CHECK(ds->n == 67349 && count_class(ds, 0, "0") == 29780 && count_class(ds, 0, "1") == 37569);
    CHECK(strcmp(ds->ex[0].text, "hide new secretions from the parental units") == 0);
    int trimmed = 1;
    for (size_t i = 0; i < ds->n; i++) {
        size_t n = strlen(ds->ex[i].text);
        trimmed &= n > 0 && ds->ex[i].text[n - 1] != ' ';
    }
    CHECK(trimmed);
    os_split_opts so = {.dev_fraction = 0.1, .seed = 1, .stratify_field = "label"};
    os_dataset *train, *dev;
    t0 = now_ms();
    CHECK(os_dataset_split(ds, &so, &train, &dev) == OS_OK);
    printf("  sst2 stratified 10%% split in %.1f ms\n", now_ms() - t0);
    CHECK(train && dev && dev->n == 6735 && count_class(dev, 0, "0") + count_class(dev, 0, "1") == 6735);
    CHECK(dev && count_class(dev, 0, "1") == 3757);  // floor(3756.9) + the largest remainder
    os_dataset_free(train);
    os_dataset_free(dev);
    os_dataset_free(ds);
}

int main(void) {
    const char *root = getenv("ONESTONE_DATA");
    if (!root || !*root) {
        printf("skip: ONESTONE_DATA is not set; set it to the shared data folder to check the real data sets\n");
        return th_finish();
    }
    RUN(test_conll2003);
    RUN(test_semeval);
    RUN(test_sst2);
    return th_finish();
}
