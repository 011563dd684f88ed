#include <math.h>

#include "distill/kd_loss.h"

// Row softmax of x / T in double (the losses below compare probabilities, not logits).
static void softmax_t(const float *x, int K, float T, double *out) {
    double mx = -INFINITY, sum = 0;
    for (int k = 0; k < K; k++)
        if (x[k] / T > mx) mx = x[k] / T;
    for (int k = 0; k < K; k++) sum += out[k] = exp(x[k] / T - mx);
    for (int k = 0; k < K; k++) out[k] /= sum;
}

static double sigmoid_d(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

void os_kd_soft_targets(const float *z, int K, float T, float w, float *p) {
    double q[K];
    softmax_t(z, K, T, q);
    for (int k = 0; k < K; k++) p[k] += (float)(w * q[k]);
}

void os_kd_sigmoid_targets(const float *z, int K, float T, float w, float *p) {
    for (int k = 0; k < K; k++) p[k] += (float)(w * sigmoid_d((double)z[k] / T));
}

float os_kd_soft_ce(const float *s, const float *p, int K, float T, float *d, float scale) {
    double mx = -INFINITY, sum = 0, kl = 0;
    for (int k = 0; k < K; k++)
        if (s[k] / T > mx) mx = s[k] / T;
    for (int k = 0; k < K; k++) sum += exp(s[k] / T - mx);
    const double lse = mx + log(sum);
    for (int k = 0; k < K; k++) {
        const double logq = s[k] / T - lse;
        if (p[k] > 0) kl += p[k] * (log((double)p[k]) - logq);
        if (d) d[k] += (float)(scale * T * (exp(logq) - p[k]));
    }
    return (float)(T * T * kl);
}

float os_kd_sigmoid_bce(const float *s, const float *p, int K, float T, float *d, float scale) {
    double sum = 0;
    for (int k = 0; k < K; k++) {
        const double x = (double)s[k] / T;
        // torch's stable form: max(x, 0) - x p + log(1 + exp(-|x|))
        sum += (x > 0 ? x : 0) - x * p[k] + log1p(exp(-fabs(x)));
        if (d) d[k] += (float)(scale * T * (sigmoid_d(x) - p[k]) / K);
    }
    return (float)(T * T * sum / K);
}

float os_kd_mse(const float *s, const float *y, int K, float *d, float scale) {
    double sum = 0;
    for (int k = 0; k < K; k++) {
        const double e = (double)s[k] - y[k];
        sum += e * e;
        if (d) d[k] += (float)(scale * 2.0 * e / K);
    }
    return (float)(sum / K);
}
