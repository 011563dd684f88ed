// Intermediate-layer distillation state: one learned projection (student hidden -> teacher hidden) per
// hidden-state pair, its own AdamW (the student's optimizer settings, constant learning rate), and the
// gradients handed to the student encoder's backward through os_encoder_acts.extra_grad. The projections
// are a training aid, not part of the student model; they are saved with each checkpoint for exact resume.
#ifndef ONESTONE_DISTILL_LAYERS_H
#define ONESTONE_DISTILL_LAYERS_H
#include "distill/distill_config.h"
#include "model/model.h"
#include "optim/optimizer.h"

typedef struct {
    const os_distill_config *cfg;
    os_model *student, *teacher;
    os_params proj;                        // "proj.<pair>.weight" (Ct, Cs), "proj.<pair>.bias" (Ct)
    size_t w[OS_KD_MAX_PAIRS], b[OS_KD_MAX_PAIRS];
    os_optimizer opt;
    float lr;
    float *d_hidden;                       // (L+1) slots of (N,Cs): extra gradient per student hidden state
    float *d_attn;                         // (L) slots of (B,NH,T,T): extra gradient per student attention layer
    uint8_t *has_hidden, *has_attn;        // which slots hold a gradient for the current batch
    float *proj_out, *d_proj;              // (N,Ct) scratch
    size_t cap_n, cap_pt, cap_ct;          // capacities (rows, attention floats, scratch floats)
    float hidden_loss, attention_loss;     // of the last batch (weighted)
} os_kd_layers;

// Checks the pairs against both models and allocates the projections (initialised like a linear layer:
// normal(0, the student's initializer_range), bias 0; seeded).
os_status os_kd_layers_init(os_kd_layers *L, const os_distill_config *cfg, os_model *student, os_model *teacher,
                            const os_opt_config *opt, const char *teacher_dir, uint64_t seed);
void os_kd_layers_free(os_kd_layers *L);
// After the student's and the teacher's forward on the same batch: computes the losses, their gradients
// (kept for backward; the encoder hook is armed), and updates the projections. Returns the weighted loss.
os_status os_kd_layers_step(os_kd_layers *L, float *loss);
// The projections and their optimizer state, as DIR/distill_layers.safetensors.
os_status os_kd_layers_save(const os_kd_layers *L, const char *dir);
os_status os_kd_layers_load(os_kd_layers *L, const char *dir);
#endif
