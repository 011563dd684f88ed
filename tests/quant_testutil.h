// Shared fixtures of the int8 / pruning tests: a small model directory with one task of each kind, a batch,
// and running the CLI.
#ifndef ONESTONE_TEST_QUANT_TESTUTIL_H
#define ONESTONE_TEST_QUANT_TESTUTIL_H
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "model/checkpoint.h"
#include "model_testutil.h"
#include "util/rng.h"

// hidden 48 = 4 heads of 12, 3 layers, FFN 72 (odd sizes: the int8 kernel pads every dimension);
// initializer_range 0.2 so that outputs are far from constant.
static inline os_bert_config qt_config(void) {
    os_bert_config cfg = tiny_bert_config();
    cfg.hidden_size = 48;
    cfg.num_attention_heads = 4;
    cfg.num_hidden_layers = 3;
    cfg.intermediate_size = 72;
    cfg.initializer_range = 0.2f;
    cfg.vocab_size = 40;
    return cfg;
}

static const char *const qt_cls[] = {"neg", "pos"};
static const char *const qt_tags[] = {"O", "B-X", "I-X"};
static const char *const qt_rels[] = {"r0", "r1", "r2"};

static inline void qt_create(os_model *m, uint64_t seed) {
    os_bert_config cfg = qt_config();
    os_task_spec tasks[4] = {
        {.name = "sent", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 2, .labels = qt_cls},
        {.name = "tags", .level = OS_TASK_TOKEN, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3, .labels = qt_tags},
        {.name = "rel", .level = OS_TASK_ENTITY_PAIR, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3, .labels = qt_rels},
        {.name = "crf", .level = OS_TASK_TOKEN, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 3, .labels = qt_tags,
         .crf = 1, .tag_scheme = "bio"},
    };
    if (os_model_create(m, &cfg, tasks, 4, 1) != OS_OK) {
        fprintf(stderr, "test: cannot create the model: %s\n", os_last_error());
        exit(2);
    }
    os_model_init_weights(m, seed);
    // Random (not zero) biases and LayerNorm parameters: the tests must see every tensor move through.
    os_rng r;
    os_rng_seed(&r, seed + 1);
    for (int i = 0; i < m->params.n; i++) {
        const os_param_entry *e = &m->params.entries[i];
        if (e->ndim == 1)
            for (size_t j = 0; j < e->numel; j++) m->params.data[e->offset + j] += 0.1f * os_rng_normal(&r);
    }
}

// Saves the model with a vocab.txt into TMP/name; returns the directory (static buffer per call site).
static inline void qt_save(const os_model *m, const char *name, char *dir, size_t len) {
    snprintf(dir, len, "%s/%s", th_tmpdir(), name);
    mkdir(th_tmpdir(), 0755);
    CHECK_MSG(os_model_save(m, dir, NULL) == OS_OK, "%s", os_last_error());
    char path[1024];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\na\ndog\nran\n.\n,\nand\n##s\ngood\nbad\n", f);
    fclose(f);
}

enum { QT_B = 3, QT_T = 11 };

// A padded batch over the whole vocabulary with entity positions and word-first flags.
typedef struct {
    int32_t ids[QT_B * QT_T], mask[QT_B * QT_T], pair[QT_B * 2];
    uint8_t wf[QT_B * QT_T];
    os_batch_input in;
} qt_batch;

static inline void qt_make_batch(qt_batch *b, int vocab) {
    const int lens[QT_B] = {11, 7, 4};
    for (int i = 0; i < QT_B * QT_T; i++) {
        b->ids[i] = (i * 7 + 3) % vocab;
        b->mask[i] = i % QT_T < lens[i / QT_T];
        b->wf[i] = b->mask[i] && (i % 3 != 2);
    }
    for (int i = 0; i < QT_B; i++) b->pair[2 * i] = 1, b->pair[2 * i + 1] = lens[i] - 2;
    b->in = (os_batch_input){.ids = b->ids, .mask = b->mask, .pair_pos = b->pair, .word_first = b->wf, .B = QT_B, .T = QT_T};
}

// Forward pass; copies every head's logits into out (concatenated) and returns how many values.
static inline size_t qt_logits(os_model *m, const qt_batch *b, float *out) {
    CHECK_MSG(os_model_forward(m, &b->in, NULL, 0, 0) == OS_OK, "%s", os_last_error());
    size_t n = 0;
    for (int h = 0; h < m->n_heads; h++) {
        const os_head *hd = &m->heads[h];
        const size_t k = (size_t)hd->rows * hd->num_labels;
        memcpy(out + n, hd->logits, k * sizeof(float));
        n += k;
    }
    return n;
}

// Runs a shell command; returns its exit status and (if out) its first output bytes (stdout + stderr).
static inline int qt_sh(const char *cmd, char *out, size_t len) {
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    char buf[4096];
    size_t n = 0, k;
    while ((k = fread(buf, 1, sizeof buf, p)) > 0)
        if (out && n + 1 < len) {
            size_t c = k < len - 1 - n ? k : len - 1 - n;
            memcpy(out + n, buf, c);
            n += c;
        }
    if (out && len) out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static inline double qt_max_abs(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

static inline double qt_max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(a[i] - b[i]) > m ? fabs(a[i] - b[i]) : m;
    return m;
}
#endif
