// Bad model directories: every problem is one error line naming the file and the tensor or field, with the
// documented exit status, and loading never crashes.
#include <unistd.h>

#include "harness.h"
#include "model_testutil.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "util/fileio.h"

static char dir[512];

static void make_model(const char *sub) {
    os_bert_config cfg = tiny_bert_config();
    os_task_spec task = {.name = "cls", .level = OS_TASK_SEQUENCE, .problem = OS_PROBLEM_SINGLE_LABEL, .num_labels = 2};
    os_model m;
    CHECK(os_model_create(&m, &cfg, &task, 1, 1) == OS_OK);
    os_model_init_weights(&m, 1);
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    CHECK_MSG(os_model_save(&m, path, NULL) == OS_OK, "%s", os_last_error());
    os_model_free(&m);
}

static void expect_load_error(const char *sub, os_status code, const char *needle1, const char *needle2) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    os_model m;
    os_status st = os_model_load(&m, path);
    const char *msg = os_last_error();
    CHECK_MSG(st == code, "%s: status %d, expected %d (%s)", sub, st, code, msg);
    CHECK_MSG(strstr(msg, needle1) != NULL, "%s: message lacks '%s': %s", sub, needle1, msg);
    CHECK_MSG(!needle2 || strstr(msg, needle2) != NULL, "%s: message lacks '%s': %s", sub, needle2, msg);
    CHECK(strchr(msg, '\n') == NULL);
    if (st == OS_OK) os_model_free(&m);
}

static void write_text(const char *sub, const char *file, const char *text) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, file);
    CHECK(os_write_file_atomic(path, text, strlen(text)) == OS_OK);
}

static void edit_config(const char *sub, const char *from, const char *to) {
    char path[800], *data;
    size_t len;
    snprintf(path, sizeof path, "%s/%s/config.json", dir, sub);
    CHECK(os_read_file(path, &data, &len) == OS_OK);
    char *at = strstr(data, from);
    CHECK_MSG(at != NULL, "config lacks %s", from);
    if (!at) return;
    char *out = malloc(len + strlen(to) + 1);
    snprintf(out, len + strlen(to) + 1, "%.*s%s%s", (int)(at - data), data, to, at + strlen(from));
    CHECK(os_write_file_atomic(path, out, strlen(out)) == OS_OK);
    free(out);
    free(data);
}

static void test_good_model_loads(void) {
    make_model("good");
    expect_load_error("good", OS_OK, "", NULL);
}

static void test_truncated_weights(void) {
    make_model("trunc");
    char path[800], *data;
    size_t len;
    snprintf(path, sizeof path, "%s/trunc/model.safetensors", dir);
    CHECK(os_read_file(path, &data, &len) == OS_OK);
    CHECK(os_write_file_atomic(path, data, len - 100) == OS_OK);
    free(data);
    expect_load_error("trunc", OS_ERR_INPUT, "model.safetensors", "exceed");
}

static void test_shape_mismatch(void) {
    make_model("shape");
    edit_config("shape", "\"intermediate_size\": 20", "\"intermediate_size\": 24");
    expect_load_error("shape", OS_ERR_INPUT, "model.safetensors", "intermediate.dense.weight");
}

static void test_missing_tensor(void) {
    make_model("missing");
    char path[800];
    snprintf(path, sizeof path, "%s/missing/model.safetensors", dir);
    os_safetensors st;
    CHECK(os_st_open(&st, path) == OS_OK);
    os_st_entry *e = calloc(st.n_tensors, sizeof *e);
    size_t n = 0;
    float *copies[256] = {0};
    for (size_t i = 0; i < st.n_tensors && i < 256; i++) {
        const os_st_tensor *t = &st.tensors[i];
        if (!strcmp(t->name, "bert.pooler.dense.bias")) continue;
        copies[n] = malloc(t->nbytes + 4);
        memcpy(copies[n], os_st_raw(&st, t), t->nbytes);
        e[n] = (os_st_entry){strdup(t->name), t->dtype, copies[n], t->ndim, t->shape};
        n++;
    }
    char tmp[900];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    CHECK(os_st_write(tmp, e, n, NULL) == OS_OK);
    for (size_t i = 0; i < n; i++) {
        free((char *)e[i].name);
        free(copies[i]);
    }
    free(e);
    os_st_close(&st);
    CHECK(rename(tmp, path) == 0);
    expect_load_error("missing", OS_ERR_INPUT, "bert.pooler.dense.bias", "missing");
}

static void test_bad_config(void) {
    make_model("badjson");
    write_text("badjson", "config.json", "{\"hidden_size\": 12,\n  oops}");
    expect_load_error("badjson", OS_ERR_INPUT, "config.json", NULL);
    make_model("badfield");
    edit_config("badfield", "\"hidden_size\": 12", "\"hidden_size\": \"twelve\"");
    expect_load_error("badfield", OS_ERR_INPUT, "config.json", "hidden_size");
    make_model("badtask");
    edit_config("badtask", "\"level\": \"sequence\"", "\"level\": \"paragraph\"");
    expect_load_error("badtask", OS_ERR_INPUT, "config.json", "level");
}

static void test_missing_files(void) {
    make_model("nofile");
    char path[800];
    snprintf(path, sizeof path, "%s/nofile/model.safetensors", dir);
    unlink(path);
    expect_load_error("nofile", OS_ERR_IO, "model.safetensors", "missing");
    snprintf(path, sizeof path, "%s/nofile/pytorch_model.bin", dir);
    CHECK(os_write_file_atomic(path, "x", 1) == OS_OK);
    expect_load_error("nofile", OS_ERR_IO, "safetensors", "safe_serialization");
    expect_load_error("does-not-exist", OS_ERR_IO, "does-not-exist", NULL);
}

// Through the CLI: exit status 3 and one line on stderr.
static void test_cli_exit_code(void) {
    const char *bin = getenv("ONESTONE_BIN");
    if (!bin) return;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "echo hi | %s predict %s/shape > /dev/null 2> %s/err.txt", bin, dir, dir);
    int rc = system(cmd);
    CHECK_MSG(WIFEXITED(rc) && WEXITSTATUS(rc) == 3, "predict on a bad model exited %d", WEXITSTATUS(rc));
    char path[700], *err;
    size_t len;
    snprintf(path, sizeof path, "%s/err.txt", dir);
    CHECK(os_read_file(path, &err, &len) == OS_OK);
    CHECK_MSG(len > 0 && strchr(err, '\n') == err + len - 1 && strstr(err, "onestone predict:"), "stderr: %s", err);
    free(err);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s/ckpt_errors", th_tmpdir());
    os_mkdirs(dir);
    RUN(test_good_model_loads);
    RUN(test_truncated_weights);
    RUN(test_shape_mismatch);
    RUN(test_missing_tensor);
    RUN(test_bad_config);
    RUN(test_missing_files);
    RUN(test_cli_exit_code);
    return th_finish();
}
