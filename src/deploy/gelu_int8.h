// GELU of the int8 inference path: a polynomial erf with |error| <= 1.5e-4, below the 7-bit quantisation step
// that follows it (src/deploy/gelu_int8.c). fp32 layers keep the exact GELU of src/ops.
#ifndef ONESTONE_DEPLOY_GELU_INT8_H
#define ONESTONE_DEPLOY_GELU_INT8_H
#include <stddef.h>

void os_deploy_gelu(float *out, const float *in, size_t n);
#endif
