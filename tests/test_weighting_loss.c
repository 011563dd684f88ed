// Loss-weighting strategies (ew, static, uw, dwa, gls, rlw, gradnorm): hand-computed weights, UW tracking
// injected label noise, GradNorm equalising weighted gradient norms, exact state save/load, errors.
#include "harness.h"
#include "util/rng.h"
#include "weighting/weighting.h"

static os_weighting *make(const char *name, int n, const os_weighting_options *o, uint64_t seed) {
    os_weighting *w = NULL;
    os_status st = os_weighting_create(name, n, o, seed, &w);
    CHECK_MSG(st == OS_OK && w, "create %s: %s", name, os_last_error());
    return w;
}

static void test_ew_static(void) {
    os_weighting *w = make("ew", 3, NULL, 1);
    float lam[3], L[3] = {1, 2, 3};
    CHECK(os_weighting_loss_weights(w, L, lam) == OS_OK);
    for (int i = 0; i < 3; i++) CHECK(lam[i] == 1.0f);
    CHECK(!os_weighting_needs_grads(w));
    // via combine: g = sum_i G_i
    float G[6] = {1, 2, 3, 4, 5, 6}, g[2], wt[3];
    CHECK(os_weighting_combine(w, G, 2, NULL, g, wt) == OS_OK);
    CHECK_NEAR(g[0], 9, 1e-6);
    CHECK_NEAR(g[1], 12, 1e-6);
    os_weighting_free(w);

    os_weighting_options o;
    os_weighting_default_options(&o);
    float sw[3] = {0.5f, 2.0f, 0.0f};
    o.static_weights = sw;
    w = make("static", 3, &o, 1);
    sw[0] = 99;  // copied at create
    CHECK(os_weighting_loss_weights(w, NULL, lam) == OS_OK);
    CHECK(lam[0] == 0.5f && lam[1] == 2.0f && lam[2] == 0.0f);
    os_weighting_free(w);
    sw[0] = -1;
    os_weighting *bad = NULL;
    CHECK(os_weighting_create("static", 3, &o, 1, &bad) == OS_ERR_INPUT && !bad);
    CHECK(strstr(os_last_error(), "task 0") != NULL);
}

static void test_gls_hand(void) {
    os_weighting *w = make("gls", 3, NULL, 1);
    float L[3] = {1, 4, 2}, lam[3];
    CHECK(os_weighting_loss_weights(w, L, lam) == OS_OK);
    // (1*4*2)^(1/3) = 2; lambda_i = 2 / (3 L_i)
    CHECK_NEAR(lam[0], 2.0 / 3, 1e-6);
    CHECK_NEAR(lam[1], 1.0 / 6, 1e-6);
    CHECK_NEAR(lam[2], 1.0 / 3, 1e-6);
    // lambda_i is d (prod L)^(1/n) / d L_i: central finite difference
    for (int i = 0; i < 3; i++) {
        double h = 1e-5, Lp[3] = {1, 4, 2}, Lm[3] = {1, 4, 2};
        Lp[i] += h;
        Lm[i] -= h;
        double fp = cbrt(Lp[0] * Lp[1] * Lp[2]), fm = cbrt(Lm[0] * Lm[1] * Lm[2]);
        CHECK_NEAR(lam[i], (fp - fm) / (2 * h), 1e-5);
    }
    float zero[3] = {1, 0, 2};
    CHECK(os_weighting_loss_weights(w, zero, lam) == OS_ERR_NUMERIC);
    float nan[3] = {1, NAN, 2};
    CHECK(os_weighting_loss_weights(w, nan, lam) == OS_ERR_NUMERIC);
    CHECK(os_weighting_loss_weights(w, NULL, lam) == OS_ERR_USAGE);
    os_weighting_free(w);
}

static void test_dwa_hand(void) {
    os_weighting *w = make("dwa", 3, NULL, 1);
    float lam[3];
    CHECK(os_weighting_loss_weights(w, NULL, lam) == OS_OK);
    for (int i = 0; i < 3; i++) CHECK(lam[i] == 1.0f);  // no history yet
    float e1[3] = {1, 2, 4}, e2[3] = {0.5f, 2, 2};
    CHECK(os_weighting_epoch_end(w, e1) == OS_OK);
    CHECK(os_weighting_loss_weights(w, NULL, lam) == OS_OK);
    for (int i = 0; i < 3; i++) CHECK(lam[i] == 1.0f);  // one epoch is not enough
    CHECK(os_weighting_epoch_end(w, e2) == OS_OK);
    CHECK(os_weighting_loss_weights(w, NULL, lam) == OS_OK);
    // ratios (0.5, 1, 0.5) / T=2 -> 3 softmax(0.25, 0.5, 0.25)
    double a = exp(0.25), b = exp(0.5), s = 2 * a + b;
    CHECK_NEAR(lam[0], 3 * a / s, 1e-6);
    CHECK_NEAR(lam[1], 3 * b / s, 1e-6);
    CHECK_NEAR(lam[2], 3 * a / s, 1e-6);
    os_weighting_free(w);
}

static void test_rlw(void) {
    os_weighting *a = make("rlw", 4, NULL, 7), *b = make("rlw", 4, NULL, 7), *c = make("rlw", 4, NULL, 8);
    float la[4], lb[4], lc[4], prev[4] = {0};
    int differs_seed = 0, differs_step = 0;
    for (int s = 0; s < 20; s++) {
        CHECK(os_weighting_loss_weights(a, NULL, la) == OS_OK);
        CHECK(os_weighting_loss_weights(b, NULL, lb) == OS_OK);
        CHECK(os_weighting_loss_weights(c, NULL, lc) == OS_OK);
        double sum = 0;
        for (int i = 0; i < 4; i++) {
            CHECK(la[i] == lb[i]);
            CHECK(la[i] > 0);
            sum += la[i];
            differs_seed |= la[i] != lc[i];
            differs_step |= la[i] != prev[i];
            prev[i] = la[i];
        }
        CHECK_NEAR(sum, 1, 1e-6);
    }
    CHECK(differs_seed && differs_step);
    os_weighting_free(a);
    os_weighting_free(b);
    os_weighting_free(c);
}

// Three regression tasks y = a_i x + sigma_i eps, each fitted by a scalar w_i with MSE, trained jointly with
// UW's log-variances: s_i must settle at log sigma_i^2 (the irreducible loss).
static void test_uw_tracks_noise(void) {
    os_weighting *w = make("uw", 3, NULL, 1);
    int np;
    float *s = os_weighting_params(w, &np);
    CHECK(np == 3 && s);
    const double sigma[3] = {0.5, 1.0, 2.0}, slope[3] = {1.0, -2.0, 0.5};
    double wt[3] = {0, 0, 0}, avg[3] = {0, 0, 0};
    os_rng r;
    os_rng_seed(&r, 123);
    const int steps = 4000, B = 64;
    for (int t = 0; t < steps; t++) {
        float L[3], lam[3], gs[3];
        double gw[3];
        for (int i = 0; i < 3; i++) {
            double l = 0, g = 0;
            for (int b = 0; b < B; b++) {
                double x = os_rng_normal(&r), y = slope[i] * x + sigma[i] * os_rng_normal(&r), e = wt[i] * x - y;
                l += e * e / B;
                g += 2 * e * x / B;
            }
            L[i] = (float)l;
            gw[i] = g;
        }
        CHECK(os_weighting_loss_weights(w, L, lam) == OS_OK);
        double total;
        CHECK(os_weighting_uw_grad(w, L, &total, gs) == OS_OK);
        for (int i = 0; i < 3; i++) {
            wt[i] -= 0.05 * lam[i] * gw[i];
            s[i] -= 0.02f * gs[i];
            if (t >= steps - 1000) avg[i] += s[i] / 1000.0;
        }
    }
    for (int i = 0; i < 3; i++) CHECK_MSG(fabs(avg[i] - log(sigma[i] * sigma[i])) < 0.15, "task %d: s %g vs log sigma^2 %g", i, avg[i], log(sigma[i] * sigma[i]));
    // lambda_i = 1/(2 exp(s_i)), gradient formula and total loss
    float L[3] = {1, 2, 3}, lam[3], gs[3];
    s[0] = 0;
    s[1] = 1;
    s[2] = -1;
    double total;
    CHECK(os_weighting_loss_weights(w, L, lam) == OS_OK);
    CHECK(os_weighting_uw_grad(w, L, &total, gs) == OS_OK);
    CHECK_NEAR(lam[1], 0.5 * exp(-1.0), 1e-7);
    CHECK_NEAR(gs[2], 0.5 - 3 * 0.5 * exp(1.0), 1e-5);
    CHECK_NEAR(total, 0.5 + 2 * 0.5 * exp(-1.0) + 3 * 0.5 * exp(1.0) + 0.5 * (0 + 1 - 1), 1e-5);
    os_weighting_free(w);
}

static void test_gradnorm_equalises(void) {
    os_weighting_options o;
    os_weighting_default_options(&o);
    o.gradnorm_lr = 0.0005f;
    os_weighting *w = make("gradnorm", 3, &o, 1);
    float norms[3] = {1, 4, 10}, ratios[3] = {1, 1, 1}, lam[3];
    for (int t = 0; t < 20000; t++) CHECK(os_weighting_gradnorm_update(w, norms, ratios, lam) == OS_OK);
    double mean = (lam[0] * norms[0] + lam[1] * norms[1] + lam[2] * norms[2]) / 3;
    for (int i = 0; i < 3; i++) CHECK_MSG(fabs(lam[i] * norms[i] / mean - 1) < 0.05, "task %d: %g vs %g", i, lam[i] * norms[i], mean);
    CHECK_NEAR(lam[0] + lam[1] + lam[2], 3, 1e-4);
    // unequal training rates: the task that trains slowest (largest ratio) gets the largest weighted norm
    os_weighting_free(w);
    w = make("gradnorm", 3, &o, 1);
    float r2[3] = {1.0f, 2.0f, 0.5f};
    for (int t = 0; t < 20000; t++) CHECK(os_weighting_gradnorm_update(w, norms, r2, lam) == OS_OK);
    CHECK(lam[1] * norms[1] > lam[0] * norms[0] && lam[0] * norms[0] > lam[2] * norms[2]);
    os_weighting_free(w);
    // through combine: row norms of G, ratios from the first losses
    o.gradnorm_lr = 0.002f;
    w = make("gradnorm", 2, &o, 1);
    CHECK(os_weighting_needs_grads(w));
    float G[4] = {3, 0, 0, 0.5f}, g[2], wt[2], L[2] = {2, 1};
    for (int t = 0; t < 3000; t++) CHECK(os_weighting_combine(w, G, 2, L, g, wt) == OS_OK);
    CHECK_MSG(fabs(wt[0] * 3 - wt[1] * 0.5) < 0.05 * wt[1] * 0.5 + 0.02, "%g vs %g", wt[0] * 3, wt[1] * 0.5);
    CHECK_NEAR(g[0], wt[0] * 3, 1e-6);
    CHECK_NEAR(g[1], wt[1] * 0.5, 1e-6);
    os_weighting_free(w);
}

static void test_famo_hand(void) {
    os_weighting *w = make("famo", 3, NULL, 1);
    float L1[3] = {1, 2, 4}, L2[3] = {0.5f, 1.8f, 4}, lam[3];
    // first step: z uniform, lambda_i = (1 / L_i) / sum_j (1 / L_j)
    CHECK(os_weighting_loss_weights(w, L1, lam) == OS_OK);
    double inv = 1 + 0.5 + 0.25;
    for (int i = 0; i < 3; i++) CHECK_NEAR(lam[i], 1 / (L1[i] * inv), 1e-6);
    // second step: one Adam step on the logits; the first Adam step moves each logit by -lr sign(d_i)
    CHECK(os_weighting_loss_weights(w, L2, lam) == OS_OK);
    double delta[3], md = 0, xi[3], z[3], zs = 0, c = 0;
    for (int i = 0; i < 3; i++) md += (delta[i] = log(L1[i] + 1e-8) - log(L2[i] + 1e-8)) / 3;
    for (int i = 0; i < 3; i++) {
        double d = (delta[i] - md) / 3;
        xi[i] = -0.025 * d / (fabs(d) + 1e-8);
        zs += z[i] = exp(xi[i]);
    }
    for (int i = 0; i < 3; i++) c += (z[i] /= zs) / L2[i];
    for (int i = 0; i < 3; i++) CHECK_NEAR(lam[i], z[i] / (c * L2[i]), 1e-5);
    CHECK(xi[0] < 0 && xi[1] > 0);  // the fastest-improving task is down-weighted
    os_weighting_free(w);
}

static void test_state_roundtrip(void) {
    const char *names[] = {"rlw", "dwa", "uw", "gradnorm", "pcgrad", "static", "famo", "gradvac", "graddrop"};
    float G[15] = {1, -2, 0.5f, 0, 3, -1, 1, 2, 0.5f, -1, 0.2f, 0.3f, -3, 1, 1};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        os_weighting *w = make(names[k], 3, NULL, 99);
        float L[3] = {1.5f, 0.7f, 2.0f}, g[5], wa[3], wb[3];
        for (int s = 0; s < 3; s++) {
            CHECK(os_weighting_combine(w, G, 5, L, g, wa) == OS_OK);
            CHECK(os_weighting_epoch_end(w, L) == OS_OK);
            L[s] *= 0.8f;
        }
        size_t n = os_weighting_state_size(w);
        float *buf = calloc(n, sizeof(float));
        CHECK(os_weighting_state_save(w, buf, n) == OS_OK);
        float ref[4][3];
        for (int s = 0; s < 4; s++) {
            CHECK(os_weighting_combine(w, G, 5, L, g, ref[s]) == OS_OK);
            CHECK(os_weighting_epoch_end(w, L) == OS_OK);
        }
        os_weighting *v = make(names[k], 3, NULL, 12345);
        CHECK(os_weighting_state_load(v, buf, n) == OS_OK);
        for (int s = 0; s < 4; s++) {
            CHECK(os_weighting_combine(v, G, 5, L, g, wb) == OS_OK);
            CHECK(os_weighting_epoch_end(v, L) == OS_OK);
            for (int i = 0; i < 3; i++) CHECK_MSG(wb[i] == ref[s][i], "%s step %d task %d", names[k], s, i);
        }
        CHECK(os_weighting_state_load(v, buf, n - 1) == OS_ERR_INPUT);
        buf[0] = 0.5f;
        CHECK(os_weighting_state_load(v, buf, n) == OS_ERR_INPUT);
        free(buf);
        os_weighting_free(w);
        os_weighting_free(v);
    }
}

static void test_errors(void) {
    os_weighting *w = NULL;
    CHECK(os_weighting_create("nope", 2, NULL, 1, &w) == OS_ERR_USAGE && !w);
    CHECK(strstr(os_last_error(), "nope") && strstr(os_last_error(), "pcgrad"));
    CHECK(os_weighting_create("ew", 0, NULL, 1, &w) == OS_ERR_USAGE);
    w = make("mgda", 2, NULL, 1);
    float lam[2];
    CHECK(os_weighting_loss_weights(w, NULL, lam) == OS_ERR_USAGE);
    float G[4] = {1, NAN, 0, 1}, g[2];
    CHECK(os_weighting_combine(w, G, 2, NULL, g, NULL) == OS_ERR_NUMERIC);
    os_weighting_free(w);
    w = make("ew", 2, NULL, 1);
    CHECK(os_weighting_uw_grad(w, lam, NULL, NULL) == OS_ERR_USAGE);
    os_weighting_free(w);
}

int main(void) {
    RUN(test_ew_static);
    RUN(test_gls_hand);
    RUN(test_dwa_hand);
    RUN(test_rlw);
    RUN(test_uw_tracks_noise);
    RUN(test_gradnorm_equalises);
    RUN(test_famo_hand);
    RUN(test_state_roundtrip);
    RUN(test_errors);
    return th_finish();
}
