// Arithmetic shared by the scalar and AVX2 int8 kernels, so both round identically.
#ifndef ONESTONE_DEPLOY_QGEMM_INTERNAL_H
#define ONESTONE_DEPLOY_QGEMM_INTERNAL_H
#include <math.h>
#include <stdint.h>

#include "deploy/qgemm.h"

// Asymmetric 7-bit parameters of one activation row from its min and max (both already include 0, as in
// PyTorch, so that 0 is exactly representable): scale = (max - min) / 127, zero point = round(-min / scale).
static inline void qact_row_params(float mn, float mx, float *scale, float *inv, int32_t *zp) {
    float s = (mx - mn) / (float)OS_QACT_MAX;
    if (!(s > 0) || !isfinite(s)) s = 1.0f;
    *scale = s;
    *inv = 1.0f / s;
    long z = lrintf(-mn * *inv);
    *zp = (int32_t)(z < 0 ? 0 : z > OS_QACT_MAX ? OS_QACT_MAX : z);
}

// One output value from its int32 accumulator; separate statements keep compilers from fusing into an FMA
// in one kernel but not the other.
static inline float qdequant(int32_t acc, int32_t zp, int32_t wsum, float sa, float sw, float bias) {
    const float s = sa * sw;
    const float v = (float)(acc - zp * wsum);
    const float y = s * v;
    return y + bias;
}
#endif
