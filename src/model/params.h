// Parameter store: every trainable tensor of a model lives in ONE float allocation, its gradient in a second
// of the same layout, and optimizer moments in more of the same. Tensors are found by HF-style name; model
// structs keep byte-free *offsets* so one struct addresses parameters, gradients and moments alike.
#ifndef ONESTONE_MODEL_PARAMS_H
#define ONESTONE_MODEL_PARAMS_H
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define OS_PARAM_NAME_MAX 160
#define OS_PARAM_MAX_DIMS 4

typedef struct {
    char name[OS_PARAM_NAME_MAX];
    int ndim;
    int64_t shape[OS_PARAM_MAX_DIMS];
    size_t offset;  // in floats, into data / grad / moments
    size_t numel;
    uint8_t no_decay;  // biases and LayerNorm weights: excluded from weight decay
    uint8_t frozen;    // excluded from updates (gradient still computed unless the model skips it)
    float lr_scale;    // multiplies the scheduled learning rate (layer-wise decay, head rates); 1 by default
} os_param_entry;

typedef struct {
    os_param_entry *entries;
    int n, cap;
    size_t total;  // floats
    float *data;   // (total) parameter values
    float *grad;   // (total) gradients, same layout
} os_params;

// Registers a tensor before allocation and returns its offset (in floats). Names must be unique.
size_t os_params_add(os_params *p, const char *name, int ndim, const int64_t *shape, int no_decay);
// Allocates zeroed data and grad for everything registered.
os_status os_params_alloc(os_params *p);
// Index of the entry named `name`, or -1.
int os_params_find(const os_params *p, const char *name);
// Zeroes all gradients.
void os_params_zero_grad(os_params *p);
// Multiplies every gradient by factor (accumulation averaging, clipping).
void os_params_scale_grad(os_params *p, float factor);
// Frees everything.
void os_params_free(os_params *p);
// Global L2 norm of the gradients of non-frozen tensors.
double os_params_grad_norm(const os_params *p);
#endif
