// Per-parameter training settings from the config: learning-rate scales (head_lr, layer-wise decay) and
// frozen flags (freeze_embeddings, freeze_layers, freeze_encoder, gradual unfreezing; the heads of tasks kept
// from model.init with keep_init_tasks). docs/config.md.
//
// Gradual unfreezing (ULMFiT): the encoder starts frozen - only the task heads and the pooler train; every `every` steps one more layer is released, from the top down, and after the bottom
// layer the embeddings. Static freezes (freeze_layers, freeze_embeddings, freeze_encoder) still apply on top.
#ifndef ONESTONE_TRAIN_PARAM_GROUPS_H
#define ONESTONE_TRAIN_PARAM_GROUPS_H
#include "model/params.h"
#include "train/train_config.h"

// Encoder layers released by gradual unfreezing before optimizer step `step` (0-based): step / every, where
// every is unfreeze_every_steps or unfreeze_every_epochs * epoch_steps. -1 when gradual unfreezing is off.
long os_unfreeze_released(const os_train_config *c, long step, long epoch_steps);
// Sets lr_scale and frozen on every entry ("bert.*" tensors are the encoder, everything else heads) for an
// encoder of num_layers layers with `released` layers released (-1: no gradual unfreezing). Returns the
// frozen_below value for os_model_backward (the contiguous frozen bottom: 1 = embeddings, k+1 = embeddings
// and layers 0..k-1).
int os_param_groups_setup(os_params *p, const os_train_config *c, int num_layers, long released);
#endif
