// Pruning of the encoder's transformer blocks (the six linear layers of every block):
// - unstructured magnitude pruning: the given fraction of weights with the smallest |w| set to zero, with
//   one threshold over all blocks ("global") or one per block ("layer"); stored dense (zeros in place).
// - structured pruning: whole attention heads and FFN units removed per layer, ranked by a data-free
//   weight-norm importance: head h scores ||W_value[h rows]||_F * ||W_attn_out[:, h cols]||_F (the size of
//   the path by which the head reaches the residual stream), FFN unit j scores ||W_in[j, :]|| * ||W_out[:, j]||.
//   The model is first masked (the units' weights and biases zeroed, which removes their contribution
//   exactly), then compacted into smaller matrices (os_deploy_compact).
// A mask (one byte per parameter of the store, 0 = pruned) records what must stay zero during a recovery
// fine-tune.
#ifndef ONESTONE_DEPLOY_PRUNE_H
#define ONESTONE_DEPLOY_PRUNE_H
#include <stdint.h>

#include "model/model.h"

typedef struct {
    int n_layers, n_heads, inter;
    uint8_t **keep_head;  // (L)(n_heads)
    uint8_t **keep_ffn;   // (L)(inter)
} os_prune_plan;

// Zeroes the `sparsity` fraction (0 <= s < 1) of smallest-magnitude block weights; global = one threshold for
// all blocks, else one per block. Exactly floor(s * n) weights of each group become zero (ties broken by
// position). Clears their bytes in mask (params.total bytes, 1 = kept).
os_status os_prune_magnitude(os_model *m, double sparsity, int global, uint8_t *mask);
// Chooses, per layer, round(heads_frac * heads) heads and round(ffn_frac * intermediate) FFN units to remove
// (at least one of each kept) by the weight-norm importance above.
os_status os_prune_plan_structured(os_prune_plan *plan, const os_model *m, double heads_frac, double ffn_frac);
void os_prune_plan_free(os_prune_plan *plan);
// Zeroes the plan's heads (query/key/value rows and biases, attention-output columns) and FFN units
// (intermediate rows and biases, output columns) in m and clears their bytes in mask.
os_status os_prune_apply_plan(os_model *m, const os_prune_plan *plan, uint8_t *mask);
// p->data[i] = 0 wherever mask[i] == 0 (after every optimizer step of a recovery fine-tune).
void os_prune_mask_apply(os_params *p, const uint8_t *mask);
// The mask of `from` re-indexed for `to` by tensor name (tensors of `to` not in `from` are kept); new array.
uint8_t *os_prune_mask_transfer(const os_params *from, const uint8_t *mask, const os_params *to);
// Zero weights among the block linears: counts for reports and tests.
void os_prune_count(const os_model *m, size_t *zeros, size_t *total);
#endif
