// onestone's side of `make bench` (bench/run.sh): times the multi-task training step or the all-heads
// inference pass of a BERT with three heads (token NER, entity-pair relations, sequence sentiment) on
// synthetic batches, and measures the BLAS's sgemm peak. Prints one JSON line per measurement.
//
//   bench_onestone init DIR L H A I V B T       model (random weights) + inputs for the references into DIR
//   bench_onestone train DIR THREADS STEPS WARMUP
//   bench_onestone infer DIR THREADS PASSES WARMUP
//   bench_onestone sgemm THREADS
//
// The training step is the trainer's (src/train/trainer.c): zero the gradients, forward with one task's
// head active (tasks cycle), loss, backward, global gradient norm, clip to 1.0, AdamW (weight decay 0.01,
// none on biases and LayerNorm). Dropout 0.1 is on in training, as in BERT's config.
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "model/checkpoint.h"
#include "model/model.h"
#include "ops/ops.h"
#include "optim/optimizer.h"

enum { N_TASKS = 3 };
static const char *const TASK_NAMES[N_TASKS] = {"ner", "rel", "sent"};
static const os_task_level TASK_LEVELS[N_TASKS] = {OS_TASK_TOKEN, OS_TASK_ENTITY_PAIR, OS_TASK_SEQUENCE};
static const int TASK_LABELS[N_TASKS] = {9, 19, 2};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// CPU seconds of the whole process (all threads): on a shared, busy machine this is far steadier than the
// wall clock for a 1-thread run (time spent waiting for a core is not counted).
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long max_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void die(const char *msg) {
    const char *why = os_last_error();
    fprintf(stderr, "bench_onestone: %s%s%s\n", msg, why && *why ? ": " : "", why ? why : "");
    exit(2);
}

static void path_in(char *out, size_t n, const char *dir, const char *name) {
    if (snprintf(out, n, "%s/%s", dir, name) >= (int)n) die("path too long");
}

// inputs.bin: int32 header {B, T, V} then ids (B,T), ner labels (B,T), rel labels (B), sent labels (B),
// pair_pos (B,2). Every sequence is full length (mask all 1), [CLS] first and [SEP] last.
typedef struct {
    int B, T;
    int32_t *ids, *mask, *ner, *rel, *sent, *pair;
} inputs;

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void inputs_alloc(inputs *in, int B, int T) {
    in->B = B;
    in->T = T;
    size_t N = (size_t)B * T;
    in->ids = malloc(N * 4);
    in->mask = malloc(N * 4);
    in->ner = malloc(N * 4);
    in->rel = malloc((size_t)B * 4);
    in->sent = malloc((size_t)B * 4);
    in->pair = malloc((size_t)B * 8);
    if (!in->ids || !in->mask || !in->ner || !in->rel || !in->sent || !in->pair) die("out of memory");
}

static void inputs_free(inputs *in) {
    free(in->ids);
    free(in->mask);
    free(in->ner);
    free(in->rel);
    free(in->sent);
    free(in->pair);
}

static void write_inputs(const char *dir, int B, int T, int V) {
    inputs in;
    inputs_alloc(&in, B, T);
    uint64_t s = 42;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            in.ids[i] = t == 0 ? 101 % V : t == T - 1 ? 102 % V : (int32_t)(1000 % V + lcg(&s) % (uint64_t)(V - 1000 % V));
            in.mask[i] = 1;
            in.ner[i] = t == 0 || t == T - 1 ? OS_IGNORE_LABEL : (int32_t)(lcg(&s) % TASK_LABELS[0]);
        }
        in.rel[b] = (int32_t)(lcg(&s) % TASK_LABELS[1]);
        in.sent[b] = (int32_t)(lcg(&s) % TASK_LABELS[2]);
        in.pair[2 * b] = 1 + (int32_t)(lcg(&s) % (uint64_t)(T / 2));
        in.pair[2 * b + 1] = T / 2 + (int32_t)(lcg(&s) % (uint64_t)(T / 2 - 1));
    }
    char p[4096];
    path_in(p, sizeof p, dir, "inputs.bin");
    FILE *f = fopen(p, "wb");
    if (!f) die("cannot write inputs.bin");
    int32_t hdr[3] = {B, T, V};
    size_t N = (size_t)B * T;
    fwrite(hdr, 4, 3, f);
    fwrite(in.ids, 4, N, f);
    fwrite(in.ner, 4, N, f);
    fwrite(in.rel, 4, (size_t)B, f);
    fwrite(in.sent, 4, (size_t)B, f);
    fwrite(in.pair, 4, (size_t)B * 2, f);
    if (fclose(f)) die("cannot write inputs.bin");
    inputs_free(&in);
}

static void read_inputs(const char *dir, inputs *in) {
    char p[4096];
    path_in(p, sizeof p, dir, "inputs.bin");
    FILE *f = fopen(p, "rb");
    if (!f) die("cannot read inputs.bin (run init first)");
    int32_t hdr[3];
    if (fread(hdr, 4, 3, f) != 3) die("truncated inputs.bin");
    inputs_alloc(in, hdr[0], hdr[1]);
    size_t N = (size_t)in->B * in->T, B = (size_t)in->B;
    if (fread(in->ids, 4, N, f) != N || fread(in->ner, 4, N, f) != N || fread(in->rel, 4, B, f) != B ||
        fread(in->sent, 4, B, f) != B || fread(in->pair, 4, 2 * B, f) != 2 * B)
        die("truncated inputs.bin");
    fclose(f);
    for (size_t i = 0; i < N; i++) in->mask[i] = 1;
}

static void cmd_init(char **argv) {
    const char *dir = argv[0];
    os_bert_config cfg;
    os_bert_config_default(&cfg);
    cfg.num_hidden_layers = atoi(argv[1]);
    cfg.hidden_size = atoi(argv[2]);
    cfg.num_attention_heads = atoi(argv[3]);
    cfg.intermediate_size = atoi(argv[4]);
    cfg.vocab_size = atoi(argv[5]);
    const int B = atoi(argv[6]), T = atoi(argv[7]);
    if (B < 1 || T < 4 || T > cfg.max_position_embeddings || cfg.vocab_size < 1100)
        die("init: need B >= 1, 4 <= T <= 512 and a vocabulary of at least 1100 ids");
    os_task_spec specs[N_TASKS];
    memset(specs, 0, sizeof specs);
    for (int i = 0; i < N_TASKS; i++) {
        specs[i].name = TASK_NAMES[i];
        specs[i].level = TASK_LEVELS[i];
        specs[i].problem = OS_PROBLEM_SINGLE_LABEL;
        specs[i].num_labels = TASK_LABELS[i];
        specs[i].dropout = -1;
    }
    os_model m;
    if (os_model_create(&m, &cfg, specs, N_TASKS, 1)) die("cannot create the model");
    os_model_init_weights(&m, 7);
    if (os_model_save(&m, dir, NULL)) die("cannot save the model");
    write_inputs(dir, B, T, cfg.vocab_size);
    os_model_free(&m);
}

static void load(const char *dir, os_model *m, inputs *in) {
    if (os_model_load(m, dir)) die("cannot load the model");
    read_inputs(dir, in);
    if (os_model_plan(m, in->B, in->T)) die("cannot plan activations");
}

static double median(double *x, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double t = x[j];
            x[j] = x[j - 1];
            x[j - 1] = t;
        }
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static void train_step(os_model *m, os_optimizer *opt, const inputs *in, long step) {
    const int task = (int)(step % N_TASKS);
    uint8_t active[N_TASKS] = {0};
    active[task] = 1;
    os_batch_input bi = {in->ids, NULL, in->mask, in->pair, NULL, in->B, in->T};
    os_head_labels labels[N_TASKS];
    memset(labels, 0, sizeof labels);
    labels[0].classes = in->ner;
    labels[1].classes = in->rel;
    labels[2].classes = in->sent;
    os_params *p = &m->params;
    os_params_zero_grad(p);
    if (os_model_forward(m, &bi, active, 1, (uint64_t)step + 1)) die("forward failed");
    os_model_loss(m, labels, NULL, NULL);
    os_model_backward(m, 0);
    const double norm = os_params_grad_norm(p);
    // torch.nn.utils.clip_grad_norm_(1.0), applied by the optimizer as it reads, as the trainer does
    os_optimizer_step_scaled(opt, p, 1e-4f, norm > 1.0 ? (float)(1.0 / (norm + 1e-6)) : 1.0f);
}

static void report(const char *mode, int threads, const inputs *in, double *secs, double *cpu, int n) {
    const double med = median(secs, n), cmed = median(cpu, n);
    printf("{\"impl\":\"onestone\",\"mode\":\"%s\",\"threads\":%d,\"tokens_per_s\":%.1f,\"median_s\":%.4f,"
           "\"cpu_tokens_per_s\":%.1f,\"maxrss_kb\":%ld}\n",
           mode, threads, (double)in->B * in->T / med, med, (double)in->B * in->T / cmed, max_rss_kb());
}

static void cmd_run(char **argv, int training) {
    const int threads = atoi(argv[1]), n = atoi(argv[2]), warmup = atoi(argv[3]);
    if (n < 1 || n > 1000) die("steps must be in [1,1000]");
    ops_set_num_threads(threads);
    os_model m;
    inputs in;
    load(argv[0], &m, &in);
    os_optimizer opt;
    if (training) {
        os_opt_config oc = os_opt_defaults(OS_OPT_ADAMW);
        if (os_optimizer_init(&opt, &oc, &m.params)) die("out of memory");
    }
    double secs[1000], cpu[1000];
    for (int i = -warmup; i < n; i++) {
        const double t0 = now(), c0 = cpu_now();
        if (training) {
            train_step(&m, &opt, &in, i + warmup);
        } else {
            os_batch_input bi = {in.ids, NULL, in.mask, in.pair, NULL, in.B, in.T};
            if (os_model_forward(&m, &bi, NULL, 0, 0)) die("forward failed");
        }
        if (i >= 0) {
            secs[i] = now() - t0;
            cpu[i] = cpu_now() - c0;
        }
    }
    report(training ? "train" : "infer", threads, &in, secs, cpu, n);
    if (training) os_optimizer_free(&opt);
    os_model_free(&m);
    inputs_free(&in);
}

// sgemm peak of the BLAS in use: the best of a few large shapes (square and the encoder's), NN layout.
static void cmd_sgemm(char **argv) {
    const int threads = atoi(argv[0]);
    ops_set_num_threads(threads);
    const int shapes[][3] = {{2048, 2048, 2048}, {4096, 1024, 256}, {4096, 256, 1024}, {1536, 1536, 1536}};
    double best = 0, best_cpu = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *a = malloc((size_t)M * K * 4), *b = malloc((size_t)K * N * 4), *c = malloc((size_t)M * N * 4);
        if (!a || !b || !c) die("out of memory");
        for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < (size_t)K * N; i++) b[i] = (float)(i % 5) * 0.1f;
        double times[5], cpu[5];
        for (int r = -1; r < 5; r++) {
            const double t0 = now(), c0 = cpu_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
            if (r >= 0) {
                times[r] = now() - t0;
                cpu[r] = cpu_now() - c0;
            }
        }
        const double gf = 2.0 * M * N * K / median(times, 5) / 1e9, cgf = 2.0 * M * N * K / median(cpu, 5) / 1e9;
        if (gf > best) best = gf;
        if (cgf > best_cpu) best_cpu = cgf;
        free(a);
        free(b);
        free(c);
    }
    printf("{\"impl\":\"openblas\",\"mode\":\"sgemm\",\"threads\":%d,\"gflops\":%.2f,\"cpu_gflops\":%.2f}\n", threads, best,
           best_cpu);
}

int main(int argc, char **argv) {
    if (argc >= 10 && !strcmp(argv[1], "init")) cmd_init(argv + 2);
    else if (argc >= 6 && !strcmp(argv[1], "train")) cmd_run(argv + 2, 1);
    else if (argc >= 6 && !strcmp(argv[1], "infer")) cmd_run(argv + 2, 0);
    else if (argc >= 3 && !strcmp(argv[1], "sgemm")) cmd_sgemm(argv + 2);
    else {
        fprintf(stderr, "usage: bench_onestone init DIR L H A I V B T | train|infer DIR THREADS N WARMUP | "
                        "sgemm THREADS\n");
        return 2;
    }
    return 0;
}
