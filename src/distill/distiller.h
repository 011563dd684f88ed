// The distillation loss inside the trainer (os_train_hook): for every student task with teachers, on every
// micro-batch, loss_i = alpha_i * hard_i + (1 - alpha_i) * KD_i, where KD_i is
//   classification, relations:   T^2 KL(p_teacher(T) || softmax(s/T)), mean over sequences
//   token tasks (CRF: emissions): the same per word (first piece of each word), mean over words
//   multi-label:                 T^2 mean_k BCE(sigmoid(s_k/T), p_teacher_k(T)), mean over sequences
//   regression:                  MSE(s, teacher output), mean over sequences
// p_teacher is the teachers' average probability (one teacher: its own). KD covers every row of the batch,
// labelled or not (unlabeled text learns from the teacher alone). The hard-label gradient the model already
// holds is scaled by alpha_i and the KD gradient added, both times the task's loss_weight.
#ifndef ONESTONE_DISTILL_DISTILLER_H
#define ONESTONE_DISTILL_DISTILLER_H
#include "distill/cache.h"
#include "distill/layers.h"
#include "train/trainer.h"

typedef struct {
    const os_distill_config *cfg;
    os_runtime *rt;
    os_teacher_set *ts;
    const os_kd_cache *cache;  // NULL: teachers run on every batch (online)
    os_kd_layers *layers;      // intermediate-layer matching (its teacher runs on every batch), or NULL
    float *logits[OS_KD_MAX_TEACHERS];  // (rows, K) teacher logits of the current batch, per source
    float *targets;                     // (K) soft targets of one row
    size_t cap;                         // floats per logits buffer
} os_distiller;

// Binds the pieces (set d->layers afterwards for layer matching); the trainer then calls
// os_distiller_after_loss (and the checkpoint save/load of the layer state) through os_distiller_hook().
void os_distiller_init(os_distiller *d, const os_distill_config *cfg, os_runtime *rt, os_teacher_set *ts,
                       const os_kd_cache *cache);
void os_distiller_free(os_distiller *d);
os_train_hook os_distiller_hook(os_distiller *d);
os_status os_distiller_after_loss(void *ctx, int group, const os_batch *batch, const os_batch_input *in,
                                  float *task_losses, int *task_counts);
#endif
