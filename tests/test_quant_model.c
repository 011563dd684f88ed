// int8 models end to end: the deploy forward equals the ordinary encoder when nothing is compressed; int8
// logits stay close to fp32; `onestone quantize` writes I8 weights + F32 scales that load back to the same
// logits; predict, eval and the C API run the int8 directory; the scalar and AVX2 kernels give the same
// predictions; bad input fails with one line.
#include "deploy/deploy.h"
#include "deploy/gelu_int8.h"
#include "ops/ops.h"
#include "io/safetensors.h"
#include "onestone.h"
#include "quant_testutil.h"

#define MAXV 4096
static char dir32[512], dir8[600];
static float ref[MAXV];
static size_t nref;

static const char *bin(void) { return getenv("ONESTONE_BIN"); }

// The deploy path with fp32 weights runs the same math as os_encoder_forward (same ops, same order).
// The int8 path's GELU against the exact one (ops' gelu_forward) over [-12, 12]: |error| <= 2e-4 (the fit's
// bound is 1.5e-4), exact 0 at 0, and the right tails (x for large x, 0 for very negative x).
static void test_int8_gelu(void) {
    enum { N = 240001 };
    float *x = malloc(N * sizeof(float)), *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) x[i] = -12.0f + 24.0f * (float)i / (float)(N - 1);
    gelu_forward(a, x, N);
    os_deploy_gelu(b, x, N);
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    printf("  int8-path GELU: max |error| %.3g over [-12, 12]\n", worst);
    CHECK(worst <= 2e-4);
    float z = 0, g;
    os_deploy_gelu(&g, &z, 1);
    CHECK(g == 0.0f);
    free(x);
    free(a);
    free(b);
}

static void test_deploy_fp32_equals_encoder(void) {
    os_model m;
    qt_create(&m, 5);
    qt_batch b;
    qt_make_batch(&b, m.cfg.vocab_size);
    nref = qt_logits(&m, &b, ref);
    qt_save(&m, "test_quant_model_fp32", dir32, sizeof dir32);
    CHECK(os_deploy_from_model(&m.deploy, &m) == OS_OK);
    float got[MAXV];
    CHECK(qt_logits(&m, &b, got) == nref);
    const double d = qt_max_diff(got, ref, nref);
    CHECK_MSG(d <= 1e-5 * qt_max_abs(ref, nref), "fp32 deploy differs from the encoder by %g", d);
    os_model_free(&m);
}

// int8 logits within 5 % of the largest fp32 logit (measured: 2.6 %), and the same argmax on most rows.
static void test_int8_close_to_fp32(void) {
    os_model m;
    qt_create(&m, 5);
    qt_batch b;
    qt_make_batch(&b, m.cfg.vocab_size);
    CHECK(os_deploy_from_model(&m.deploy, &m) == OS_OK);
    CHECK(os_deploy_quantize(m.deploy) == OS_OK);
    CHECK(m.deploy->int8);
    float got[MAXV];
    CHECK(qt_logits(&m, &b, got) == nref);
    const double d = qt_max_diff(got, ref, nref), scale = qt_max_abs(ref, nref);
    printf("int8 vs fp32 logits: max abs difference %.4g (max |logit| %.4g, ratio %.4f)\n", d, scale, d / scale);
    CHECK_MSG(d <= 0.05 * scale, "int8 logits differ by %g (max |logit| %g)", d, scale);
    os_model_free(&m);
}

static void test_cli_quantize_roundtrip(void) {
    char cmd[2048], out[4096];
    if (!bin()) return;
    snprintf(dir8, sizeof dir8, "%s/test_quant_model_int8", th_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && '%s' quantize '%s' '%s'", dir8, bin(), dir32, dir8);
    CHECK_MSG(qt_sh(cmd, out, sizeof out) == 0, "%s", out);
    // I8 weights with F32 scales; LayerNorms, biases, embeddings, pooler and heads F32.
    char path[700];
    snprintf(path, sizeof path, "%s/model.safetensors", dir8);
    os_safetensors st;
    CHECK(os_st_open(&st, path) == OS_OK);
    const os_st_tensor *w = os_st_find(&st, "bert.encoder.layer.2.intermediate.dense.weight");
    const os_st_tensor *s = os_st_find(&st, "bert.encoder.layer.2.intermediate.dense.weight_scale");
    const os_st_tensor *p = os_st_find(&st, "bert.pooler.dense.weight");
    CHECK(w && w->dtype == OS_DT_I8 && w->shape[0] == 72 && w->shape[1] == 48);
    CHECK(s && s->dtype == OS_DT_F32 && s->shape[0] == 72);
    CHECK(p && p->dtype == OS_DT_F32);
    os_st_close(&st);
    // Loads back to exactly the in-memory int8 model's logits.
    os_model a, q;
    qt_create(&a, 5);
    CHECK(os_deploy_from_model(&a.deploy, &a) == OS_OK && os_deploy_quantize(a.deploy) == OS_OK);
    CHECK_MSG(os_model_load(&q, dir8) == OS_OK, "%s", os_last_error());
    CHECK(q.deploy && q.deploy->int8);
    qt_batch b;
    qt_make_batch(&b, a.cfg.vocab_size);
    float x[MAXV], y[MAXV];
    CHECK(qt_logits(&a, &b, x) == qt_logits(&q, &b, y));
    CHECK(!memcmp(x, y, nref * sizeof(float)));
    os_model_free(&a);
    os_model_free(&q);
}

// predict (CLI) == the C API on the int8 directory; the scalar kernels give the same output as AVX2.
static void test_predict_eval_api(void) {
    char cmd[2048], cli[8192], cli_scalar[8192], out[4096];
    if (!bin()) return;
    char txt[600];
    snprintf(txt, sizeof txt, "%s/test_quant_model_in.txt", th_tmpdir());
    FILE *f = fopen(txt, "w");
    if (!f) return;
    fputs("the cat sat on the mat .\na dog ran\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' predict '%s' --logits < '%s'", bin(), dir8, txt);
    CHECK(qt_sh(cmd, cli, sizeof cli) == 0);
    snprintf(cmd, sizeof cmd, "ONESTONE_QGEMM=scalar '%s' predict '%s' --logits < '%s'", bin(), dir8, txt);
    CHECK(qt_sh(cmd, cli_scalar, sizeof cli_scalar) == 0);
    CHECK_MSG(!strcmp(cli, cli_scalar), "AVX2:\n%s\nscalar:\n%s", cli, cli_scalar);
    char err[256];
    onestone_model *m = onestone_model_load(dir8, err, sizeof err);
    onestone_context *c = m ? onestone_context_new(m, err, sizeof err) : NULL;
    CHECK_MSG(c != NULL, "%s", err);
    if (c) {
        const char *texts[2] = {"the cat sat on the mat .", "a dog ran"};
        onestone_result *r = NULL;
        onestone_context_set_logits(c, 1);
        CHECK_MSG(onestone_predict(c, texts, 2, NULL, &r, err, sizeof err) == 0, "%s", err);
        char api[8192] = "";
        for (int i = 0; r && i < 2; i++) {
            char *s = onestone_result_json(r, i);
            if (s && strlen(api) + strlen(s) + 2 < sizeof api) strcat(api, s), strcat(api, "\n");
            free(s);
        }
        CHECK_MSG(!strcmp(api, cli), "API:\n%s\nCLI:\n%s", api, cli);
        onestone_result_free(r);
        onestone_context_free(c);
    }
    onestone_model_free(m);
    // eval of the token task on a two-column CoNLL file.
    char data[600];
    snprintf(data, sizeof data, "%s/test_quant_model.conll", th_tmpdir());
    f = fopen(data, "w");
    if (!f) return;
    fputs("the O\ncat B-X\nsat O\n\na O\ndog B-X\nran I-X\n", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' eval '%s' --task tags --format conll --set 'tag_columns={\"label\": 1}' --data '%s' --json",
             bin(), dir8, data);
    CHECK_MSG(qt_sh(cmd, out, sizeof out) == 0 && strstr(out, "\"accuracy\""), "%s", out);
}

// One line, the right exit code, no crash.
static void expect_fail(const char *args, int code, const char *needle) {
    char cmd[5000], out[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s", bin(), args);
    int rc = qt_sh(cmd, out, sizeof out);
    const char *nl = strchr(out, '\n');
    CHECK_MSG(rc == code && strstr(out, needle) && (!nl || !nl[1]), "'%s': exit %d, output: %s", args, rc, out);
}

static void test_bad_input(void) {
    if (!bin()) return;
    char args[4096], bad[600];
    snprintf(args, sizeof args, "quantize '%s' '%s/test_quant_model_x'", th_tmpdir(), th_tmpdir());
    expect_fail(args, 4, "model.safetensors: missing");
    snprintf(args, sizeof args, "quantize '%s' '%s/test_quant_model_x'", dir8, th_tmpdir());
    expect_fail(args, 3, "already int8");
    snprintf(args, sizeof args, "quantize '%s' '%s'", dir32, dir32);
    expect_fail(args, 2, "must differ");
    expect_fail("quantize onlyone", 2, "needs IN_MODEL_DIR and OUT_MODEL_DIR");
    // A damaged deploy section: the field is named.
    snprintf(bad, sizeof bad, "%s/test_quant_model_bad", th_tmpdir());
    snprintf(args, sizeof args, "rm -rf '%s' && cp -r '%s' '%s' && sed -i 's/\"num_heads\": 4/\"num_heads\": 9/' '%s/config.json'",
             bad, dir8, bad, bad);
    CHECK(qt_sh(args, NULL, 0) == 0);
    snprintf(args, sizeof args, "predict '%s' < /dev/null", bad);
    expect_fail(args, 3, "onestone.deploy.layers[0].num_heads must be an integer in [1, 4]");
    // The scales of an int8 tensor missing: the tensor is named.
    snprintf(args, sizeof args, "rm -rf '%s' && cp -r '%s' '%s' && sed -i 's/layer.1.output.dense.weight_scale/layer.1.output.dense.weight_scalX/' '%s/model.safetensors'",
             bad, dir8, bad, bad);
    CHECK(qt_sh(args, NULL, 0) == 0);
    snprintf(args, sizeof args, "predict '%s' < /dev/null", bad);
    expect_fail(args, 3, "layer.1.output.dense.weight_scale");
}

int main(void) {
    RUN(test_int8_gelu);
    RUN(test_deploy_fp32_equals_encoder);
    RUN(test_int8_close_to_fp32);
    RUN(test_cli_quantize_roundtrip);
    RUN(test_predict_eval_api);
    RUN(test_bad_input);
    return th_finish();
}
