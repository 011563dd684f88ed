// Parity with an independent PyTorch reference: tests/ref/weighting_ref.py computes each strategy's weights
// on the same fixed gradients (LibMTL's algorithms; the QPs solved by exact active-set enumeration or L-BFGS)
// and this test compares. PyTorch (Debian's python3-torch) is a required test dependency: without it this fails.
#include <unistd.h>

#include "harness.h"
#include "weighting/weighting.h"

#define D 5
static const float G3[3 * D] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f,   //
                                -1.0f, 1.0f, 2.0f, 0.5f, -1.0f,  //
                                0.2f, 0.3f, -3.0f, 1.0f, 1.0f};
static const float L3[3] = {1.5f, 0.7f, 2.0f};
static const char *PYTHON = "/usr/bin/python3";  // Debian's, where python3-torch lives

enum { MAX_REF = 32 };
static struct {
    char name[64];
    double v[8];
    int n;
} refs[MAX_REF];
static int n_refs;

static int load_reference(void) {
    const char *src = getenv("ONESTONE_SRC");
    if (!src || !*src) {
        fprintf(stderr, "test_weighting_ref: ONESTONE_SRC is not set (run it through ctest)\n");
        return 0;
    }
    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "test_weighting_ref: %s not found: the reference needs Debian's python3 with python3-torch "
                        "(run scripts/setup.sh)\n", PYTHON);
        return 0;
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/ref/weighting_ref.py'", PYTHON, src);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char line[1024];
    while (n_refs < MAX_REF && fgets(line, sizeof line, p)) {
        char *tok = strtok(line, " \n");
        if (!tok) continue;
        snprintf(refs[n_refs].name, sizeof refs[n_refs].name, "%s", tok);
        refs[n_refs].n = 0;
        while ((tok = strtok(NULL, " \n")) && refs[n_refs].n < 8) refs[n_refs].v[refs[n_refs].n++] = atof(tok);
        n_refs++;
    }
    int st = pclose(p);
    if (st != 0 || n_refs == 0) {
        fprintf(stderr, "test_weighting_ref: the PyTorch reference script failed (%s; status %d): PyTorch is a "
                        "required test dependency, install python3-torch (scripts/setup.sh)\n", cmd, st);
        return 0;
    }
    return 1;
}

static void expect(const char *name, const float *ours, int n, double tol) {
    for (int r = 0; r < n_refs; r++) {
        if (strcmp(refs[r].name, name) != 0) continue;
        CHECK_MSG(refs[r].n == n, "%s: reference has %d values, expected %d", name, refs[r].n, n);
        for (int i = 0; i < n && i < refs[r].n; i++)
            CHECK_MSG(fabs(ours[i] - refs[r].v[i]) <= tol * fmax(1, fabs(refs[r].v[i])), "%s[%d]: %.9g vs reference %.9g",
                      name, i, (double)ours[i], refs[r].v[i]);
        return;
    }
    CHECK_MSG(0, "%s: missing from the reference output", name);
}

static void grad_weights(const char *name, int n, const char *ref, double tol) {
    os_weighting *w = NULL;
    CHECK_MSG(os_weighting_create(name, n, NULL, 3, &w) == OS_OK, "%s", os_last_error());
    float g[D], wt[3];
    CHECK_MSG(os_weighting_combine(w, G3, D, L3, g, wt) == OS_OK, "%s: %s", name, os_last_error());
    expect(ref, wt, n, tol);
    os_weighting_free(w);
}

static void test_gradient_strategies(void) {
    grad_weights("mgda", 3, "mgda", 1e-5);
    grad_weights("pcgrad", 2, "pcgrad2", 1e-5);
    grad_weights("imtl_g", 3, "imtl_g", 1e-5);
    grad_weights("aligned_mtl", 3, "aligned_mtl", 1e-5);
    grad_weights("cagrad", 3, "cagrad", 1e-4);
    grad_weights("upgrad", 3, "upgrad", 1e-5);
    grad_weights("nash_mtl", 3, "nash_mtl", 1e-5);
    os_weighting *w = NULL;
    CHECK(os_weighting_create("gradvac", 2, NULL, 3, &w) == OS_OK);
    float g[D], wt[3];
    CHECK(os_weighting_combine(w, G3, D, NULL, g, wt) == OS_OK);
    expect("gradvac2_step0", wt, 2, 1e-5);
    CHECK(os_weighting_combine(w, G3, D, NULL, g, wt) == OS_OK);
    expect("gradvac2_step1", wt, 2, 1e-5);
    os_weighting_free(w);
}

static void test_loss_strategies(void) {
    os_weighting *w = NULL;
    float lam[3], gs[3];
    CHECK(os_weighting_create("uw", 3, NULL, 3, &w) == OS_OK);
    int np;
    float *s = os_weighting_params(w, &np);
    s[0] = 0, s[1] = 1, s[2] = -1;
    CHECK(os_weighting_uw_grad(w, L3, NULL, gs) == OS_OK);
    expect("uw_grad", gs, 3, 1e-6);
    os_weighting_free(w);

    CHECK(os_weighting_create("gls", 3, NULL, 3, &w) == OS_OK);
    CHECK(os_weighting_loss_weights(w, L3, lam) == OS_OK);
    expect("gls", lam, 3, 1e-6);
    os_weighting_free(w);

    const float seq[3][3] = {{1, 2, 4}, {0.5f, 1.8f, 4}, {0.45f, 1.0f, 3.9f}};
    CHECK(os_weighting_create("famo", 3, NULL, 3, &w) == OS_OK);
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "famo_step%d", k);
        CHECK(os_weighting_loss_weights(w, seq[k], lam) == OS_OK);
        expect(name, lam, 3, 1e-5);
    }
    os_weighting_free(w);

    CHECK(os_weighting_create("dbmtl", 2, NULL, 3, &w) == OS_OK);
    float buf[2 * D] = {0}, g[D], al[2], Lh[2] = {0.5f * L3[0], 0.5f * L3[1]};
    CHECK(os_weighting_dbmtl(w, G3, D, L3, buf, g, al) == OS_OK);
    CHECK(os_weighting_dbmtl(w, G3, D, Lh, buf, g, al) == OS_OK);
    expect("dbmtl_step2", al, 2, 1e-5);
    expect("dbmtl_step2_g", g, D, 1e-5);
    os_weighting_free(w);
}

int main(void) {
    if (!load_reference()) {
        CHECK_MSG(0, "no PyTorch reference");
        return th_finish();
    }
    RUN(test_gradient_strategies);
    RUN(test_loss_strategies);
    return th_finish();
}
