// out(N,OC) = inp(N,C) · w(OC,C)^T (+ bias) with the weight packed once: the linear layers' forward product and
// input gradient, and attention's per-head products; and, with both operands packed per block, the linear
// layers' weight gradient (gemm_packed_weight_grad, at the end).
//
// Why not sgemm: OpenBLAS packs BOTH operands on every call (the activations are the big one: N = B*T rows)
// and, for beta = 0, first zeroes the output in a separate pass. Profiled on BERT-Mini inference those two
// passes were 12 % of the time next to the 61 % of its kernel. Here the weight is packed once into panels of
// 16 output columns (k-major: for each k the 16 weights, zero-padded past OC), and the 6x16 micro-kernel reads
// the activation rows in place, broadcasting one value per row and k. The first K block stores (bias added),
// later ones accumulate, so there is no zeroing pass; the epilogue (GELU) runs on a row block while it is in
// cache.
//
// This file is compiled with -mavx2 -mfma (CMakeLists.txt) and reached only when gemm_packed_cpu() (linear.c)
// says the CPU has both; attention.c uses the serial entry for its per-head products.
//
// Threads take chunks of rows dynamically (forward_rows); every output element is computed by one thread with
// the same sequence of operations whatever the thread count, so results do not depend on it. The sums are
// ordered differently from OpenBLAS's (k runs in blocks of GP_KC, in order, with FMA), so they agree with sgemm
// to float rounding, not bitwise.
#include <omp.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define GP_SIMD 1
#else
#define GP_SIMD 0
#endif

// Block sizes, measured on BERT-Mini's shapes (KC 256/512/1024, MC 48/96/192): a 16 x 512 weight panel (32 KB)
// stays in L1/L2 while a 96-row block of activations streams through it.
enum { GP_NR = 16, GP_MR = 6, GP_KC = 512, GP_MC = 96 };

size_t gemm_packed_floats(int OC, int C) { return (size_t)((OC + GP_NR - 1) / GP_NR) * GP_NR * (size_t)C; }

#if GP_SIMD
// r[i] = column i of the 8 x 8 block whose rows were r[0..7].
static inline OPS_ALWAYS_INLINE void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}
#endif

// Panel p holds, for k = 0..C-1, the 16 weights w[p*16 + j][k] (zero past OC): from a (OC, C) matrix with row
// stride ldw, i.e. the product's right operand transposed, as torch.nn.Linear stores it.
static void pack_panel_t(float *dst, const float *w, int p, int OC, int C, int ldw) {
    const int o0 = p * GP_NR, cols = o0 + GP_NR <= OC ? GP_NR : OC - o0;
    int k = 0;
#if GP_SIMD
    // Full panels in 8 x 8 blocks transposed in registers: read element by element, 16 rows a row stride
    // apart (4 KB for BERT's output weight) fight over a few L1 sets; the attention's per-head K and V packs
    // were 5 % of its time that way.
    if (cols == GP_NR)
        for (; k + 8 <= C; k += 8)
            for (int half = 0; half < 2; half++) {
                __m256 r[8];
                for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(w + (size_t)(o0 + 8 * half + i) * ldw + k);
                transpose8(r);
                for (int i = 0; i < 8; i++) _mm256_store_ps(dst + (size_t)(k + i) * GP_NR + 8 * half, r[i]);
            }
#endif
    // Writes in order, reading the panel's (up to) 16 weight rows side by side.
    for (; k < C; k++) {
        float *d = dst + (size_t)k * GP_NR;
        int j = 0;
        for (; j < cols; j++) d[j] = w[(size_t)(o0 + j) * ldw + k];
        for (; j < GP_NR; j++) d[j] = 0.0f;
    }
}

void gemm_pack_weight(float *packed, const float *w, int OC, int C, int ldw) {
    const int np = (OC + GP_NR - 1) / GP_NR;
#pragma omp parallel for schedule(static) if ((size_t)OC * C > OPS_PAR_MIN)
    for (int p = 0; p < np; p++) pack_panel_t(packed + (size_t)p * GP_NR * C, w, p, OC, C, ldw);
}

// Panel p of gemm_pack_kn's layout for K rows of b (row stride ldb, OC columns): dst[k * 16 + j] =
// b[k * ldb + p * 16 + j], zero past OC.
static void pack_panel_kn(float *dst, const float *b, int p, int K, int OC, int ldb) {
    const int o0 = p * GP_NR, cols = o0 + GP_NR <= OC ? GP_NR : OC - o0;
    int k = 0;
#if GP_SIMD
    // Full panels as two vector copies per k (the loop over a run-time column count compiled to scalar
    // moves: 15 % of the attention's time).
    if (cols == GP_NR)
        for (; k < K; k++) {
            const float *src = b + (size_t)k * ldb + o0;
            _mm256_store_ps(dst + (size_t)k * GP_NR, _mm256_loadu_ps(src));
            _mm256_store_ps(dst + (size_t)k * GP_NR + 8, _mm256_loadu_ps(src + 8));
        }
#endif
    for (; k < K; k++) {
        const float *src = b + (size_t)k * ldb + o0;
        float *d = dst + (size_t)k * GP_NR;
        int j = 0;
        for (; j < cols; j++) d[j] = src[j];
        for (; j < GP_NR; j++) d[j] = 0.0f;
    }
}

void gemm_pack_kn(float *packed, const float *b, int K, int OC, int ldb) {
    const int np = (OC + GP_NR - 1) / GP_NR;
    // Split over the threads when called outside a parallel region with a weight-sized operand
    // (linear_backward's input gradient of a weight over 1 M floats, BERT-Base's from 768 rows: packed on one
    // thread while the other waited, it was 2.8 % of a 2-thread BERT-Base step at 2 x 128, before those
    // products went to OpenBLAS); the attention calls it per (batch, head), already in parallel.
#pragma omp parallel for schedule(static) if ((size_t)K * OC > 64 * OPS_PAR_MIN && !omp_in_parallel())
    for (int p = 0; p < np; p++) pack_panel_kn(packed + (size_t)p * GP_NR * K, b, p, K, OC, ldb);
}

// Writes an MR x 16 block of sums (acc rows of 16, or the first `cols` columns) to out: out = acc + init, where
// init is the output's previous partial sum (accumulate), else the bias row, else zero.
static inline void tile_store(float *out, int ldo, const float *acc, int MR, const float *bias, int accumulate,
                              int cols) {
    for (int r = 0; r < MR; r++) {
        float *o = out + (size_t)r * ldo;
        const float *t = acc + r * GP_NR;
        if (accumulate) {
            for (int j = 0; j < cols; j++) o[j] += t[j];
        } else if (bias) {
            for (int j = 0; j < cols; j++) o[j] = bias[j] + t[j];
        } else {
            for (int j = 0; j < cols; j++) o[j] = 0.0f + t[j];
        }
    }
}

#if GP_SIMD
// The 6 x 16 micro-kernel: 12 accumulators, two weight vectors and one broadcast in the 16 ymm registers.
// Written out by hand: at -O2 the compilers keep an accumulator array in memory. Row r's value for k is
// a[r * lda + k], or with `at` (the left operand stored transposed: attention's U^T and dS^T) a[k * lda + r];
// `at` is a constant at every call site, so each gets its own loop. mr (a constant too, 1..6) is the number of
// rows read and summed, `rows` (<= mr) the number stored: a block's last rows run as one mr-row tile (they
// went one row at a time, at a third of the speed: 1.6 % of the rows of every product with T = 128). Each
// row's sums are the same FMAs in the same order whatever mr, so the results do not depend on it.
static inline OPS_ALWAYS_INLINE void tile6_impl(float *out, int ldo, const float *a, int lda, const float *bp,
                                                int kc, const float *bias, int accumulate, int cols, int at,
                                                int rows, int mr) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    const size_t rs = at ? 1 : (size_t)lda;
    const float *a0 = a, *a1 = mr > 1 ? a + rs : a, *a2 = mr > 2 ? a + 2 * rs : a, *a3 = mr > 3 ? a + 3 * rs : a;
    const float *a4 = mr > 4 ? a + 4 * rs : a, *a5 = mr > 5 ? a + 5 * rs : a;
    for (int k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(bp + (size_t)k * GP_NR), b1 = _mm256_load_ps(bp + (size_t)k * GP_NR + 8);
        const size_t ka = at ? (size_t)k * lda : (size_t)k;
        __m256 av;
#define GP_ROW(r)                                      \
        if (mr > r) {                                  \
            av = _mm256_broadcast_ss(a##r + ka);       \
            c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0); \
            c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1); \
        }
        GP_ROW(0) GP_ROW(1) GP_ROW(2) GP_ROW(3) GP_ROW(4) GP_ROW(5)
#undef GP_ROW
    }
    if (cols == GP_NR) {
#define GP_OUT(r)                                                                                    \
        if (rows > r) {                                                                              \
            float *o = out + (size_t)(r) * ldo;                                                      \
            const __m256 i0 = accumulate ? _mm256_loadu_ps(o) : bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps(); \
            const __m256 i1 = accumulate ? _mm256_loadu_ps(o + 8) : bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps(); \
            _mm256_storeu_ps(o, _mm256_add_ps(i0, c##r##0));                                         \
            _mm256_storeu_ps(o + 8, _mm256_add_ps(i1, c##r##1));                                     \
        }
        GP_OUT(0) GP_OUT(1) GP_OUT(2) GP_OUT(3) GP_OUT(4) GP_OUT(5)
#undef GP_OUT
        return;
    }
    _Alignas(32) float acc[GP_MR * GP_NR];
    const __m256 all[GP_MR * 2] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    for (int i = 0; i < GP_MR * 2; i++) _mm256_store_ps(acc + 8 * i, all[i]);
    tile_store(out, ldo, acc, rows, bias, accumulate, cols);
}

static void tile6(float *out, int ldo, const float *a, int lda, const float *bp, int kc, const float *bias,
                  int accumulate, int cols) {
    tile6_impl(out, ldo, a, lda, bp, kc, bias, accumulate, cols, 0, GP_MR, GP_MR);
}

static void tile6_at(float *out, int ldo, const float *a, int lda, const float *bp, int kc, const float *bias,
                     int accumulate, int cols) {
    tile6_impl(out, ldo, a, lda, bp, kc, bias, accumulate, cols, 1, GP_MR, GP_MR);
}

// A tile of the weight gradient's packed left operand (6 floats per k, zero past `rows`): the first `rows` rows
// of the 6 x 16 block are stored.
static void tile6_packed(float *out, int ldo, const float *ap, const float *bp, int kc, int accumulate, int cols,
                         int rows) {
    tile6_impl(out, ldo, ap, GP_MR, bp, kc, NULL, accumulate, cols, 1, rows, GP_MR);
}

// The MR < 6 rows past a block's last full tile, as one tile.
static void tile_tail(float *out, int ldo, const float *a, int lda, const float *bp, int kc, int MR,
                      const float *bias, int accumulate, int cols, int at) {
#define GP_TAIL(m, t) \
    case m: tile6_impl(out, ldo, a, lda, bp, kc, bias, accumulate, cols, t, m, m); break;
    if (at)
        switch (MR) { GP_TAIL(1, 1) GP_TAIL(2, 1) GP_TAIL(3, 1) GP_TAIL(4, 1) GP_TAIL(5, 1) default: break; }
    else
        switch (MR) { GP_TAIL(1, 0) GP_TAIL(2, 0) GP_TAIL(3, 0) GP_TAIL(4, 0) GP_TAIL(5, 0) default: break; }
#undef GP_TAIL
}
#endif

#if !GP_SIMD
// Any MR <= 6 rows (the last rows of a block; every tile without AVX2): plain loops, the same FMA sums.
static void tile_tail(float *out, int ldo, const float *a, int lda, const float *bp, int kc, int MR,
                      const float *bias, int accumulate, int cols, int at) {
    float acc[GP_MR * GP_NR] = {0};
    for (int r = 0; r < MR; r++)
        for (int k = 0; k < kc; k++) {
            const float av = at ? a[(size_t)k * lda + r] : a[(size_t)r * lda + k];
#pragma omp simd
            for (int j = 0; j < GP_NR; j++) acc[r * GP_NR + j] = fmaf(av, bp[(size_t)k * GP_NR + j], acc[r * GP_NR + j]);
        }
    tile_store(out, ldo, acc, MR, bias, accumulate, cols);
}
static void tile6(float *out, int ldo, const float *a, int lda, const float *bp, int kc, const float *bias,
                  int accumulate, int cols) {
    tile_tail(out, ldo, a, lda, bp, kc, GP_MR, bias, accumulate, cols, 0);
}
static void tile6_at(float *out, int ldo, const float *a, int lda, const float *bp, int kc, const float *bias,
                     int accumulate, int cols) {
    tile_tail(out, ldo, a, lda, bp, kc, GP_MR, bias, accumulate, cols, 1);
}
static void tile6_packed(float *out, int ldo, const float *ap, const float *bp, int kc, int accumulate, int cols,
                         int rows) {
    tile_tail(out, ldo, ap, GP_MR, bp, kc, rows, NULL, accumulate, cols, 1);
}
#endif

// Rows [0, mc) of out(ldo) = inp(lda) · packed (+ bias), or out += inp · packed when acc_in: every K block,
// every panel, tiles of 6 rows. With `at` the left operand is stored transposed: row r, column k at
// inp[k * lda + r].
static void gemm_rows(float *out, int ldo, const float *inp, int lda, const float *packed, const float *bias,
                      int mc, int C, int OC, int acc_in, int at) {
    const int np = (OC + GP_NR - 1) / GP_NR;
    const size_t rs = at ? 1 : (size_t)lda, ks = at ? (size_t)lda : 1;  // steps between rows and between k
    if (C <= 0 && !acc_in)
        for (int r = 0; r < mc; r++)
            for (int o = 0; o < OC; o++) out[(size_t)r * ldo + o] = bias ? bias[o] : 0.0f;
    for (int k0 = 0; k0 < C; k0 += GP_KC) {
        const int kc = k0 + GP_KC <= C ? GP_KC : C - k0;
        for (int p = 0; p < np; p++) {
            const float *bp = packed + (size_t)p * GP_NR * C + (size_t)k0 * GP_NR;
            const int o0 = p * GP_NR, cols = o0 + GP_NR <= OC ? GP_NR : OC - o0;
            const float *bb = bias ? bias + o0 : NULL;
            const int acc = acc_in || k0 > 0;
            int r = 0;
            for (; r + GP_MR <= mc; r += GP_MR) {
                float *o = out + (size_t)r * ldo + o0;
                const float *a = inp + r * rs + k0 * ks;
                if (at)
                    tile6_at(o, ldo, a, lda, bp, kc, bb, acc, cols);
                else
                    tile6(o, ldo, a, lda, bp, kc, bb, acc, cols);
            }
            if (r < mc)
                tile_tail(out + (size_t)r * ldo + o0, ldo, inp + r * rs + k0 * ks, lda, bp, kc, mc - r, bb, acc,
                          cols, at);
        }
    }
}

static void serial(float *out, int ldo, const float *inp, int lda, const float *packed, int N, int C, int OC,
                   int accumulate, int at) {
    for (int n0 = 0; n0 < N; n0 += GP_MC)
        gemm_rows(out + (size_t)n0 * ldo, ldo, inp + (size_t)n0 * (at ? 1 : (size_t)lda), lda, packed, NULL,
                  n0 + GP_MC <= N ? GP_MC : N - n0, C, OC, accumulate, at);
}

void gemm_packed_serial(float *out, int ldo, const float *inp, int lda, const float *packed, int N, int C, int OC,
                        int accumulate) {
    serial(out, ldo, inp, lda, packed, N, C, OC, accumulate, 0);
}

void gemm_packed_serial_at(float *out, int ldo, const float *inp_t, int lda, const float *packed, int N, int C,
                           int OC, int accumulate) {
    serial(out, ldo, inp_t, lda, packed, N, C, OC, accumulate, 1);
}

// Rows split over the threads for nw products sharing the input: every row block goes through all nw weights
// while it is in L2 (the three 256-wide Q, K, V products of BERT-Mini ran at 65-68 GFLOP/s one by one, like one
// 768-wide product at 78-80 together).
//
// The rows are dealt out dynamically in chunks of whole 6-row tiles: GP_MC rows each, and at the end 2 chunks
// per thread of 8 tiles, so that the threads finish close together. A fixed equal share per thread (the
// previous split) waits for the slowest thread, and on a shared machine a thread that loses its core for a
// while held a 2-thread inference back by a third or more, where onnxruntime's dynamic pool adapted. A row's
// sums do not depend on which chunk or thread computes it, so the results do not depend on the thread count or
// the timing.
static void forward_rows(int nw, float *const *dst, float *const *out, float *cdf, const float *inp,
                         const float *const *packed, const float *const *bias, int N, int C, int OC, int act,
                         int accumulate) {
    const int tiles = (N + GP_MR - 1) / GP_MR;
    enum { BIG = GP_MC / GP_MR, SMALL = 8 };
#pragma omp parallel if ((size_t)nw * N * OC * (C > 0 ? C : 1) > 64 * OPS_PAR_MIN && tiles > 1)
    {
        const int nt = omp_get_num_threads();
        int tail = 2 * nt * SMALL;
        if (tail > tiles) tail = tiles;
        const int head = tiles - tail, n_big = (head + BIG - 1) / BIG, n_small = (tail + SMALL - 1) / SMALL;
#pragma omp for schedule(dynamic, 1)
        for (int ch = 0; ch < n_big + n_small; ch++) {
            const int t0 = ch < n_big ? ch * BIG : head + (ch - n_big) * SMALL;
            const int t1 = ch < n_big ? (t0 + BIG < head ? t0 + BIG : head) : (t0 + SMALL < tiles ? t0 + SMALL : tiles);
            const int n0 = t0 * GP_MR, mc = (t1 * GP_MR < N ? t1 * GP_MR : N) - n0;
            for (int i = 0; i < nw; i++)
                gemm_rows(dst[i] + (size_t)n0 * OC, OC, inp + (size_t)n0 * C, C, packed[i], bias[i], mc, C, OC,
                          accumulate, 0);
            if (act == GEMM_ACT_GELU)
                for (int r = 0; r < mc; r++) {
                    const size_t o = (size_t)(n0 + r) * OC;
                    ops_gelu_row(out[0] + o, cdf ? cdf + o : NULL, dst[0] + o, OC);
                }
        }
    }
}

void gemm_packed_forward(float *out, float *pre, float *cdf, const float *inp, const float *packed,
                         const float *bias, int N, int C, int OC, int act) {
    if (N <= 0 || OC <= 0) return;
    float *dst = act == GEMM_ACT_GELU ? pre : out;
    forward_rows(1, &dst, &out, cdf, inp, &packed, &bias, N, C, OC, act, 0);
}

void gemm_packed_forward_n(int nw, float *const *out, const float *inp, const float *const *packed,
                           const float *const *bias, int N, int C, int OC) {
    if (N <= 0 || OC <= 0 || nw <= 0) return;
    forward_rows(nw, out, out, NULL, inp, packed, bias, N, C, OC, GEMM_ACT_NONE, 0);
}

void gemm_packed_accumulate(float *out, const float *inp, const float *packed, int N, int C, int OC) {
    if (N <= 0 || OC <= 0 || C <= 0) return;
    const float *nobias = NULL;
    forward_rows(1, &out, &out, NULL, inp, &packed, &nobias, N, C, OC, GEMM_ACT_NONE, 1);
}

// dw(OC,C) += dout(N,OC)^T · inp(N,C): a linear layer's weight gradient, a reduction over the N rows of the
// batch, where both operands are stored k-major (k = the batch row).
//
// The work is cut into blocks: chunks of GW_CHUNK batch rows, set by N alone, and on more than one thread,
// where that gives fewer than GW_TASKS blocks, ranges of dw's rows and columns too (those change no element's
// sums). The blocks are dealt out to the threads dynamically: a thread that loses its core for a while holds
// nobody up, where OpenBLAS's static shares wait for it. Chunk 0 adds into dw, chunk s > 0 writes a partial
// product; then dw += partial 1, partial 2, ... in order. Every element is summed in the same order whatever
// the thread count or timing, so the result depends on neither.
//
// Within a block, GotoBLAS's blocking: per GW_KC rows, the inp columns are packed once into 16-wide panels (read
// row by row) and reused by every GW_MC rows of dw, whose dout slice is packed into 6-row tiles (k-major, 6
// floats per k: read in place, each k of a tile touched a new cache line a row stride away and the kernel ran
// at 66-77 GFLOP/s against OpenBLAS's 89). Tried at BERT-Mini's shapes: KC 256/384/512, MC 96/144, chunks of
// 512/768/1024/2048 rows, 16/32/64 panels: all within a few percent, 1-8 % below sgemm on one thread
// (`bench_kernels dw 1`); the kernel itself runs at sgemm's kernel's speed, the rest is packing and partials.
enum { GW_KC = 256, GW_MC = 96, GW_MAX_NP = 64, GW_CHUNK = 1024, GW_TASKS = 4 };

typedef struct {
    float *a;  // GW_MC x GW_KC: dout slice as tiles
    float *b;  // GW_KC x 16 GW_MAX_NP: inp slice as panels
} WeightGradScratch;

// One per thread, kept (like linear.c's packed weight): 1.1 MB.
static _Thread_local WeightGradScratch gw_scratch;
// The partial products of chunks 1.. and the chunks' column sums (grown to the largest need, kept), per calling
// thread: two models trained side by side through the C API must not share it.
static _Thread_local float *gw_partial;
static _Thread_local size_t gw_partial_cap;

// ap: the tiles of rows [0, rows) of a (element (r, k) at a[k * lda + r]), 6 rows each, zero past `rows`.
// With colsum (else NULL), colsum[r] += a's (r, k) for k in order: the bias gradient, while a is in cache.
static void pack_a_tiles(float *ap, const float *a, int lda, int rows, int kc, float *colsum) {
    const int full = rows / GP_MR, nr = rows - full * GP_MR;
    for (int k = 0; k < kc; k++) {
        const float *src = a + (size_t)k * lda;
        if (colsum)
#pragma omp simd
            for (int r = 0; r < rows; r++) colsum[r] += src[r];
        float *d = ap + (size_t)k * GP_MR;
        // k outer: the rows' values for one k are contiguous in a; a tile's values for successive k are a row
        // stride apart, which in the other order thrashed a few L1 sets. memcpy of 6 floats is two moves.
        for (int t = 0; t < full; t++) memcpy(d + (size_t)t * GP_MR * kc, src + t * GP_MR, GP_MR * sizeof *d);
        if (nr) {
            float *dt = d + (size_t)full * GP_MR * kc;
            for (int r = 0; r < GP_MR; r++) dt[r] = r < nr ? src[full * GP_MR + r] : 0.0f;
        }
    }
}

// Panels [p0, p1) of b's kc rows (row stride and width C) into dst, panel after panel (gemm_pack_kn's layout):
// row by row, so that each row is one contiguous read (panel by panel, every row was a separate page when C
// is 1024).
static void pack_b_rows(float *dst, const float *b, int C, int p0, int p1, int kc) {
    const int full_end = C / GP_NR < p1 ? C / GP_NR : p1;  // panels [p0, full_end) are 16 wide
    for (int k = 0; k < kc; k++) {
        const float *src = b + (size_t)k * C;
        for (int p = p0; p < full_end; p++)
            memcpy(dst + (size_t)(p - p0) * GP_NR * kc + (size_t)k * GP_NR, src + p * GP_NR, GP_NR * sizeof *dst);
    }
    for (int p = full_end > p0 ? full_end : p0; p < p1; p++)
        pack_panel_kn(dst + (size_t)(p - p0) * GP_NR * kc, b, p, kc, C, C);
}

// Rows [o_lo, o_hi) x panels [p0, p1) of out (row stride ldo) (+)= dout^T · inp over rows [0, n) of both; with
// colsum (else NULL), colsum[o] += the column sums of dout for those rows.
static void weight_grad_block(float *out, int ldo, const float *dout, const float *inp, int n, int C, int OC,
                              int o_lo, int o_hi, int p0, int p1, int accumulate, float *colsum,
                              WeightGradScratch *ws) {
    for (int k0 = 0; k0 < n; k0 += GW_KC) {
        const int kc = k0 + GW_KC <= n ? GW_KC : n - k0, acc = accumulate || k0 > 0;
        pack_b_rows(ws->b, inp + (size_t)k0 * C, C, p0, p1, kc);
        for (int o0 = o_lo; o0 < o_hi; o0 += GW_MC) {
            const int mc = o0 + GW_MC <= o_hi ? GW_MC : o_hi - o0;
            pack_a_tiles(ws->a, dout + (size_t)k0 * OC + o0, OC, mc, kc, colsum ? colsum + o0 : NULL);
            for (int p = p0; p < p1; p++) {
                const float *bp = ws->b + (size_t)(p - p0) * GP_NR * kc;
                const int c0 = p * GP_NR, cols = c0 + GP_NR <= C ? GP_NR : C - c0;
                for (int r = 0; r < mc; r += GP_MR) {
                    float *o = out + (size_t)(o0 + r) * ldo + c0;
                    tile6_packed(o, ldo, ws->a + (size_t)r * kc, bp, kc, acc, cols, mc - r < GP_MR ? mc - r : GP_MR);
                }
            }
        }
    }
}

void gemm_packed_weight_grad(float *dw, float *db, const float *dout, const float *inp, int N, int C, int OC) {
    if (N <= 0 || C <= 0 || OC <= 0) return;
    const int np = (C + GP_NR - 1) / GP_NR, chunks = (N + GW_CHUNK - 1) / GW_CHUNK;
    // Rows of dw per block (a multiple of GW_MC) and panels per block: halve the larger side while there are
    // too few blocks and the halves stay large (each row block repacks the inp panels, each column block the
    // dout tiles).
    int rows = (OC + GW_MC - 1) / GW_MC * GW_MC, panels = np < GW_MAX_NP ? np : GW_MAX_NP;
    const int nt = ops_num_threads();
    for (;;) {
        const int blocks = chunks * ((OC + rows - 1) / rows) * ((np + panels - 1) / panels);
        if (nt == 1 || blocks >= GW_TASKS) break;
        if (rows >= 2 * GW_MC && rows >= panels * GP_NR)
            rows = (rows / 2 + GW_MC - 1) / GW_MC * GW_MC;
        else if (panels >= 8)
            panels = (panels + 1) / 2;
        else
            break;
    }
    const int rb = (OC + rows - 1) / rows, pb = (np + panels - 1) / panels, per_chunk = rb * pb;
    const size_t wsize = (size_t)OC * C, need = (size_t)(chunks - 1) * wsize + (size_t)chunks * OC;
    if (need > gw_partial_cap) {
        free(gw_partial);
        gw_partial_cap = need;
        gw_partial = ops_xmalloc_aligned(gw_partial_cap * sizeof *gw_partial);
    }
    float *partial = gw_partial, *bsum = gw_partial + (size_t)(chunks - 1) * wsize;  // bsum: chunks x OC
#pragma omp parallel if (wsize * N > 64 * OPS_PAR_MIN && chunks * per_chunk > 1)
    {
        WeightGradScratch *ws = &gw_scratch;
        if (!ws->a) {
            ws->a = ops_xmalloc_aligned((size_t)GW_MC * GW_KC * sizeof *ws->a);
            ws->b = ops_xmalloc_aligned((size_t)GW_KC * GP_NR * GW_MAX_NP * sizeof *ws->b);
        }
#pragma omp for schedule(dynamic, 1)
        for (int task = 0; task < chunks * per_chunk; task++) {
            const int ch = task / per_chunk, ri = task % per_chunk / pb, pi = task % pb;
            const int k0 = ch * GW_CHUNK, n = k0 + GW_CHUNK <= N ? GW_CHUNK : N - k0;
            const int o_lo = ri * rows, o_hi = o_lo + rows < OC ? o_lo + rows : OC;
            const int p0 = pi * panels, p1 = p0 + panels < np ? p0 + panels : np;
            float *out = ch == 0 ? dw : partial + (size_t)(ch - 1) * wsize;
            // The first column block of each row range also sums dout's columns, chunk by chunk.
            float *colsum = db && pi == 0 ? bsum + (size_t)ch * OC : NULL;
            if (colsum)
                for (int o = o_lo; o < o_hi; o++) colsum[o] = 0.0f;
            weight_grad_block(out, C, dout + (size_t)k0 * OC, inp + (size_t)k0 * C, n, C, OC, o_lo, o_hi, p0, p1,
                              ch == 0, colsum, ws);
        }
        if (chunks > 1 || db) {
#pragma omp for schedule(dynamic, 16)
            for (int o = 0; o < OC; o++) {
                if (db)
                    for (int ch = 0; ch < chunks; ch++) db[o] += bsum[(size_t)ch * OC + o];
                float *d = dw + (size_t)o * C;
                for (int ch = 1; ch < chunks; ch++) {
                    const float *src = partial + (size_t)(ch - 1) * wsize + (size_t)o * C;
#pragma omp simd
                    for (int c = 0; c < C; c++) d[c] += src[c];
                }
            }
        }
    }
}
