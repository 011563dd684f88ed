// Gradient-balancing strategies on small fixed gradient matrices: MGDA's two-task closed form and min-norm
// optimality, PCGrad's per-task projection, CAGrad's dual against a brute-force grid, IMTL-G's equal projections,
// Aligned-MTL's closed form, UPGrad's dual-cone projection; every strategy's g equals sum_i weights_i G_i.
#include "harness.h"
#include "weighting/weighting.h"

#define D 5
// Three conflicting task gradients (3 x 5).
static const float G3[3 * D] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f,   //
                                -1.0f, 1.0f, 2.0f, 0.5f, -1.0f,  //
                                0.2f, 0.3f, -3.0f, 1.0f, 1.0f};

static double dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static os_weighting *make(const char *name, int n, const os_weighting_options *o) {
    os_weighting *w = NULL;
    os_status st = os_weighting_create(name, n, o, 42, &w);
    CHECK_MSG(st == OS_OK && w, "create %s: %s", name, os_last_error());
    return w;
}

// Runs `name` on G (n x D) and checks g == sum_i weights_i G_i.
static void run(const char *name, const os_weighting_options *o, const float *G, int n, const float *L, float *g,
                float *wt) {
    os_weighting *w = make(name, n, o);
    CHECK_MSG(os_weighting_combine(w, G, D, L, g, wt) == OS_OK, "%s: %s", name, os_last_error());
    for (int d = 0; d < D; d++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double)wt[i] * G[i * D + d];
        CHECK_NEAR(g[d], s, 1e-4);
    }
    os_weighting_free(w);
}

static void test_mgda_two_task_closed_form(void) {
    const float *g1 = G3, *g2 = G3 + D;
    double diff[D], num = 0, den = 0;
    for (int d = 0; d < D; d++) {
        diff[d] = (double)g2[d] - g1[d];
        num += diff[d] * g2[d];
        den += diff[d] * diff[d];
    }
    double a = num / den;  // argmin_a || a g1 + (1 - a) g2 ||
    a = a < 0 ? 0 : a > 1 ? 1 : a;
    CHECK(a > 0.01 && a < 0.99);  // interior case
    float g[D], wt[2];
    run("mgda", NULL, G3, 2, NULL, g, wt);
    CHECK_NEAR(wt[0], a, 1e-5);
    CHECK_NEAR(wt[1], 1 - a, 1e-5);
    // min-norm point of a segment is orthogonal to it
    CHECK_NEAR(dot(g, g1, D) - dot(g, g2, D), 0, 1e-4);
    // dominated case: g1 = 2 g2 -> all weight on the shorter g2
    float Gd[2 * D];
    for (int d = 0; d < D; d++) Gd[d] = 2 * (Gd[D + d] = G3[d]);
    run("mgda_ub", NULL, Gd, 2, NULL, g, wt);
    CHECK_NEAR(wt[0], 0, 1e-6);
    CHECK_NEAR(wt[1], 1, 1e-6);
}

static void test_mgda_three_tasks(void) {
    float g[D], wt[3];
    run("mgda", NULL, G3, 3, NULL, g, wt);
    double sum = 0, nn = dot(g, g, D);
    for (int i = 0; i < 3; i++) {
        CHECK(wt[i] >= 0);
        sum += wt[i];
        // optimality: g . G_i >= ||g||^2, with equality where weight > 0
        double gi = dot(g, G3 + i * D, D);
        CHECK_MSG(gi >= nn - 1e-4, "task %d: %g < %g", i, gi, nn);
        if (wt[i] > 1e-4) CHECK_NEAR(gi, nn, 1e-3);
    }
    CHECK_NEAR(sum, 1, 1e-6);
    // brute force over a simplex grid: nothing shorter
    double best = 1e30;
    for (int a = 0; a <= 200; a++)
        for (int b = 0; a + b <= 200; b++) {
            double x[3] = {a / 200.0, b / 200.0, (200 - a - b) / 200.0}, v[D], s = 0;
            for (int d = 0; d < D; d++) {
                v[d] = x[0] * G3[d] + x[1] * G3[D + d] + x[2] * G3[2 * D + d];
                s += v[d] * v[d];
            }
            if (s < best) best = s;
        }
    CHECK(nn <= best + 1e-6);
    // l2 normalisation: weights apply to the raw gradients after solving on unit gradients
    os_weighting_options o;
    os_weighting_default_options(&o);
    o.mgda_normalize = 1;
    run("mgda", &o, G3, 3, NULL, g, wt);
    CHECK_NEAR(wt[0] + wt[1] + wt[2], 1, 1e-6);
}

static void test_pcgrad(void) {
    const float *g1 = G3, *g2 = G3 + D;
    double d12 = dot(g1, g2, D);
    CHECK(d12 < 0);  // conflicting pair
    float p1[D], p2[D], ref[D];
    for (int d = 0; d < D; d++) {
        p1[d] = (float)(g1[d] - d12 / (dot(g2, g2, D) + 1e-8) * g2[d]);
        p2[d] = (float)(g2[d] - d12 / (dot(g1, g1, D) + 1e-8) * g1[d]);
        ref[d] = p1[d] + p2[d];  // projected per task, then summed
    }
    // each projected gradient no longer conflicts with the other task
    CHECK(dot(p1, g2, D) >= -1e-5 && dot(p2, g1, D) >= -1e-5);
    float g[D], wt[2];
    run("pcgrad", NULL, G3, 2, NULL, g, wt);
    for (int d = 0; d < D; d++) CHECK_NEAR(g[d], ref[d], 1e-4);
    // not the projection of the summed gradient
    double s1 = 0;
    for (int d = 0; d < D; d++) s1 += fabs(g[d] - (g1[d] + g2[d]));
    CHECK(s1 > 0.1);
    // non-conflicting gradients are left alone
    float Gp[2 * D] = {1, 0, 0, 0, 0, 1, 1, 0, 0, 0};
    run("pcgrad", NULL, Gp, 2, NULL, g, wt);
    CHECK(wt[0] == 1.0f && wt[1] == 1.0f);
    // three tasks: deterministic given the seed; result differs from the plain sum and has no negative
    // dot product with the task the last projection used (checked via two-task case above)
    float ga[D], gb[D], wa[3], wb[3];
    run("pcgrad", NULL, G3, 3, NULL, ga, wa);
    run("pcgrad", NULL, G3, 3, NULL, gb, wb);
    for (int d = 0; d < D; d++) CHECK(ga[d] == gb[d]);
    for (int i = 0; i < 3; i++) CHECK(wa[i] >= 1.0f);  // projections only add
}

static double cag_obj(const double *x, const double A[9], double c) {
    double lin = 0, q = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            lin += x[i] * A[i * 3 + j] / 3;
            q += x[i] * A[i * 3 + j] * x[j];
        }
    return lin + c * sqrt(q + 1e-8);
}

static void test_cagrad(void) {
    double A[9], meanA = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) meanA += (A[i * 3 + j] = dot(G3 + i * D, G3 + j * D, D)) / 9;
    double c = 0.5 * sqrt(meanA + 1e-8) + 1e-8;
    float g[D], wt[3];
    run("cagrad", NULL, G3, 3, NULL, g, wt);
    // recover the dual solution x from the weights: weights = (1/3 + lmbda x) / (1 + 0.25), sum x = 1
    double lx[3], sl = 0;
    for (int i = 0; i < 3; i++) sl += lx[i] = wt[i] * 1.25 - 1.0 / 3;
    double x[3];
    for (int i = 0; i < 3; i++) x[i] = lx[i] / sl;
    double q = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) q += x[i] * A[i * 3 + j] * x[j];
    CHECK_NEAR(sl, c / (sqrt(q) + 1e-8), 1e-4);  // lmbda = c~ / ||G^T x||
    double f = cag_obj(x, A, c), best = 1e30;
    for (int a = 0; a <= 300; a++)
        for (int b = 0; a + b <= 300; b++) {
            double y[3] = {a / 300.0, b / 300.0, (300 - a - b) / 300.0};
            double fy = cag_obj(y, A, c);
            if (fy < best) best = fy;
        }
    CHECK_MSG(f <= best + 1e-6, "dual objective %g vs grid %g", f, best);
    // c = 0: plain average gradient
    os_weighting_options o;
    os_weighting_default_options(&o);
    o.cagrad_c = 0;
    run("cagrad", &o, G3, 3, NULL, g, wt);
    for (int i = 0; i < 3; i++) CHECK_NEAR(wt[i], 1.0 / 3, 1e-6);
}

static void test_imtl_g(void) {
    float g[D], wt[3];
    run("imtl_g", NULL, G3, 3, NULL, g, wt);
    CHECK_NEAR(wt[0] + wt[1] + wt[2], 1, 1e-5);
    double p[3];
    for (int i = 0; i < 3; i++) p[i] = dot(g, G3 + i * D, D) / sqrt(dot(G3 + i * D, G3 + i * D, D));
    CHECK_NEAR(p[0], p[1], 1e-4);
    CHECK_NEAR(p[0], p[2], 1e-4);
    // two orthogonal gradients of norms 1 and 3: equal projections need weights 3/4, 1/4... alpha_1 * 1 = alpha_2 * 3
    float Go[2 * D] = {1, 0, 0, 0, 0, 0, 3, 0, 0, 0};
    run("imtl_g", NULL, Go, 2, NULL, g, wt);
    CHECK_NEAR(wt[0], 0.75, 1e-6);
    CHECK_NEAR(wt[1], 0.25, 1e-6);
}

static void test_aligned_mtl(void) {
    // two gradients of equal norm: M = [[a, b], [b, a]] -> weights sqrt((a - b) / (a + b)) each
    float G2[2 * D] = {1, 2, 0, 0, 0, 2, 0, 1, 0, 0};
    double a = dot(G2, G2, D), b = dot(G2, G2 + D, D);
    CHECK_NEAR(a, dot(G2 + D, G2 + D, D), 1e-9);
    float g[D], wt[3];
    run("aligned_mtl", NULL, G2, 2, NULL, g, wt);
    CHECK_NEAR(wt[0], sqrt((a - b) / (a + b)), 1e-5);
    CHECK_NEAR(wt[1], sqrt((a - b) / (a + b)), 1e-5);
    // orthogonal gradients: weights sqrt(l_min) / ||G_i||
    float Go[3 * D] = {2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0};
    run("aligned_mtl", NULL, Go, 3, NULL, g, wt);
    CHECK_NEAR(wt[0], 0.5, 1e-5);
    CHECK_NEAR(wt[1], 1.0, 1e-5);
    CHECK_NEAR(wt[2], 0.25, 1e-5);
    // rank-deficient: G_3 = G_1 + G_2 (rank 2) still gives finite weights
    float Gr[3 * D];
    for (int d = 0; d < D; d++) {
        Gr[d] = G3[d];
        Gr[D + d] = G3[D + d];
        Gr[2 * D + d] = G3[d] + G3[D + d];
    }
    run("aligned_mtl", NULL, Gr, 3, NULL, g, wt);
    for (int i = 0; i < 3; i++) CHECK(isfinite(wt[i]));
}

static void test_upgrad(void) {
    // without regularisation, two conflicting tasks: mean of the rows projected onto the dual cone, which for
    // two tasks is the PCGrad projection of each row
    os_weighting_options o;
    os_weighting_default_options(&o);
    o.upgrad_reg_eps = 0;
    o.upgrad_norm_eps = 0;
    const float *g1 = G3, *g2 = G3 + D;
    double d12 = dot(g1, g2, D);
    float g[D], wt[3];
    run("upgrad", &o, G3, 2, NULL, g, wt);
    for (int d = 0; d < D; d++) {
        double p1 = g1[d] - d12 / dot(g2, g2, D) * g2[d], p2 = g2[d] - d12 / dot(g1, g1, D) * g1[d];
        CHECK_NEAR(g[d], (p1 + p2) / 2, 1e-4);
    }
    // defaults, three tasks: no task conflicts with the update (up to the 1e-4 regularisation)
    run("upgrad", NULL, G3, 3, NULL, g, wt);
    for (int i = 0; i < 3; i++) {
        double gi = dot(g, G3 + i * D, D);
        CHECK_MSG(gi >= -1e-3 * dot(G3 + i * D, G3 + i * D, D), "task %d: %g", i, gi);
        CHECK(wt[i] >= 1.0f / 3 - 1e-6);
    }
    // non-conflicting gradients: plain mean
    float Gp[2 * D] = {1, 0, 0, 0, 0, 1, 1, 0, 0, 0};
    run("upgrad", &o, Gp, 2, NULL, g, wt);
    CHECK_NEAR(wt[0], 0.5, 1e-6);
    CHECK_NEAR(wt[1], 0.5, 1e-6);
}

static void test_gradvac(void) {
    os_weighting *w = make("gradvac", 2, NULL);
    const float *g1 = G3, *g2 = G3 + D;
    double a = dot(g1, g1, D), b = dot(g2, g2, D), d12 = dot(g1, g2, D), rho = d12 / sqrt(a * b);
    CHECK(rho < 0);
    float g[D], wt[2];
    // first step: targets are 0, so the vaccine is exactly PCGrad's projection
    CHECK(os_weighting_combine(w, G3, D, NULL, g, wt) == OS_OK);
    CHECK_NEAR(wt[0], 1 - d12 / a, 1e-5);
    CHECK_NEAR(wt[1], 1 - d12 / b, 1e-5);
    // second step: targets are the EMA 0.01 rho; each adjusted gradient has cosine exactly T with the other task
    double T = 0.01 * rho;
    CHECK(os_weighting_combine(w, G3, D, NULL, g, wt) == OS_OK);
    float p1[D], p2[D];
    for (int d = 0; d < D; d++) {
        p1[d] = g1[d] + (wt[1] - 1) * g2[d];
        p2[d] = g2[d] + (wt[0] - 1) * g1[d];
    }
    CHECK_NEAR(dot(p1, g2, D) / sqrt(dot(p1, p1, D) * b), T, 1e-5);
    CHECK_NEAR(dot(p2, g1, D) / sqrt(dot(p2, p2, D) * a), T, 1e-5);
    double w1 = sqrt(a) * (T * sqrt(1 - rho * rho) - rho * sqrt(1 - T * T)) / (sqrt(b) * sqrt(1 - T * T));
    CHECK_NEAR(wt[1] - 1, w1, 1e-5);
    os_weighting_free(w);
    // three tasks: deterministic given the seed
    float ga[D], gb[D], wa[3];
    run("gradvac", NULL, G3, 3, NULL, ga, wa);
    run("gradvac", NULL, G3, 3, NULL, gb, wa);
    for (int d = 0; d < D; d++) CHECK(ga[d] == gb[d]);
}

static void test_nash_mtl(void) {
    float g[D], wt[3];
    run("nash_mtl", NULL, G3, 3, NULL, g, wt);
    double M[9], F = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            M[i * 3 + j] = dot(G3 + i * D, G3 + j * D, D);
            F += M[i * 3 + j] * M[i * 3 + j];
        }
    F = sqrt(F);
    for (int i = 0; i < 3; i++) {
        CHECK(wt[i] > 0);
        double s = 0;
        for (int j = 0; j < 3; j++) s += M[i * 3 + j] / F * wt[j];
        CHECK_MSG(fabs(s - 1 / wt[i]) < 1e-4 * (1 / wt[i]), "task %d: (A alpha)_i %g vs 1/alpha_i %g", i, s, 1 / wt[i]);
    }
    // orthogonal gradients of norms 2, 1, 4: alpha_i = sqrt(||M||_F) / ||G_i||
    float Go[3 * D] = {2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0};
    run("nash_mtl", NULL, Go, 3, NULL, g, wt);
    double Fo = sqrt(16.0 + 1 + 256);
    CHECK_NEAR(wt[0], sqrt(Fo) / 2, 1e-4);
    CHECK_NEAR(wt[1], sqrt(Fo) / 1, 1e-4);
    CHECK_NEAR(wt[2], sqrt(Fo) / 4, 1e-4);
}

static void test_graddrop(void) {
    // coordinates 0..2 agree in sign (kept whole); coordinates 3, 4 conflict: all positive or all negative parts
    float G[3 * D] = {1, -2, 0.5f, 3, -1,  //
                      2, -1, 0.0f, -1, 2,  //
                      0.5f, -3, 1, 1, 0.5f};
    os_weighting *w = make("graddrop", 3, NULL);
    float g[D], kept[3];
    for (int t = 0; t < 20; t++) {
        CHECK(os_weighting_combine(w, G, D, NULL, g, kept) == OS_OK);
        CHECK_NEAR(g[0], 3.5, 1e-6);
        CHECK_NEAR(g[1], -6, 1e-6);
        CHECK_NEAR(g[2], 1.5, 1e-6);
        for (int d = 3; d < 5; d++) {
            double pos = 0, neg = 0;
            for (int i = 0; i < 3; i++) *(G[i * D + d] > 0 ? &pos : &neg) += G[i * D + d];
            CHECK(fabs(g[d] - pos) < 1e-6 || fabs(g[d] - neg) < 1e-6);
        }
    }
    os_weighting_free(w);
    // sign purity: tasks (+3, -1) keep the positive side with probability P = (1 + 2/4) / 2 = 0.75, whatever the
    // sign of the representation (summed over a batch of 2)
    enum { R = 4000 };
    static float pg[2 * 2 * R], rep[2 * R], out[2 * R];
    for (int neg = 0; neg < 2; neg++) {
        for (int r = 0; r < R; r++)
            for (int b = 0; b < 2; b++) {
                pg[(0 * 2 + b) * R + r] = 1.5f;
                pg[(1 * 2 + b) * R + r] = -0.5f;
                rep[b * R + r] = neg ? -1.0f : 2.0f;
            }
        w = make("graddrop", 2, NULL);
        float k2[2];
        CHECK(os_weighting_graddrop(w, pg, rep, 2, R, out, k2) == OS_OK);
        int pos = 0;
        for (int r = 0; r < R; r++) {
            CHECK(out[r] == 1.5f || out[r] == -0.5f);
            pos += out[r] > 0;
        }
        CHECK_MSG(fabs(pos / (double)R - 0.75) < 0.03, "positive side kept %g of the time", pos / (double)R);
        CHECK_NEAR(k2[0] + k2[1], 1, 1e-6);
        os_weighting_free(w);
    }
    // leak = 1: nothing dropped
    os_weighting_options o;
    os_weighting_default_options(&o);
    o.graddrop_leak = 1;
    w = make("graddrop", 3, &o);
    CHECK(os_weighting_combine(w, G, D, NULL, g, kept) == OS_OK);
    for (int d = 0; d < D; d++) CHECK_NEAR(g[d], G[d] + G[D + d] + G[2 * D + d], 1e-6);
    os_weighting_free(w);
}

static void test_dbmtl(void) {
    os_weighting *w = make("dbmtl", 2, NULL);
    float buf[2 * D] = {0}, g[D], al[2], L1[2] = {2, 0.5f}, L2[2] = {1, 0.25f};
    CHECK(os_weighting_combine(w, G3, D, L1, g, al) == OS_ERR_USAGE);
    CHECK(os_weighting_dbmtl(w, G3, D, L1, buf, g, al) == OS_OK);
    // step 1: buf_i = (1 - 0.9) G_i / L_i; alpha_i = max ||buf|| / ||buf_i||
    double ref[2][D], nr[2];
    for (int i = 0; i < 2; i++) {
        nr[i] = 0;
        for (int d = 0; d < D; d++) {
            ref[i][d] = 0.1 * G3[i * D + d] / (L1[i] + 1e-8);
            CHECK_NEAR(buf[i * D + d], ref[i][d], 1e-6);
            nr[i] += ref[i][d] * ref[i][d];
        }
        nr[i] = sqrt(nr[i]);
    }
    double mx = fmax(nr[0], nr[1]);
    for (int i = 0; i < 2; i++) CHECK_NEAR(al[i], mx / (nr[i] + 1e-8), 1e-5);
    for (int d = 0; d < D; d++) CHECK_NEAR(g[d], al[0] * ref[0][d] + al[1] * ref[1][d], 1e-5);
    // step 2 with G rows swapped: beta_2 = 0.9 / sqrt(2)
    float Gs[2 * D];
    for (int d = 0; d < D; d++) {
        Gs[d] = G3[D + d];
        Gs[D + d] = G3[d];
    }
    CHECK(os_weighting_dbmtl(w, Gs, D, L2, buf, g, al) == OS_OK);
    double b2 = 0.9 / sqrt(2.0);
    for (int i = 0; i < 2; i++)
        for (int d = 0; d < D; d++) {
            double gr = Gs[i * D + d] / (L2[i] + 1e-8);
            CHECK_NEAR(buf[i * D + d], gr + b2 * (ref[i][d] - gr), 1e-5);
        }
    os_weighting_free(w);
}

int main(void) {
    RUN(test_mgda_two_task_closed_form);
    RUN(test_mgda_three_tasks);
    RUN(test_pcgrad);
    RUN(test_cagrad);
    RUN(test_imtl_g);
    RUN(test_aligned_mtl);
    RUN(test_upgrad);
    RUN(test_gradvac);
    RUN(test_nash_mtl);
    RUN(test_graddrop);
    RUN(test_dbmtl);
    return th_finish();
}
