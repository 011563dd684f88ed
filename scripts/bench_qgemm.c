// The int8 linear kernel against OpenBLAS sgemm on one shape, alternating, in one process (built and run by
// scripts/bench_quant.sh). Times include the int8 path's activation quantisation.
// usage: bench_qgemm N K OC [REPS]  -> "N K OC fp32 GMAC/s int8 GMAC/s speed-up" (median of REPS rounds)
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "deploy/qgemm.h"
#include "ops/ops.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_qgemm N K OC [REPS]\n");
        return 2;
    }
    const int N = atoi(argv[1]), K = atoi(argv[2]), OC = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 7;
    if (N <= 0 || K <= 0 || OC <= 0 || reps <= 0 || reps > 99) return 2;
    float *x = malloc(sizeof(float) * (size_t)N * K), *w = malloc(sizeof(float) * (size_t)OC * K);
    float *y = malloc(sizeof(float) * (size_t)N * OC), *s = malloc(sizeof(float) * (size_t)OC), *b = calloc((size_t)OC, sizeof(float));
    int8_t *q = malloc((size_t)OC * K);
    if (!x || !w || !y || !s || !b || !q) return 5;
    srand(1);
    for (size_t i = 0; i < (size_t)N * K; i++) x[i] = (float)(rand() % 2001 - 1000) / 1000.0f;
    for (size_t i = 0; i < (size_t)OC * K; i++) w[i] = (float)(rand() % 2001 - 1000) / 20000.0f;
    os_quantize_rows(q, s, w, OC, K);
    os_qmatrix m;
    os_qacts a;
    if (os_qmatrix_init(&m, q, s, OC, K) || os_qacts_alloc(&a, N, K)) return 5;
    double ratio[99], g32[99], g8[99];
    const double mac = (double)N * K * OC;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        linear_forward(y, x, w, b, N, K, OC);
        double t1 = now();
        os_qacts_quantize(&a, x, N);
        os_qgemm(y, &a, &m, b);
        double t2 = now();
        g32[r] = mac / (t1 - t0) / 1e9;
        g8[r] = mac / (t2 - t1) / 1e9;
        ratio[r] = (t1 - t0) / (t2 - t1);
    }
    qsort(ratio, (size_t)reps, sizeof(double), cmp);
    qsort(g32, (size_t)reps, sizeof(double), cmp);
    qsort(g8, (size_t)reps, sizeof(double), cmp);
    printf("%d %d %d fp32 %.1f GMAC/s int8 %.1f GMAC/s speed-up %.2f%s\n", N, K, OC, g32[reps / 2], g8[reps / 2],
           ratio[reps / 2], os_qgemm_uses_avx2() ? "" : " (scalar kernel: no AVX2)");
    os_qmatrix_free(&m);
    os_qacts_free(&a);
    free(x), free(w), free(y), free(s), free(b), free(q);
    return 0;
}
