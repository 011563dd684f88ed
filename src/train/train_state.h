// The tensors of a training checkpoint, shared by `onestone train` and `onestone pretrain`: the optimizer's
// moments in a safetensors file ("exp_avg.NAME", "exp_avg_sq.NAME" per parameter, torch's state names),
// and reading parameters + moments back by name for an exact resume.
#ifndef ONESTONE_TRAIN_TRAIN_STATE_H
#define ONESTONE_TRAIN_TRAIN_STATE_H
#include "model/params.h"
#include "optim/optimizer.h"

// Writes o's moments (those it has: none for plain SGD) for every entry of p to `path` atomically.
os_status os_optimizer_save_moments(const os_optimizer *o, const os_params *p, const char *path);
// Reads every entry of p by name from model_path (a model.safetensors) and o's moments from opt_path.
// A missing tensor or a shape mismatch fails naming the file and tensor.
os_status os_train_state_load_tensors(os_params *p, os_optimizer *o, const char *model_path, const char *opt_path);
#endif
