// Micro-benchmarks of single kernels at BERT-Mini's shapes (batch 32 x 128, hidden 256, 4 heads, FFN 1024),
// and in `base` BERT-Base's linears, behind the per-change figures of docs/performance.md. Each case runs 7
// times; the best time is printed.
//
//   bench_kernels attention THREADS   one layer's attention forward and backward (ms)
//   bench_kernels qkv THREADS         Q, K, V as three linear_forward calls against one linear_forward_n
//   bench_kernels dinp THREADS        a linear's input gradient: linear_backward (the packed kernel) against sgemm
//   bench_kernels dw THREADS          a linear's weight gradient: linear_backward (the packed kernel) against sgemm
//   bench_kernels passes THREADS      the passes over a BERT-Base-sized parameter store (110 M floats) in a
//                                     training step: gradient zeroing, the gradient norm, an AdamW step (ms)
//   bench_kernels base THREADS [ROWS] BERT-Base's linears (hidden 768, FFN 3072) at ROWS rows (256: 2 x 128): the
//                                     forward and the input gradient through the packed kernel (weight packed
//                                     first) against sgemm (the weights stay in cache between the repetitions)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/params.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"  // ops_xmalloc_aligned
#include "optim/optimizer.h"

enum { B = 32, T = 128, NH = 4, HS = 64, C = NH * HS, N = B * T, REPS = 7 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

// x[i] uniform in [-0.5, 0.5), the same sequence for the same seed.
static void fill_randoms(float *x, size_t n, unsigned *seed) {
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        x[i] = (float)(*seed >> 8) / 16777216.0f - 0.5f;
    }
}

static float *randoms(size_t n, unsigned *seed) {
    float *x = ops_xmalloc_aligned(n * sizeof *x);
    fill_randoms(x, n, seed);
    return x;
}

static void attention(void) {
    unsigned s = 1;
    const size_t nx = (size_t)N * C, np = (size_t)B * NH * T * T;
    float *q = randoms(nx, &s), *k = randoms(nx, &s), *v = randoms(nx, &s), *dout = randoms(nx, &s);
    float *ctx = randoms(nx, &s), *probs = randoms(np, &s), *scratch = randoms(np, &s);
    float *dq = randoms(nx, &s), *dk = randoms(nx, &s), *dv = randoms(nx, &s);
    int32_t *mask = malloc(N * sizeof *mask);
    for (int i = 0; i < N; i++) mask[i] = 1;
    double fwd = 1e9, bwd = 1e9;
    for (int r = 0; r < REPS; r++) {
        const double t0 = now();
        attention_forward(ctx, probs, q, k, v, mask, B, T, NH, HS);
        const double t1 = now();
        attention_backward_set(dq, dk, dv, scratch, dout, q, k, v, probs, probs, NULL, 0.0f, B, T, NH, HS);
        const double t2 = now();
        if (t1 - t0 < fwd) fwd = t1 - t0;
        if (t2 - t1 < bwd) bwd = t2 - t1;
    }
    printf("attention, one BERT-Mini layer (%d x %d): forward %.2f ms, backward %.2f ms\n", B, T, fwd * 1e3,
           bwd * 1e3);
    free(q), free(k), free(v), free(dout), free(ctx), free(probs), free(scratch), free(dq), free(dk), free(dv),
        free(mask);
}

static void qkv(void) {
    unsigned s = 2;
    float *x = randoms((size_t)N * C, &s), *w[3], *b[3], *out[3];
    for (int i = 0; i < 3; i++) {
        w[i] = randoms((size_t)C * C, &s);
        b[i] = randoms(C, &s);
        out[i] = randoms((size_t)N * C, &s);
    }
    double apart = 1e9, together = 1e9;
    for (int r = 0; r < REPS; r++) {
        const double t0 = now();
        for (int i = 0; i < 3; i++) linear_forward(out[i], x, w[i], b[i], N, C, C);
        const double t1 = now();
        linear_forward_n(3, out, x, (const float *const *)w, (const float *const *)b, N, C, C);
        const double t2 = now();
        if (t1 - t0 < apart) apart = t1 - t0;
        if (t2 - t1 < together) together = t2 - t1;
    }
    const double flop = 3.0 * 2.0 * N * C * C;
    printf("Q, K, V (%d x %d x %d each): three calls %.1f GFLOP/s, linear_forward_n %.1f GFLOP/s\n", N, C, C,
           flop / apart / 1e9, flop / together / 1e9);
    free(x);
    for (int i = 0; i < 3; i++) free(w[i]), free(b[i]), free(out[i]);
}

static void dinp(void) {
    const int shapes[][2] = {{C, C}, {C, 4 * C}, {4 * C, C}};  // (C_in, OC) of the layer
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int ci = shapes[si][0], oc = shapes[si][1];
        unsigned s = 3;
        float *dout = randoms((size_t)N * oc, &s), *w = randoms((size_t)oc * ci, &s), *d = randoms((size_t)N * ci, &s);
        double packed = 1e9, blas = 1e9;
        for (int r = 0; r < REPS; r++) {
            const double t0 = now();
            linear_backward(d, NULL, NULL, dout, NULL, w, N, ci, oc);
            const double t1 = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, ci, oc, 1.0f, dout, oc, w, ci, 1.0f, d, ci);
            const double t2 = now();
            if (t1 - t0 < packed) packed = t1 - t0;
            if (t2 - t1 < blas) blas = t2 - t1;
        }
        const double flop = 2.0 * N * ci * oc;
        printf("input gradient %d x %d <- %d: linear_backward %.1f GFLOP/s, sgemm %.1f GFLOP/s\n", N, ci, oc,
               flop / packed / 1e9, flop / blas / 1e9);
        free(dout), free(w), free(d);
    }
}

static void dw(void) {
    const int shapes[][2] = {{C, C}, {C, 4 * C}, {4 * C, C}, {C, 3 * C}};  // (C_in, OC) of the layer
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int ci = shapes[si][0], oc = shapes[si][1];
        unsigned s = 4;
        float *dout = randoms((size_t)N * oc, &s), *x = randoms((size_t)N * ci, &s), *g = randoms((size_t)oc * ci, &s);
        double blas = 1e9, packed = 1e9;
        for (int r = 0; r < REPS; r++) {
            const double t0 = now();
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, oc, ci, N, 1.0f, dout, oc, x, ci, 1.0f, g, ci);
            const double t1 = now();
            linear_backward(NULL, g, NULL, dout, x, NULL, N, ci, oc);
            const double t2 = now();
            if (t1 - t0 < blas) blas = t1 - t0;
            if (t2 - t1 < packed) packed = t2 - t1;
        }
        const double flop = 2.0 * N * ci * oc;
        printf("weight gradient %d x %d over %d rows: sgemm %.1f GFLOP/s, linear_backward %.1f GFLOP/s\n", oc, ci,
               N, flop / blas / 1e9, flop / packed / 1e9);
        free(dout), free(x), free(g);
    }
}

// One product of a BERT-Base linear both ways: the weight packed (gemm_pack_weight / gemm_pack_kn, then the
// packed kernel, as linear.c does for a large batch) and OpenBLAS's sgemm. Best times in t[0], t[1].
static void two_ways(int rows, int ci, int oc, int input_grad, double t[2]) {
    unsigned s = 5;
    const int k = input_grad ? oc : ci, m = input_grad ? ci : oc;  // out(rows, m) = x(rows, k) · B(k, m)
    float *x = randoms((size_t)rows * k, &s), *w = randoms((size_t)oc * ci, &s), *b = randoms(m, &s);
    float *out = randoms((size_t)rows * m, &s);
    float *pw = ops_xmalloc_aligned(gemm_packed_floats(m, k) * sizeof *pw);
    t[0] = t[1] = 1e9;
    for (int r = 0; r < REPS; r++) {
        const double t0 = now();
        if (input_grad) {
            gemm_pack_kn(pw, w, k, m, m);
            gemm_packed_accumulate(out, x, pw, rows, k, m);
        } else {
            gemm_pack_weight(pw, w, m, k, k);
            gemm_packed_forward(out, NULL, NULL, x, pw, b, rows, k, m, GEMM_ACT_NONE);
        }
        const double t1 = now();
        if (input_grad)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, m, k, 1.0f, x, k, w, m, 1.0f, out, m);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, m, k, 1.0f, x, k, w, k, 1.0f, out, m);
        const double t2 = now();
        if (t1 - t0 < t[0]) t[0] = t1 - t0;
        if (t2 - t1 < t[1]) t[1] = t2 - t1;
    }
    free(x), free(w), free(b), free(out), free(pw);
}

static void base(int rows) {
    const int shapes[][2] = {{768, 768}, {768, 3072}, {3072, 768}};  // (C_in, OC) of the layer
    for (int input_grad = 0; input_grad < 2; input_grad++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            const int ci = shapes[si][0], oc = shapes[si][1];
            double t[2];
            two_ways(rows, ci, oc, input_grad, t);
            const double flop = 2.0 * rows * ci * oc;
            printf("%s %d x %d -> %d: weight packed + packed kernel %.1f GFLOP/s, sgemm %.1f GFLOP/s\n",
                   input_grad ? "input gradient" : "forward", rows, input_grad ? oc : ci, input_grad ? ci : oc,
                   flop / t[0] / 1e9, flop / t[1] / 1e9);
        }
}

static void passes(void) {
    os_params p;
    memset(&p, 0, sizeof p);
    const int64_t shape[1] = {110000000};
    os_params_add(&p, "w", 1, shape, 0);
    os_opt_config cfg = os_opt_defaults(OS_OPT_ADAMW);
    os_optimizer o;
    if (os_params_alloc(&p) != OS_OK || os_optimizer_init(&o, &cfg, &p) != OS_OK) {
        fprintf(stderr, "bench_kernels: no memory for 110 M parameters\n");
        exit(1);
    }
    unsigned s = 6;
    fill_randoms(p.data, p.total, &s);
    double zero = 1e9, norm = 1e9, adam = 1e9;
    for (int r = 0; r < REPS; r++) {
        for (size_t i = 0; i < p.total; i += 16) p.grad[i] = 1e-3f;  // every cache line touched, as a backward does
        const double t0 = now();
        os_params_zero_grad(&p);
        const double t1 = now();
        for (size_t i = 0; i < p.total; i += 16) p.grad[i] = 1e-3f;
        const double t2 = now();
        volatile double v = os_params_grad_norm(&p);
        (void)v;
        const double t3 = now();
        os_optimizer_step_scaled(&o, &p, 1e-4f, 0.5f);
        const double t4 = now();
        if (t1 - t0 < zero) zero = t1 - t0;
        if (t3 - t2 < norm) norm = t3 - t2;
        if (t4 - t3 < adam) adam = t4 - t3;
    }
    printf("110 M parameters: zero the gradients %.1f ms, gradient norm %.1f ms, AdamW step %.1f ms\n", zero * 1e3,
           norm * 1e3, adam * 1e3);
    os_optimizer_free(&o);
    os_params_free(&p);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_kernels attention|qkv|dinp|dw|passes|base THREADS [ROWS]\n");
        return 2;
    }
    const int threads = argc > 2 ? atoi(argv[2]) : 1;
    ops_set_num_threads(threads > 0 ? threads : 1);
    if (!strcmp(argv[1], "attention")) attention();
    else if (!strcmp(argv[1], "qkv")) qkv();
    else if (!strcmp(argv[1], "dinp")) dinp();
    else if (!strcmp(argv[1], "dw")) dw();
    else if (!strcmp(argv[1], "passes")) passes();
    else if (!strcmp(argv[1], "base")) base(argc > 3 && atoi(argv[3]) > 0 ? atoi(argv[3]) : 256);
    else {
        fprintf(stderr, "bench_kernels: unknown case '%s'\n", argv[1]);
        return 2;
    }
    return 0;
}
