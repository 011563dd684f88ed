// Units of `onestone serve` without a network: the bearer-token check and loading, request parsing (status
// codes and messages), and the Prometheus exposition of the metrics.
#include <sys/stat.h>

#include "harness.h"
#include "onestone.h"
#include "serve/auth.h"
#include "serve/metrics.h"
#include "serve/request.h"
#include "serve_testutil.h"

static void test_token_check(void) {
    CHECK(sv_token_check("Bearer abc123", "abc123"));
    CHECK(!sv_token_check("Bearer abc12", "abc123"));
    CHECK(!sv_token_check("Bearer abc1234", "abc123"));
    CHECK(!sv_token_check("Bearer abd123", "abc123"));
    CHECK(!sv_token_check("bearer abc123", "abc123"));
    CHECK(!sv_token_check("abc123", "abc123"));
    CHECK(!sv_token_check("Bearer ", "abc123"));
    CHECK(!sv_token_check(NULL, "abc123"));
}

static void test_token_load(void) {
    char path[600], err[256];
    mkdir(th_tmpdir(), 0755);
    snprintf(path, sizeof path, "%s/test_serve_units_token", th_tmpdir());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("tok-en_1\r\n", f);
    fclose(f);
    char *t = sv_token_load(path, NULL, err, sizeof err);
    CHECK_MSG(t && !strcmp(t, "tok-en_1"), "%s", t ? t : err);
    free(t);
    f = fopen(path, "w");
    if (f) fclose(f);
    CHECK(sv_token_load(path, NULL, err, sizeof err) == NULL && strstr(err, "empty"));
    f = fopen(path, "w");
    if (f) {
        fputs("two words\n", f);
        fclose(f);
    }
    CHECK(sv_token_load(path, NULL, err, sizeof err) == NULL && strstr(err, "without spaces"));
    setenv("ONESTONE_TEST_TOKEN_VAR", "from-env", 1);
    t = sv_token_load(NULL, "ONESTONE_TEST_TOKEN_VAR", err, sizeof err);
    CHECK(t && !strcmp(t, "from-env"));
    free(t);
    CHECK(sv_token_load(NULL, "ONESTONE_TEST_NO_SUCH_VAR", err, sizeof err) == NULL &&
          strstr(err, "ONESTONE_TEST_NO_SUCH_VAR"));
}

// Parses body and returns the status; the message is in err.
static int parse(const onestone_model *m, const char *body, char *err) {
    sv_predict_request r;
    int st = sv_request_parse(&r, m, body, strlen(body), 20, 3, err, 256);
    sv_request_free(&r);
    return st;
}

static void test_request_parse(void) {
    char dir[512], err[256];
    snprintf(dir, sizeof dir, "%s/test_serve_units_model", th_tmpdir());
    CHECK(make_serve_model(dir) == 0);
    onestone_model *m = onestone_model_load(dir, err, sizeof err);
    CHECK_MSG(m != NULL, "%s", err);
    if (!m) return;
    sv_predict_request r;
    const char *body = "{\"texts\": [\"the cat\", \"a dog\"], \"tasks\": [\"score\", \"ner\"]}";
    CHECK(sv_request_parse(&r, m, body, strlen(body), 20, 3, err, sizeof err) == 0);
    CHECK(r.n == 2 && !r.single && !strcmp(r.texts[1], "a dog"));
    CHECK(r.want[0] && !r.want[1] && !r.want[2] && !r.want[3] && r.want[4]);
    char *objs[2] = {"{\"a\":1}", "{\"b\":2}"};
    char *resp = sv_response_body(&r, objs);
    CHECK(resp && !strcmp(resp, "{\"predictions\":[{\"a\":1},{\"b\":2}]}"));
    free(resp);
    sv_request_free(&r);
    CHECK(parse(m, "{\"text\": \"the cat\"}", err) == 0);
    CHECK(parse(m, "{\"text\": ", err) == 400 && strstr(err, "malformed JSON"));
    CHECK(parse(m, "{\"text\": \"a\", \"tasks\": [\"ner\", \"x\"]}", err) == 400 && strstr(err, "'x'"));
    CHECK(parse(m, "{\"text\": \"a\", \"tasks\": [\"ner\", 1]}", err) == 400 && strstr(err, "\"tasks\"[1]"));
    CHECK(parse(m, "{\"text\": \"aaaaaaaaaaaaaaaaaaaaa\"}", err) == 413 && strstr(err, "21 bytes"));
    CHECK(parse(m, "{\"texts\": [\"a\", \"b\", \"c\", \"d\"]}", err) == 413 && strstr(err, "4 texts"));
    CHECK(parse(m, "{\"texts\": [\"a\", \"aaaaaaaaaaaaaaaaaaaaa\"]}", err) == 413 && strstr(err, "\"texts\"[1]"));
    CHECK(parse(m, "{\"texts\": [\"a\"], \"extra\": 1}", err) == 400 && strstr(err, "extra"));
    char *model = sv_model_body(m, 8, 100);
    CHECK(model && strstr(model, "\"name\":\"relation\",\"level\":\"entity_pair\"") && strstr(model, "\"max_batch\":8"));
    free(model);
    char *e = sv_error_body("bad \"x\"");
    CHECK(e && !strcmp(e, "{\"error\":\"bad \\\"x\\\"\"}"));
    free(e);
    onestone_model_free(m);
}

static void test_metrics(void) {
    sv_metrics *m = sv_metrics_new();
    CHECK(m != NULL);
    if (!m) return;
    sv_metrics_request(m, SV_EP_PREDICT, 200, 0.003);
    sv_metrics_request(m, SV_EP_PREDICT, 200, 0.2);
    sv_metrics_request(m, SV_EP_PREDICT, 429, 0.0001);
    sv_metrics_request(m, SV_EP_HEALTHZ, 200, 0.0);
    sv_metrics_request(m, SV_EP_OTHER, 418, 0.0);
    sv_metrics_batch(m, 3, 30, 0.5);
    sv_metrics_batch(m, 1, 10, 0.5);
    char *t = sv_metrics_render(m);
    CHECK(t != NULL);
    if (t) {
        CHECK(strstr(t, "onestone_http_requests_total{endpoint=\"/v1/predict\",code=\"200\"} 2\n"));
        CHECK(strstr(t, "onestone_http_requests_total{endpoint=\"/v1/predict\",code=\"429\"} 1\n"));
        CHECK(strstr(t, "onestone_http_requests_total{endpoint=\"other\",code=\"other\"} 1\n"));
        CHECK(strstr(t, "onestone_http_errors_total 2\n"));
        CHECK(strstr(t, "onestone_request_duration_seconds_bucket{le=\"0.001\"} 1\n"));  // cumulative buckets
        CHECK(strstr(t, "onestone_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        CHECK(strstr(t, "onestone_request_duration_seconds_bucket{le=\"0.25\"} 3\n"));
        CHECK(strstr(t, "onestone_request_duration_seconds_count 3\n"));
        CHECK(strstr(t, "onestone_batch_size_bucket{le=\"2\"} 1\n") && strstr(t, "onestone_batch_size_bucket{le=\"4\"} 2\n"));
        CHECK(strstr(t, "onestone_tokens_total 40\n") && strstr(t, "onestone_tokens_per_second 40\n"));
        CHECK(strstr(t, "# TYPE onestone_batch_size histogram\n"));
    }
    free(t);
    sv_metrics_free(m);
}

int main(void) {
    RUN(test_token_check);
    RUN(test_token_load);
    RUN(test_request_parse);
    RUN(test_metrics);
    return th_finish();
}
