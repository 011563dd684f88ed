// Knowledge-distillation losses on one row of student outputs (docs/distill.md). Every function returns the
// row's loss and, when `d` is not NULL, adds scale * d(loss)/d(student) to d (so callers fold in task
// weights, the 1 - alpha mix and the 1/rows mean). Soft targets are probabilities the caller made from the
// teacher(s) with os_kd_soft_targets / os_kd_sigmoid_targets (averaged over an ensemble).
#ifndef ONESTONE_DISTILL_KD_LOSS_H
#define ONESTONE_DISTILL_KD_LOSS_H

// p[k] += w * softmax(z / T)[k] for k < K: one teacher's share of the (averaged) soft targets.
void os_kd_soft_targets(const float *z, int K, float T, float w, float *p);
// p[k] += w * sigmoid(z[k] / T): multi-label soft targets.
void os_kd_sigmoid_targets(const float *z, int K, float T, float w, float *p);

// T^2 * KL(p || softmax(s / T)) (Hinton et al.; torch: T*T * F.kl_div(F.log_softmax(s/T), p, "sum")).
// Gradient: T * (softmax(s/T) - p). Entries with p = 0 contribute 0 (x log x at 0).
float os_kd_soft_ce(const float *s, const float *p, int K, float T, float *d, float scale);
// T^2 * mean_k BCE(sigmoid(s_k / T), p_k) (torch: T*T * F.binary_cross_entropy_with_logits(s/T, p)).
// Gradient: T * (sigmoid(s/T) - p) / K.
float os_kd_sigmoid_bce(const float *s, const float *p, int K, float T, float *d, float scale);
// mean_k (s_k - y_k)^2 (regression: the teacher's outputs y as targets; no temperature).
float os_kd_mse(const float *s, const float *y, int K, float *d, float scale);
#endif
