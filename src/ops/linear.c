// Fully connected layer in torch.nn.Linear layout: out(N,OC) = inp(N,C) · w(OC,C)^T + b. The forward product, the
// input gradient and the weight gradient of a large batch go through the packed kernels (gemm_packed.c) on
// AVX2+FMA CPUs; small products through OpenBLAS.
#include <cblas.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ops/ops.h"
#include "ops/ops_internal.h"

int gemm_packed_cpu(void) {
    // Decided once (the CPU and the environment do not change while we run); attention calls this from
    // several threads, hence the atomic.
    static atomic_int decided = -1;
    int enabled = atomic_load_explicit(&decided, memory_order_relaxed);
    if (enabled < 0) {
        const char *env = getenv("ONESTONE_PACKED_GEMM");
        int cpu = 0;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_cpu_init();
        cpu = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
        enabled = cpu && !(env && env[0] == '0');
        atomic_store_explicit(&decided, enabled, memory_order_relaxed);
    }
    return enabled;
}

int gemm_packed_use(int N, int C, int OC) {
    // Small products (a few sentences at serving time, the heads' narrow outputs) stay with OpenBLAS: there
    // the weight packing is not paid back. So do products whose weight is larger than the batch both ways
    // (fewer rows than the weight has inputs and outputs: BERT-Base at 2 x 128). There each call packs a
    // weight fetched from memory and each row chunk reads all of it again: in a 2-thread BERT-Base training
    // step, 8 % packing and 7 % waiting at the end of parallel regions, against 5 % and 0.5 % with OpenBLAS,
    // whose step ran 10-22 % faster in 3 of 4 alternating rounds (docs/performance.md, session 7).
    return gemm_packed_cpu() && N >= GEMM_PACKED_MIN_ROWS && C >= 32 && OC >= 32 && (N >= C || N >= OC);
}

// The weight is packed again at every call: packing is ~1/N of the product's work, and a fresh copy stays correct
// whatever changed the weights in between (an optimizer step, a checkpoint load, the C API). The buffer is
// kept per thread and reused: a fresh megabyte-sized allocation each call goes to mmap, and its page faults and
// the unmapping's TLB shootdowns measured a few percent of a training step. (It stays allocated until the
// thread ends: at most the largest weight of the model, per thread that calls linear_forward.)
static _Thread_local float *packed_buf;
static _Thread_local size_t packed_cap;

static float *packed_scratch(size_t need) {
    if (need > packed_cap) {
        free(packed_buf);
        packed_buf = ops_xmalloc_aligned(need * sizeof *packed_buf);
        packed_cap = need;
    }
    return packed_buf;
}

void linear_forward_packed(float *out, float *pre, float *cdf, const float *inp, const float *w, const float *b,
                           int N, int C, int OC, int act) {
    float *pk = packed_scratch(gemm_packed_floats(OC, C));
    gemm_pack_weight(pk, w, OC, C, C);
    gemm_packed_forward(out, pre, cdf, inp, pk, b, N, C, OC, act);
}

enum { LINEAR_N_MAX = 4 };

void linear_forward_n(int nw, float *const *out, const float *inp, const float *const *w, const float *const *b,
                      int N, int C, int OC) {
    if (nw > LINEAR_N_MAX || !gemm_packed_use(N, C, OC)) {
        for (int i = 0; i < nw; i++) linear_forward(out[i], inp, w[i], b[i], N, C, OC);
        return;
    }
    const size_t one = gemm_packed_floats(OC, C);
    float *pk = packed_scratch(nw * one);
    const float *packed[LINEAR_N_MAX];
    for (int i = 0; i < nw; i++) {
        packed[i] = pk + i * one;
        gemm_pack_weight(pk + i * one, w[i], OC, C, C);
    }
    gemm_packed_forward_n(nw, out, inp, packed, b, N, C, OC);
}

void linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C, int OC) {
    if (N <= 0 || OC <= 0) return;
    if (gemm_packed_use(N, C, OC)) {
        linear_forward_packed(out, NULL, NULL, inp, w, b, N, C, OC, GEMM_ACT_NONE);
        return;
    }
    // Start from the bias rows and let sgemm add the product (beta = 1): no second pass over out.
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)N * OC > 4 * OPS_PAR_MIN)
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, b, (size_t)OC * sizeof *out);
    }
    if (C <= 0) {
        if (!b) memset(out, 0, (size_t)N * OC * sizeof *out);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, b ? 1.0f : 0.0f, out,
                OC);
}

void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                     int N, int C, int OC) {
    if (N <= 0 || OC <= 0) return;
    if (dinp && C > 0) {  // dinp(N,C) += dout(N,OC) · w(OC,C)
        if (gemm_packed_use(N, OC, C)) {
            // The packed kernel, its rows dealt out dynamically: OpenBLAS splits a product into static shares,
            // which wait for the slower core on a shared machine. w is the right operand as it is, (OC, C).
            // Measured on BERT-Mini training: +1.4-3.3 % on 1 thread, +1-3 % on 2 beside a busy process.
            float *pk = packed_scratch(gemm_packed_floats(C, OC));
            gemm_pack_kn(pk, w, OC, C, C);
            gemm_packed_accumulate(dinp, dout, pk, N, OC, C);
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, 1.0f, dinp, C);
        }
    }
    if (dw && C > 0) {  // dw(OC,C) += dout^T(OC,N) · inp(N,C)
        // The packed kernel dealt out in blocks (gemm_packed.c), from a batch of GEMM_PACKED_DW_MIN_ROWS rows;
        // it sums db on the way (dout is read for dw anyway). BERT-Mini training at 32 x 128, alternating
        // builds, medians on 2 threads: +2.8 % beside a process that holds a core half of the time, +5 % in a
        // noisy phase of the machine, 1-3 % slower in a quiet one (0.7-1.5 % on 1 thread), where OpenBLAS's
        // static shares lose nothing. Below that many rows (BERT-Base at 2 x 128) OpenBLAS measured 3-4 %
        // faster on 2 threads.
        if (gemm_packed_use(N, C, OC) && N >= GEMM_PACKED_DW_MIN_ROWS) {
            gemm_packed_weight_grad(dw, db, dout, inp, N, C, OC);
            db = NULL;
        } else {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
        }
    }
    if (db) {
        // Column sums of dout. Each thread owns a contiguous range of output channels and streams the rows
        // through it in order (contiguous runs of up to CB floats per row, where blocks of 64 columns had every
        // thread hop a whole row stride per 256 bytes); each sum adds the rows in order whatever the thread
        // count.
        enum { CB = 1024 };
#pragma omp parallel if ((size_t)N * OC > OPS_PAR_MIN && OC >= 32)
        {
            const int nt = omp_get_num_threads(), t = omp_get_thread_num();
            const int lo = (int)((long long)OC * t / nt), hi = (int)((long long)OC * (t + 1) / nt);
            for (int c0 = lo; c0 < hi; c0 += CB) {
                const int cn = hi - c0 < CB ? hi - c0 : CB;
                float s[CB];
                for (int o = 0; o < cn; o++) s[o] = 0.0f;
                for (int n = 0; n < N; n++) {
                    const float *d = dout + (size_t)n * OC + c0;
#pragma omp simd
                    for (int o = 0; o < cn; o++) s[o] += d[o];
                }
                for (int o = 0; o < cn; o++) db[c0 + o] += s[o];
            }
        }
    }
}
