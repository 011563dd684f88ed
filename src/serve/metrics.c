// Prometheus text exposition format 0.0.4: counters, gauges and cumulative histograms.
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/metrics.h"

static const char *const endpoint_names[SV_EP_COUNT] = {"/v1/predict", "/v1/model", "/healthz", "/metrics", "/",
                                                        "other"};
// The statuses the server answers with; anything else is counted under the last slot.
static const int statuses[] = {200, 400, 401, 404, 405, 413, 429, 500, 503, 0};
#define N_STATUS ((int)(sizeof statuses / sizeof statuses[0]))

static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_LATENCY ((int)(sizeof latency_bounds / sizeof latency_bounds[0]))
static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define N_BATCH ((int)(sizeof batch_bounds / sizeof batch_bounds[0]))

typedef struct {
    const double *bounds;
    int n;
    unsigned long counts[16];  // per bucket (not cumulative); [n] is +Inf
    double sum;
    unsigned long total;
} histogram;

struct sv_metrics {
    pthread_mutex_t mu;
    unsigned long requests[SV_EP_COUNT][N_STATUS];
    histogram latency;  // /v1/predict only: the inference endpoint
    histogram batch;    // texts per encoder pass
    unsigned long texts;
    long tokens;
    double busy_seconds;  // time spent in encoder passes
    int queue;
};

static void observe(histogram *h, double v) {
    int b = 0;
    while (b < h->n && v > h->bounds[b]) b++;
    h->counts[b]++;
    h->sum += v;
    h->total++;
}

sv_metrics *sv_metrics_new(void) {
    sv_metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->latency.bounds = latency_bounds;
    m->latency.n = N_LATENCY;
    m->batch.bounds = batch_bounds;
    m->batch.n = N_BATCH;
    return m;
}

void sv_metrics_free(sv_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void sv_metrics_request(sv_metrics *m, sv_endpoint ep, int status, double seconds) {
    int s = 0;
    while (s < N_STATUS - 1 && statuses[s] != status) s++;
    pthread_mutex_lock(&m->mu);
    m->requests[ep][s]++;
    if (ep == SV_EP_PREDICT) observe(&m->latency, seconds);
    pthread_mutex_unlock(&m->mu);
}

void sv_metrics_batch(sv_metrics *m, int texts, long tokens, double seconds) {
    pthread_mutex_lock(&m->mu);
    observe(&m->batch, texts);
    m->texts += (unsigned long)texts;
    m->tokens += tokens;
    m->busy_seconds += seconds;
    pthread_mutex_unlock(&m->mu);
}

void sv_metrics_set_queue(sv_metrics *m, int texts) {
    pthread_mutex_lock(&m->mu);
    m->queue = texts;
    pthread_mutex_unlock(&m->mu);
}

// A growing output buffer; a failed allocation sets failed and drops the rest.
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} text_buf;

static void put(text_buf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void put_histogram(text_buf *b, const char *name, const char *help, const histogram *h) {
    put(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    unsigned long cum = 0;
    for (int i = 0; i < h->n; i++) {
        cum += h->counts[i];
        put(b, "%s_bucket{le=\"%g\"} %lu\n", name, h->bounds[i], cum);
    }
    put(b, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.9g\n%s_count %lu\n", name, h->total, name, h->sum, name, h->total);
}

char *sv_metrics_render(sv_metrics *m) {
    text_buf b = {.cap = 4096};
    b.s = malloc(b.cap);
    if (!b.s) return NULL;
    b.s[0] = '\0';
    pthread_mutex_lock(&m->mu);
    put(&b, "# HELP onestone_http_requests_total HTTP requests answered, by endpoint and status code.\n"
            "# TYPE onestone_http_requests_total counter\n");
    unsigned long errors = 0;
    for (int e = 0; e < SV_EP_COUNT; e++)
        for (int s = 0; s < N_STATUS; s++) {
            if (!m->requests[e][s]) continue;
            if (statuses[s] == 0 || statuses[s] >= 400) errors += m->requests[e][s];
            if (statuses[s]) put(&b, "onestone_http_requests_total{endpoint=\"%s\",code=\"%d\"} %lu\n",
                                 endpoint_names[e], statuses[s], m->requests[e][s]);
            else put(&b, "onestone_http_requests_total{endpoint=\"%s\",code=\"other\"} %lu\n", endpoint_names[e],
                     m->requests[e][s]);
        }
    put(&b, "# HELP onestone_http_errors_total HTTP requests answered with a 4xx or 5xx status.\n"
            "# TYPE onestone_http_errors_total counter\nonestone_http_errors_total %lu\n", errors);
    put_histogram(&b, "onestone_request_duration_seconds",
                  "Time from a /v1/predict request's arrival to its answer, queueing included.", &m->latency);
    put_histogram(&b, "onestone_batch_size", "Texts per encoder pass (dynamic batching).", &m->batch);
    put(&b, "# HELP onestone_texts_total Texts predicted.\n# TYPE onestone_texts_total counter\n"
            "onestone_texts_total %lu\n", m->texts);
    put(&b, "# HELP onestone_tokens_total Word pieces run through the encoder ([CLS]/[SEP] included).\n"
            "# TYPE onestone_tokens_total counter\nonestone_tokens_total %ld\n", m->tokens);
    put(&b, "# HELP onestone_inference_seconds_total Seconds spent in encoder passes (all workers).\n"
            "# TYPE onestone_inference_seconds_total counter\nonestone_inference_seconds_total %.9g\n",
        m->busy_seconds);
    put(&b, "# HELP onestone_tokens_per_second Word pieces per second of encoder time since start "
            "(rate(onestone_tokens_total[1m]) gives wall-clock throughput).\n"
            "# TYPE onestone_tokens_per_second gauge\nonestone_tokens_per_second %.6g\n",
        m->busy_seconds > 0 ? (double)m->tokens / m->busy_seconds : 0.0);
    put(&b, "# HELP onestone_queue_texts Texts waiting for an inference worker.\n"
            "# TYPE onestone_queue_texts gauge\nonestone_queue_texts %d\n", m->queue);
    pthread_mutex_unlock(&m->mu);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
