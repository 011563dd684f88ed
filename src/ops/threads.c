// Thread count for the kernels: OpenMP (our loops) and OpenBLAS (the linears' sgemm) together.
#include <cblas.h>
#include <omp.h>

#include "ops/ops.h"

void ops_set_num_threads(int n) {
    if (n < 1) n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int ops_num_threads(void) { return omp_get_max_threads(); }
