// The packed-weight GEMM (src/ops/gemm_packed.c) against a double-precision product: every edge of its
// blocking (row tails past the 6-row tiles, column tails past the 16-wide panels, K past one 512 block), bias
// or none, the fused GELU, strided operands and accumulation (attention's per-head use), the two packings, the
// transposed left operand, linear_forward's dispatch to it, the shared-input products (linear_forward_n),
// linear_backward's input and weight gradients, the threaded packing, and results independent of the thread
// count and of a row's block.
#include "ops/ops.h"
#include "ops/ops_internal.h"
#include "ops_testutil.h"

// out(n,oc) = sum_k a[n*lda+k] * b(k,o) (+ bias) in double, b given as w(oc,c) when transposed else (c,oc).
static void reference(double *out, const float *a, int lda, const float *b, int transposed, const float *bias,
                      int n, int c, int oc) {
    for (int i = 0; i < n; i++)
        for (int o = 0; o < oc; o++) {
            double s = bias ? bias[o] : 0.0;
            for (int k = 0; k < c; k++)
                s += (double)a[(size_t)i * lda + k] * (transposed ? b[(size_t)o * c + k] : b[(size_t)k * oc + o]);
            out[(size_t)i * oc + o] = s;
        }
}

// Largest |got - want| over the rows, relative to |bias| + sum_k |a_k b_k| of the element (the scale of its
// rounding errors).
static double worst_error(const float *got, int ldg, const double *want, const float *a, int lda, const float *w,
                          const float *bias, int n, int c, int oc) {
    double worst = 0.0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < oc; o++) {
            double scale = 1e-30 + (bias ? fabs(bias[o]) : 0.0);
            for (int k = 0; k < c; k++) scale += fabs((double)a[(size_t)i * lda + k] * w[(size_t)o * c + k]);
            const double e = fabs(got[(size_t)i * ldg + o] - want[(size_t)i * oc + o]) / scale;
            if (e > worst) worst = e;
        }
    return worst;
}

static float *packed_weight(const float *w, int oc, int c) {
    float *p = ops_xmalloc_aligned(gemm_packed_floats(oc, c) * sizeof *p);
    gemm_pack_weight(p, w, oc, c, c);
    return p;
}

static void test_forward_shapes(void) {
    // n: below, at and past the 6-row tile and the 96-row block; c: 1, odd, past the 512 K block; oc: below,
    // at and past the 16-wide panel.
    const int shapes[][3] = {{1, 1, 1}, {5, 3, 17}, {6, 16, 16}, {7, 33, 40}, {97, 600, 33}, {300, 1100, 64},
                             {13, 512, 15}, {200, 64, 130}};
    os_rng r;
    os_rng_seed(&r, 11);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int n = shapes[s][0], c = shapes[s][1], oc = shapes[s][2];
        float *a = tu_floats((size_t)n * c), *w = tu_floats((size_t)oc * c), *b = tu_floats(oc);
        float *out = tu_floats((size_t)n * oc), *pre = tu_floats((size_t)n * oc);
        double *want = malloc((size_t)n * oc * sizeof *want);
        tu_fill_normal(&r, a, (size_t)n * c, 1.0f);
        tu_fill_normal(&r, w, (size_t)oc * c, 0.3f);
        tu_fill_normal(&r, b, oc, 1.0f);
        float *pk = packed_weight(w, oc, c);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            for (size_t i = 0; i < (size_t)n * oc; i++) out[i] = NAN;  // every element must be written
            gemm_packed_forward(out, NULL, NULL, a, pk, bias, n, c, oc, GEMM_ACT_NONE);
            reference(want, a, c, w, 1, bias, n, c, oc);
            const double e = worst_error(out, oc, want, a, c, w, bias, n, c, oc);
            CHECK_MSG(e < 1e-6, "%dx%dx%d bias %d: relative error %.2e", n, c, oc, with_bias, e);
            // Fused GELU: pre holds the same sums, out = gelu(pre) exactly as gelu_forward computes it.
            float *g = tu_floats((size_t)n * oc);
            gemm_packed_forward(g, pre, NULL, a, pk, bias, n, c, oc, GEMM_ACT_GELU);
            CHECK(tu_bitwise_equal(pre, out, (size_t)n * oc * sizeof(float)));
            float *gref = tu_floats((size_t)n * oc);
            gelu_forward(gref, pre, (size_t)n * oc);
            CHECK(tu_bitwise_equal(g, gref, (size_t)n * oc * sizeof(float)));
            // Saving Phi changes no bit of the output, and Phi is what the backward would compute.
            float *g2 = tu_floats((size_t)n * oc), *cdf = tu_floats((size_t)n * oc);
            gemm_packed_forward(g2, pre, cdf, a, pk, bias, n, c, oc, GEMM_ACT_GELU);
            CHECK(tu_bitwise_equal(g2, gref, (size_t)n * oc * sizeof(float)));
            int same = 1;
            for (size_t i = 0; i < (size_t)n * oc; i++) same &= cdf[i] == ops_gelu_cdf(pre[i]);
            CHECK(same);
            free(g), free(gref), free(g2), free(cdf);
        }
        free(pk), free(a), free(w), free(b), free(out), free(pre), free(want);
    }
}

static void test_strided_and_accumulate(void) {
    // Attention's use: operands inside wider rows (lda, ldo > the product's width), the right operand packed
    // either from (oc, c) rows (K) or from (c, oc) rows as it is (V), and dQ's accumulation.
    enum { n = 37, c = 21, oc = 19, lda = 50, ldo = 45, ldw = 30 };
    os_rng r;
    os_rng_seed(&r, 12);
    float *a = tu_floats((size_t)n * lda), *wbig = tu_floats((size_t)oc * ldw), *w = tu_floats((size_t)oc * c);
    tu_fill_normal(&r, a, (size_t)n * lda, 1.0f);
    tu_fill_normal(&r, wbig, (size_t)oc * ldw, 1.0f);
    for (int o = 0; o < oc; o++)
        for (int k = 0; k < c; k++) w[(size_t)o * c + k] = wbig[(size_t)o * ldw + k];
    float *pk = ops_xmalloc_aligned(gemm_packed_floats(oc, c) * sizeof *pk);
    gemm_pack_weight(pk, wbig, oc, c, ldw);
    float *out = tu_floats((size_t)n * ldo);
    for (size_t i = 0; i < (size_t)n * ldo; i++) out[i] = -7.0f;  // the columns past oc must stay
    gemm_packed_serial(out, ldo, a, lda, pk, n, c, oc, 0);
    double *want = malloc((size_t)n * oc * sizeof *want);
    reference(want, a, lda, w, 1, NULL, n, c, oc);
    CHECK(worst_error(out, ldo, want, a, lda, w, NULL, n, c, oc) < 1e-6);
    int kept = 1;
    for (int i = 0; i < n; i++)
        for (int j = oc; j < ldo; j++) kept &= out[(size_t)i * ldo + j] == -7.0f;
    CHECK(kept);
    // Accumulate: out += a · w^T again doubles the product.
    gemm_packed_serial(out, ldo, a, lda, pk, n, c, oc, 1);
    for (size_t i = 0; i < (size_t)n * oc; i++) want[i] *= 2;
    CHECK(worst_error(out, ldo, want, a, lda, w, NULL, n, c, oc) < 2e-6);
    // gemm_pack_kn: the same weights given as (c, oc) rows with stride ldb give the same packing.
    enum { ldb = 24 };
    float *wt = tu_floats((size_t)c * ldb);
    for (int k = 0; k < c; k++)
        for (int o = 0; o < ldb; o++) wt[(size_t)k * ldb + o] = o < oc ? w[(size_t)o * c + k] : 99.0f;
    float *pk2 = ops_xmalloc_aligned(gemm_packed_floats(oc, c) * sizeof *pk2);
    gemm_pack_kn(pk2, wt, c, oc, ldb);
    CHECK(tu_bitwise_equal(pk, pk2, gemm_packed_floats(oc, c) * sizeof(float)));
    // gemm_packed_serial_at (dV = U^T dout, dK = dS^T Q): the left operand stored transposed, (c, n) with
    // stride ldat, gives bitwise what gemm_packed_serial gives on the transposed copy, storing and
    // accumulating, past the 6-row tiles (n = 37) and through row 97's second 96-row block.
    enum { nt = 103, ldat = 110 };
    float *at = tu_floats((size_t)c * ldat), *an = tu_floats((size_t)nt * c);
    float *o_at = tu_floats((size_t)nt * ldo), *o_n = tu_floats((size_t)nt * ldo);
    tu_fill_normal(&r, at, (size_t)c * ldat, 1.0f);
    for (int i = 0; i < nt; i++)
        for (int k = 0; k < c; k++) an[(size_t)i * c + k] = at[(size_t)k * ldat + i];
    for (int accumulate = 0; accumulate < 2; accumulate++) {
        for (size_t i = 0; i < (size_t)nt * ldo; i++) o_at[i] = o_n[i] = 0.5f;
        gemm_packed_serial_at(o_at, ldo, at, ldat, pk, nt, c, oc, accumulate);
        gemm_packed_serial(o_n, ldo, an, c, pk, nt, c, oc, accumulate);
        CHECK(tu_bitwise_equal(o_at, o_n, (size_t)nt * ldo * sizeof(float)));
    }
    double *want_t = malloc((size_t)nt * oc * sizeof *want_t);
    reference(want_t, an, c, w, 1, NULL, nt, c, oc);
    for (size_t i = 0; i < (size_t)nt * oc; i++) want_t[i] += 0.5;
    CHECK(worst_error(o_at, ldo, want_t, an, c, w, NULL, nt, c, oc) < 1e-6);
    free(a), free(wbig), free(w), free(pk), free(pk2), free(out), free(want), free(wt);
    free(at), free(an), free(o_at), free(o_n), free(want_t);
}

static void test_dispatch_and_threads(void) {
    // linear_forward and linear_gelu_forward at a batch large enough for the packed path match the scalar
    // reference; the results do not depend on the thread count nor on which block a row falls in.
    enum { n = 1003, c = 70, oc = 48 };
    os_rng r;
    os_rng_seed(&r, 13);
    float *a = tu_floats((size_t)n * c), *w = tu_floats((size_t)oc * c), *b = tu_floats(oc);
    tu_fill_normal(&r, a, (size_t)n * c, 1.0f);
    tu_fill_normal(&r, w, (size_t)oc * c, 0.3f);
    tu_fill_normal(&r, b, oc, 1.0f);
    CHECK(gemm_packed_use(n, c, oc) == gemm_packed_cpu());
    CHECK(!gemm_packed_use(GEMM_PACKED_MIN_ROWS - 1, c, oc));
    // A weight larger than the batch both ways stays with OpenBLAS (BERT-Base at 2 x 128); as many rows as
    // either side of it take the packed path.
    CHECK(!gemm_packed_use(256, 768, 768));
    CHECK(!gemm_packed_use(767, 768, 3072));
    CHECK(gemm_packed_use(768, 768, 3072) == gemm_packed_cpu());
    CHECK(gemm_packed_use(768, 3072, 768) == gemm_packed_cpu());
    float *out = tu_floats((size_t)n * oc), *ref = tu_floats((size_t)n * oc);
    linear_forward(out, a, w, b, n, c, oc);
    linear_forward_ref(ref, a, w, b, n, c, oc);
    tu_expect_close("linear_forward (packed path)", out, ref, (size_t)n * oc, 1e-5);
    float *pre = tu_floats((size_t)n * oc), *g = tu_floats((size_t)n * oc), *gref = tu_floats((size_t)n * oc);
    linear_gelu_forward(g, pre, a, w, b, n, c, oc);
    gelu_forward(gref, ref, (size_t)n * oc);
    tu_expect_close("linear_gelu_forward (packed path)", g, gref, (size_t)n * oc, 1e-5);

    float *pk = packed_weight(w, oc, c);
    float *o1 = tu_floats((size_t)n * oc), *o3 = tu_floats((size_t)n * oc), *few = tu_floats(7 * (size_t)oc);
    const int before = ops_num_threads();
    ops_set_num_threads(1);
    gemm_packed_forward(o1, NULL, NULL, a, pk, b, n, c, oc, GEMM_ACT_NONE);
    ops_set_num_threads(3);
    gemm_packed_forward(o3, NULL, NULL, a, pk, b, n, c, oc, GEMM_ACT_NONE);
    ops_set_num_threads(before);
    CHECK(tu_bitwise_equal(o1, o3, (size_t)n * oc * sizeof(float)));
    // Rows 500..506 alone (a tile and a tail of their own) give the bits they got inside the big product.
    gemm_packed_forward(few, NULL, NULL, a + (size_t)500 * c, pk, b, 7, c, oc, GEMM_ACT_NONE);
    CHECK(tu_bitwise_equal(few, o1 + (size_t)500 * oc, 7 * (size_t)oc * sizeof(float)));
    free(a), free(w), free(b), free(out), free(ref), free(pre), free(g), free(gref), free(pk), free(o1), free(o3),
        free(few);
}

static void test_shared_input(void) {
    // linear_forward_n (attention's Q, K, V): each output bitwise what linear_forward gives alone, with and
    // without a bias, on the packed path (n = 400) and on the small-batch fallback (n = 9), on 1 and 2 threads.
    enum { c = 40, oc = 35, nw = 3 };
    os_rng r;
    os_rng_seed(&r, 14);
    const int sizes[] = {400, 9};
    for (int si = 0; si < 2; si++) {
        const int n = sizes[si];
        float *a = tu_floats((size_t)n * c), *w[nw], *b[nw], *got[nw], *want = tu_floats((size_t)n * oc);
        for (int i = 0; i < nw; i++) {
            w[i] = tu_floats((size_t)oc * c), b[i] = tu_floats(oc), got[i] = tu_floats((size_t)n * oc);
            tu_fill_normal(&r, w[i], (size_t)oc * c, 0.3f);
            tu_fill_normal(&r, b[i], oc, 1.0f);
        }
        tu_fill_normal(&r, a, (size_t)n * c, 1.0f);
        const float *const wc[nw] = {w[0], w[1], w[2]}, *const bc[nw] = {b[0], NULL, b[2]};
        const int before = ops_num_threads();
        for (int th = 1; th <= 2; th++) {
            ops_set_num_threads(th);
            linear_forward_n(nw, got, a, wc, bc, n, c, oc);
            for (int i = 0; i < nw; i++) {
                linear_forward(want, a, wc[i], bc[i], n, c, oc);
                CHECK(tu_bitwise_equal(got[i], want, (size_t)n * oc * sizeof(float)));
            }
        }
        ops_set_num_threads(before);
        free(a), free(want);
        for (int i = 0; i < nw; i++) free(w[i]), free(b[i]), free(got[i]);
    }
}

static void test_backward_input_gradient(void) {
    // linear_backward's input gradient on the packed path (n >= GEMM_PACKED_MIN_ROWS): dinp += dout · w against
    // a double product, accumulating onto what dinp held, bitwise the same on 1 and 2 threads.
    enum { n = 403, c = 40, oc = 70 };
    os_rng r;
    os_rng_seed(&r, 15);
    float *dout = tu_floats((size_t)n * oc), *w = tu_floats((size_t)oc * c), *start = tu_floats((size_t)n * c);
    tu_fill_normal(&r, dout, (size_t)n * oc, 1.0f);
    tu_fill_normal(&r, w, (size_t)oc * c, 0.3f);
    tu_fill_normal(&r, start, (size_t)n * c, 1.0f);
    CHECK(gemm_packed_use(n, oc, c));
    double *want = malloc((size_t)n * c * sizeof *want);
    reference(want, dout, oc, w, 0, NULL, n, oc, c);  // w given as (oc, c) = (K, N), not transposed
    for (size_t i = 0; i < (size_t)n * c; i++) want[i] += start[i];
    float *got[2];
    const int before = ops_num_threads();
    for (int th = 1; th <= 2; th++) {
        ops_set_num_threads(th);
        got[th - 1] = tu_copy(start, (size_t)n * c);
        linear_backward(got[th - 1], NULL, NULL, dout, NULL, w, n, c, oc);
    }
    ops_set_num_threads(before);
    double worst = 0.0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++) {
            double scale = 1e-30 + fabs(start[(size_t)i * c + k]);
            for (int o = 0; o < oc; o++) scale += fabs((double)dout[(size_t)i * oc + o] * w[(size_t)o * c + k]);
            const double e = fabs(got[0][(size_t)i * c + k] - want[(size_t)i * c + k]) / scale;
            if (e > worst) worst = e;
        }
    printf("  linear_backward dinp (packed path) max rel err %.2e\n", worst);
    CHECK(worst < 2e-6);
    CHECK(tu_bitwise_equal(got[0], got[1], (size_t)n * c * sizeof(float)));
    free(dout), free(w), free(start), free(want), free(got[0]), free(got[1]);
}

static void test_pack_kn_threads(void) {
    // gemm_pack_kn on a weight-sized operand (past its threshold for splitting the panels over the threads),
    // with a row stride past the width and a last panel 6 wide: on 1 and 2 threads, every packed value is
    // b's (k, p * 16 + j), or 0 past the width.
    enum { K = 1030, W = 1030, LDB = 1040 };
    os_rng r;
    os_rng_seed(&r, 17);
    float *b = tu_floats((size_t)K * LDB);
    tu_fill_normal(&r, b, (size_t)K * LDB, 1.0f);
    const size_t n = gemm_packed_floats(W, K);
    const int before = ops_num_threads();
    for (int th = 1; th <= 2; th++) {
        ops_set_num_threads(th);
        float *pk = ops_xmalloc_aligned(n * sizeof *pk);
        gemm_pack_kn(pk, b, K, W, LDB);
        int ok = 1;
        for (int p = 0; p < (W + 15) / 16; p++)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < 16; j++) {
                    const int o = p * 16 + j;
                    ok &= pk[((size_t)p * K + k) * 16 + j] == (o < W ? b[(size_t)k * LDB + o] : 0.0f);
                }
        CHECK_MSG(ok, "%d thread(s)", th);
        free(pk);
    }
    ops_set_num_threads(before);
    free(b);
}

static void test_backward_weight_gradient(void) {
    // The weight gradient's kernel: dw += dout^T · inp and db += dout's column sums against double sums,
    // accumulating onto what dw and db held, bitwise the same on 1, 2 and 3 threads. Shapes: rows past a
    // 1024-row chunk and not a multiple of the 256-row step, columns past 32 panels and not a multiple of 16,
    // output rows past the 96-row block and not a multiple of 6; a small batch whose dw is split into row and
    // column blocks.
    const int shapes[][3] = {{300, 40, 70}, {1300, 1030, 50}, {2100, 33, 101}, {256, 32, 32}, {260, 200, 500}};
    os_rng r;
    os_rng_seed(&r, 16);
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int n = shapes[si][0], c = shapes[si][1], oc = shapes[si][2];
        float *dout = tu_floats((size_t)n * oc), *x = tu_floats((size_t)n * c), *start = tu_floats((size_t)oc * c);
        tu_fill_normal(&r, dout, (size_t)n * oc, 1.0f);
        tu_fill_normal(&r, x, (size_t)n * c, 1.0f);
        tu_fill_normal(&r, start, (size_t)oc * c, 1.0f);
        float *got[3], *gdb[3], *db0 = tu_floats(oc);
        tu_fill_normal(&r, db0, oc, 1.0f);
        const int before = ops_num_threads();
        for (int th = 1; th <= 3; th++) {
            ops_set_num_threads(th);
            got[th - 1] = tu_copy(start, (size_t)oc * c);
            gdb[th - 1] = tu_copy(db0, oc);
            gemm_packed_weight_grad(got[th - 1], gdb[th - 1], dout, x, n, c, oc);
        }
        ops_set_num_threads(before);
        double worst = 0.0;
        for (int o = 0; o < oc; o++)
            for (int k = 0; k < c; k++) {
                double want = start[(size_t)o * c + k], scale = 1e-30 + fabs(want);
                for (int i = 0; i < n; i++) {
                    const double t = (double)dout[(size_t)i * oc + o] * x[(size_t)i * c + k];
                    want += t;
                    scale += fabs(t);
                }
                const double e = fabs(got[0][(size_t)o * c + k] - want) / scale;
                if (e > worst) worst = e;
            }
        double worst_db = 0.0;  // the bias gradient summed on the way: db += dout's column sums
        for (int o = 0; o < oc; o++) {
            double want = db0[o], scale = 1e-30 + fabs(want);
            for (int i = 0; i < n; i++) {
                want += dout[(size_t)i * oc + o];
                scale += fabs(dout[(size_t)i * oc + o]);
            }
            const double e = fabs(gdb[0][o] - want) / scale;
            if (e > worst_db) worst_db = e;
        }
        printf("  weight gradient (packed) %d rows, %d x %d: max rel err %.2e, bias %.2e\n", n, oc, c, worst,
               worst_db);
        CHECK(worst < 2e-6);
        CHECK(worst_db < 2e-6);
        CHECK(tu_bitwise_equal(got[0], got[1], (size_t)oc * c * sizeof(float)));
        CHECK(tu_bitwise_equal(got[0], got[2], (size_t)oc * c * sizeof(float)));
        CHECK(tu_bitwise_equal(gdb[0], gdb[1], oc * sizeof(float)));
        CHECK(tu_bitwise_equal(gdb[0], gdb[2], oc * sizeof(float)));
        // linear_backward takes this kernel from GEMM_PACKED_DW_MIN_ROWS rows, OpenBLAS below.
        float *via = tu_copy(start, (size_t)oc * c), *via_db = tu_copy(db0, oc);
        linear_backward(NULL, via, via_db, dout, x, NULL, n, c, oc);
        CHECK(tu_bitwise_equal(got[0], via, (size_t)oc * c * sizeof(float)) == (n >= GEMM_PACKED_DW_MIN_ROWS));
        if (n >= GEMM_PACKED_DW_MIN_ROWS) CHECK(tu_bitwise_equal(gdb[0], via_db, oc * sizeof(float)));
        free(dout), free(x), free(start), free(via), free(via_db), free(db0);
        for (int i = 0; i < 3; i++) free(got[i]), free(gdb[i]);
    }
}

int main(void) {
    if (!gemm_packed_cpu()) {
        printf("skip: this CPU has no AVX2+FMA (or ONESTONE_PACKED_GEMM=0); linear_forward uses OpenBLAS only\n");
        CHECK(!gemm_packed_use(4096, 256, 256));
        return th_finish();
    }
    RUN(test_forward_shapes);
    RUN(test_strided_and_accumulate);
    RUN(test_dispatch_and_threads);
    RUN(test_shared_input);
    RUN(test_backward_input_gradient);
    RUN(test_pack_kn_threads);
    RUN(test_backward_weight_gradient);
    return th_finish();
}
