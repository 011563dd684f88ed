#include <math.h>
#include <stdlib.h>

#include "train/trace.h"

os_status os_trace_open(os_trace *t, const char *path) {
    t->step = NULL;
    t->f = fopen(path, "a");
    if (!t->f) return os_fail(OS_ERR_IO, "%s: cannot open the batch trace (training.trace_file) for appending", path);
    return OS_OK;
}

static json_t *batches(os_trace *t) {
    if (!t->step) t->step = json_pack("{s:[]}", "batches");
    return json_object_get(t->step, "batches");
}

void os_trace_batch(os_trace *t, const char *name, const size_t *idx, int B) {
    if (!t->f) return;
    json_t *ex = json_array();
    for (int i = 0; i < B; i++) json_array_append_new(ex, json_integer((json_int_t)idx[i]));
    json_array_append_new(batches(t), json_pack("{s:s, s:o, s:{}}", "dataset", name, "examples", ex, "loss"));
}

void os_trace_loss(os_trace *t, const char *task, double loss) {
    if (!t->f) return;
    json_t *b = batches(t);
    size_t n = json_array_size(b);
    if (!n) return;
    json_object_set_new(json_object_get(json_array_get(b, n - 1), "loss"), task,
                        isfinite(loss) ? json_real(loss) : json_null());
}

os_status os_trace_end_step(os_trace *t, long step, double lr, double grad_norm, int skipped) {
    if (!t->f) return OS_OK;
    json_t *s = t->step ? t->step : json_pack("{s:[]}", "batches");
    t->step = NULL;
    json_object_set_new(s, "step", json_integer(step));
    json_object_set_new(s, "lr", json_real(lr));
    json_object_set_new(s, "grad_norm", isfinite(grad_norm) ? json_real(grad_norm) : json_null());
    if (skipped) json_object_set_new(s, "skipped", json_true());
    // 9 significant digits: a float32 loss survives the round trip exactly.
    char *text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9));
    json_decref(s);
    int bad = !text || fprintf(t->f, "%s\n", text) < 0 || fflush(t->f) != 0;
    free(text);
    return bad ? os_fail(OS_ERR_IO, "cannot write the batch trace (training.trace_file)") : OS_OK;
}

void os_trace_close(os_trace *t) {
    if (t->f) fclose(t->f);
    json_decref(t->step);
    t->f = NULL;
    t->step = NULL;
}
