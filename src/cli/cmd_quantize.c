// onestone quantize IN_MODEL_DIR OUT_MODEL_DIR: int8 weights for every linear layer of the encoder.
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "deploy/deploy.h"
#include "deploy/model_dir.h"
#include "model/checkpoint.h"

static const char *usage =
    "usage: onestone quantize IN_MODEL_DIR OUT_MODEL_DIR\n"
    "\n"
    "Writes an int8 copy of a model (docs/deploy.md): the weights of every linear layer of the encoder's\n"
    "transformer blocks (query, key, value, attention output, FFN in and out) become int8, symmetric per\n"
    "output channel with one float scale per row; activations are quantised per row at run time and the\n"
    "products run in int8 (AVX2 when the CPU has it). Embeddings, LayerNorms, biases, the pooler and the task\n"
    "heads stay fp32. IN may be an ordinary or a structurally pruned model. `onestone predict`, `onestone eval`\n"
    "and the C API load OUT directly.\n";

int cmd_quantize(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        fprintf(stderr, "onestone quantize: needs IN_MODEL_DIR and OUT_MODEL_DIR (see onestone quantize --help)\n");
        return 2;
    }
    const char *in = argv[1], *out = argv[2];
    os_model m;
    os_status st = os_model_load(&m, in);
    if (st) return cli_report("quantize", st);
    if (m.deploy && m.deploy->int8) st = os_fail(OS_ERR_INPUT, "%s: the model is already int8", in);
    else if (!m.deploy) st = os_deploy_from_model(&m.deploy, &m);
    if (!st) st = os_deploy_quantize(m.deploy);
    json_t *prov = json_pack("{s:s}", "int8", "symmetric per output channel weights, dynamic per-row u7 activations");
    if (!st) st = os_compressed_save(&m, in, out, prov);
    json_decref(prov);
    if (!st)
        printf("int8 model saved in %s: model.safetensors %.2f MB (was %.2f MB)\n", out,
               (double)os_model_file_bytes(out) / 1e6, (double)os_model_file_bytes(in) / 1e6);
    os_model_free(&m);
    return st ? cli_report("quantize", st) : 0;
}
