// Inference-only encoder layers for compressed models: every linear layer of the transformer blocks either
// fp32 or int8 (qgemm.h), and per-layer attention-head counts and feed-forward widths (structured pruning
// stores the smaller matrices and runs the smaller shapes). Embeddings, LayerNorms' neighbours, the pooler
// and the task heads stay in the model's fp32 parameter store and reuse the ordinary code (src/ops, heads).
//
// A model with m->deploy set (os_model in model.h) runs os_deploy_forward instead of os_encoder_forward and
// cannot be trained. Model directories mark it in config.json: "onestone": {"deploy": {"format": 1,
// "weights": "int8" | "float32", "layers": [{"num_heads": H, "intermediate_size": I, "pruned_heads": [...]},
// ...]}}; model.safetensors holds each layer's linears under HF's names, int8 ones as I8 "<name>.weight"
// (out, in) plus F32 "<name>.weight_scale" (out). docs/deploy.md describes the format.
#ifndef ONESTONE_DEPLOY_DEPLOY_H
#define ONESTONE_DEPLOY_DEPLOY_H
#include <jansson.h>

#include "deploy/qgemm.h"
#include "io/safetensors.h"
#include "model/model.h"

typedef struct {
    int OC, K;
    float *w;      // (OC,K) fp32 weights, or NULL when int8
    os_qmatrix q;  // int8 weights (when w == NULL)
    float *b;      // (OC)
    int64_t wshape[2], bshape[1];  // for the safetensors writer
    char name[OS_PARAM_NAME_MAX];  // "bert.encoder.layer.L.attention.self.query" etc. (no ".weight")
    char wname[OS_PARAM_NAME_MAX], bname[OS_PARAM_NAME_MAX], sname[OS_PARAM_NAME_MAX];
} os_dlinear;

typedef struct {
    int heads;      // attention heads kept
    int inter;      // feed-forward width kept
    int n_pruned;   // heads removed, by their original index
    int *pruned;
    os_dlinear lin[6];  // query, key, value, attention output, intermediate, output (OS_DL_*)
    float *ln[4];       // attention.output.LayerNorm weight, bias; output.LayerNorm weight, bias (C)
    char ln_names[4][OS_PARAM_NAME_MAX];
} os_dlayer;

enum { OS_DL_Q, OS_DL_K, OS_DL_V, OS_DL_AO, OS_DL_I, OS_DL_O };

struct os_deploy {
    int n_layers, C, HS, orig_heads;
    int int8;  // every linear is int8
    int64_t cshape[1];
    os_dlayer *layers;
};
typedef struct os_deploy os_deploy;

// An fp32 copy of the encoder layers of an ordinary (trainable) model.
os_status os_deploy_from_model(os_deploy **out, const os_model *m);
// Structured compaction: keeps heads with keep_head[l][h] != 0 and FFN units with keep_ffn[l][j] != 0
// (either array may be NULL = keep all of that kind). fp32 layers only. Every layer keeps >= 1 head and unit.
os_status os_deploy_compact(os_deploy *d, uint8_t *const *keep_head, uint8_t *const *keep_ffn);
// Quantises every fp32 linear to int8 (symmetric, per output channel).
os_status os_deploy_quantize(os_deploy *d);
void os_deploy_free(os_deploy *d);

// The encoder forward of m (whose deploy is d): embeddings through m's parameters, d's layers, output left
// where os_encoder_output() points, pooler into m->acts.pool. Inference only (training: OS_ERR_INPUT).
os_status os_deploy_forward(const os_deploy *d, os_model *m, const os_batch_input *in, int training);

// Saving: the number of tensors d adds, and those entries (pointing into d); the config.json annotation.
size_t os_deploy_n_tensors(const os_deploy *d);
void os_deploy_tensors(const os_deploy *d, os_st_entry *out);
void os_deploy_annotate_config(const os_deploy *d, json_t *root);
// Loading the layers described by `spec` (config.json's onestone.deploy) from an open file; file_prefix is
// "bert." or "". Errors name the file and the tensor or field.
os_status os_deploy_load(os_deploy **out, const os_safetensors *st, const json_t *spec, const os_bert_config *cfg,
                         const char *file_prefix, const char *cfg_path);
// True for encoder-layer parameter names (which a model with a deploy does not save from its store).
int os_deploy_owns_param(const char *name);
// Bytes of the stored layer weights (for reports).
size_t os_deploy_weight_bytes(const os_deploy *d);
#endif
