// Small dense helpers for the strategies: simplex projection, min-norm QP, linear solve, symmetric eigensolver.
// All work on n x n matrices (n = number of tasks) in double precision.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weighting/weighting_internal.h"

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

void os_wt_project_simplex(double *v, int n) {
    // Duchi et al. 2008: sort descending, find the largest rho with u_rho - (cumsum_rho - 1) / rho > 0.
    double u[64], *buf = n <= 64 ? u : malloc((size_t)n * sizeof(double));
    if (!buf) {  // out of memory: fall back to the uniform point (still feasible)
        for (int i = 0; i < n; i++) v[i] = 1.0 / n;
        return;
    }
    memcpy(buf, v, (size_t)n * sizeof(double));
    qsort(buf, (size_t)n, sizeof(double), cmp_desc);
    double cum = 0, theta = 0;
    for (int i = 0; i < n; i++) {
        cum += buf[i];
        double t = (cum - 1.0) / (i + 1);
        if (buf[i] - t > 0) theta = t;
    }
    for (int i = 0; i < n; i++) v[i] = v[i] - theta > 0 ? v[i] - theta : 0;
    if (buf != u) free(buf);
}

void os_wt_min_norm(const double *M, int n, double *a) {
    // Accelerated projected gradient (FISTA) on f(a) = a^T M a over the simplex, step 1 / (2 trace M),
    // from the uniform point; n is small, so thousands of iterations cost microseconds.
    if (n == 1) {
        a[0] = 1;
        return;
    }
    if (n == 2) {  // closed form (Sener & Koltun 2018, Algorithm 1)
        double den = M[0] - 2 * M[1] + M[3];
        double t = den > 0 ? (M[3] - M[1]) / den : 0.5;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        a[0] = t;
        a[1] = 1 - t;
        return;
    }
    double tr = 0;
    for (int i = 0; i < n; i++) tr += M[i * n + i];
    for (int i = 0; i < n; i++) a[i] = 1.0 / n;
    if (!(tr > 0)) return;
    double *y = calloc((size_t)n * 3, sizeof(double));
    if (!y) return;
    double *prev = y + n, *grad = y + 2 * n;
    memcpy(y, a, (size_t)n * sizeof(double));
    double tk = 1, step = 1.0 / (2 * tr);
    for (int it = 0; it < 20000; it++) {
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < n; j++) s += M[i * n + j] * y[j];
            grad[i] = 2 * s;
        }
        memcpy(prev, a, (size_t)n * sizeof(double));
        for (int i = 0; i < n; i++) a[i] = y[i] - step * grad[i];
        os_wt_project_simplex(a, n);
        double tn = (1 + sqrt(1 + 4 * tk * tk)) / 2, diff = 0;
        for (int i = 0; i < n; i++) {
            y[i] = a[i] + (tk - 1) / tn * (a[i] - prev[i]);
            diff += fabs(a[i] - prev[i]);
        }
        tk = tn;
        if (diff < 1e-14 && it > 10) break;
    }
    free(y);
}

int os_wt_solve(double *A, double *b, int n) {
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[p * n + c])) p = r;
        if (!(fabs(A[p * n + c]) > 1e-300)) return -1;
        if (p != c) {
            for (int k = 0; k < n; k++) {
                double t = A[c * n + k];
                A[c * n + k] = A[p * n + k];
                A[p * n + k] = t;
            }
            double t = b[c];
            b[c] = b[p];
            b[p] = t;
        }
        for (int r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (int k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = n - 1; c >= 0; c--) {
        double s = b[c];
        for (int k = c + 1; k < n; k++) s -= A[c * n + k] * b[k];
        b[c] = s / A[c * n + c];
    }
    return 0;
}

void os_wt_symeig(double *A, int n, double *evals, double *V) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) V[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, tot = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                tot += A[i * n + j] * A[i * n + j];
                if (i != j) off += A[i * n + j] * A[i * n + j];
            }
        if (off <= 1e-30 * (tot > 0 ? tot : 1)) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (apq == 0) continue;
                double theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) {  // A <- A J (columns p, q)
                    double akp = A[k * n + p], akq = A[k * n + q];
                    A[k * n + p] = c * akp - s * akq;
                    A[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {  // A <- J^T A (rows p, q)
                    double apk = A[p * n + k], aqk = A[q * n + k];
                    A[p * n + k] = c * apk - s * aqk;
                    A[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {
                    double vkp = V[k * n + p], vkq = V[k * n + q];
                    V[k * n + p] = c * vkp - s * vkq;
                    V[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++) evals[i] = A[i * n + i];
}
