// The HTTP front end: routing, access control, size limits, metrics and graceful shutdown over libmicrohttpd
// (one thread per connection; a connection thread waits while its texts are in the batcher's queue).
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve/auth.h"
#include "serve/batcher.h"
#include "serve/clock.h"
#include "serve/metrics.h"
#include "serve/request.h"
#include "serve/serve.h"
#include "serve/web_page.h"
#include "util/error.h"

typedef struct {
    sv_options o;
    onestone_model *m;
    sv_metrics *metrics;
    sv_batcher *batcher;
    pthread_mutex_t mu;
    pthread_cond_t idle;  // in_flight dropped to 0
    int in_flight;        // requests begun and not yet completely answered
    int draining;
} server;

// Per request (libmicrohttpd's con_cls): from its first header to the end of its answer.
typedef struct {
    sv_endpoint ep;
    double start;
    char *body;
    size_t len;
    int too_big;  // the body is over --max-body-bytes: the rest is dropped, the answer is 413
    int denied;   // no valid token: the body is dropped, the answer is 401
} request_state;

void sv_options_default(sv_options *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->workers = 1;
    o->max_batch = 32;
    o->max_wait_ms = 5;
    o->max_queue = 256;
    o->max_body_bytes = 1 << 20;
    o->max_text_bytes = 10000;
    o->max_connections = 128;
    o->drain_timeout_s = 30;
}

static sv_endpoint endpoint_of(const char *url) {
    if (!strcmp(url, "/v1/predict")) return SV_EP_PREDICT;
    if (!strcmp(url, "/v1/model")) return SV_EP_MODEL;
    if (!strcmp(url, "/healthz")) return SV_EP_HEALTHZ;
    if (!strcmp(url, "/metrics")) return SV_EP_METRICS;
    if (!strcmp(url, "/") || !strcmp(url, "/index.html")) return SV_EP_PAGE;
    return SV_EP_OTHER;
}

// The model's predictions, its metadata and the metrics need the token; the health check and the static page
// do not (the page asks for the token itself).
static int needs_token(sv_endpoint ep) { return ep == SV_EP_PREDICT || ep == SV_EP_MODEL || ep == SV_EP_METRICS; }

static int draining(server *s) {
    pthread_mutex_lock(&s->mu);
    int d = s->draining;
    pthread_mutex_unlock(&s->mu);
    return d;
}

// Queues the answer (taking body: MHD_RESPMEM_MUST_FREE, or a static buffer) and counts it.
static enum MHD_Result reply(server *s, struct MHD_Connection *c, request_state *rq, unsigned status,
                             const char *type, void *body, size_t len, enum MHD_ResponseMemoryMode mode) {
    if (!body) {  // out of memory while building the body
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        type = "text/plain";
        body = (void *)"out of memory\n";
        len = strlen(body);
        mode = MHD_RESPMEM_PERSISTENT;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (status == MHD_HTTP_UNAUTHORIZED) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == MHD_HTTP_TOO_MANY_REQUESTS) MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rq->ep == SV_EP_PREDICT ? "POST" : "GET, HEAD");
    if (draining(s)) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    sv_metrics_request(s->metrics, rq->ep, (int)status, sv_now() - rq->start);
    return r;
}

static enum MHD_Result reply_json(server *s, struct MHD_Connection *c, request_state *rq, unsigned status,
                                  char *body) {
    return reply(s, c, rq, status, "application/json", body, body ? strlen(body) : 0, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result reply_error(server *s, struct MHD_Connection *c, request_state *rq, unsigned status,
                                   const char *msg) {
    return reply_json(s, c, rq, status, sv_error_body(msg));
}

static enum MHD_Result predict(server *s, struct MHD_Connection *c, request_state *rq) {
    char err[512];
    sv_predict_request req;
    int st = sv_request_parse(&req, s->m, rq->body ? rq->body : "", rq->len, s->o.max_text_bytes,
                              s->o.max_queue, err, sizeof err);
    if (st) {
        sv_request_free(&req);
        return reply_error(s, c, rq, (unsigned)st, err);
    }
    int *tokens = malloc((size_t)req.n * sizeof *tokens);
    if (!tokens) {
        sv_request_free(&req);
        return reply_error(s, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    for (int i = 0; i < req.n; i++) tokens[i] = onestone_model_count_tokens(s->m, req.texts[i]);
    sv_job job = {.texts = req.texts, .n = req.n, .want = req.want, .tokens = tokens};
    enum MHD_Result r;
    if (sv_batcher_run(s->batcher, &job))
        r = reply_error(s, c, rq, MHD_HTTP_TOO_MANY_REQUESTS, "the queue is full; retry later");
    else if (job.status) r = reply_error(s, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, job.err);
    else r = reply_json(s, c, rq, MHD_HTTP_OK, sv_response_body(&req, job.out));
    sv_job_clear(&job);
    free(tokens);
    sv_request_free(&req);
    return r;
}

// The whole request has arrived: answer it.
static enum MHD_Result answer(server *s, struct MHD_Connection *c, const char *method, request_state *rq) {
    int get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
    int post = !strcmp(method, MHD_HTTP_METHOD_POST);
    if (rq->ep == SV_EP_OTHER) return reply_error(s, c, rq, MHD_HTTP_NOT_FOUND, "no such endpoint");
    if (rq->ep == SV_EP_PREDICT ? !post : !get)
        return reply_error(s, c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
    if (rq->denied) return reply_error(s, c, rq, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
    switch (rq->ep) {
    case SV_EP_PAGE:
        return reply(s, c, rq, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)sv_index_html, sv_index_html_len,
                     MHD_RESPMEM_PERSISTENT);
    case SV_EP_HEALTHZ: {
        int d = draining(s);
        const char *body = d ? "{\"status\":\"draining\"}" : "{\"status\":\"ok\"}";
        return reply(s, c, rq, d ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, "application/json", (void *)body,
                     strlen(body), MHD_RESPMEM_PERSISTENT);
    }
    case SV_EP_METRICS: {
        char *text = sv_metrics_render(s->metrics);
        return reply(s, c, rq, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text,
                     text ? strlen(text) : 0, MHD_RESPMEM_MUST_FREE);
    }
    case SV_EP_MODEL:
        return reply_json(s, c, rq, MHD_HTTP_OK, sv_model_body(s->m, s->o.max_batch, s->o.max_text_bytes));
    default:
        if (rq->too_big) {
            char msg[128];
            snprintf(msg, sizeof msg, "the body is over %zu bytes", s->o.max_body_bytes);
            return reply_error(s, c, rq, MHD_HTTP_CONTENT_TOO_LARGE, msg);
        }
        return predict(s, c, rq);
    }
}

// Keeps a chunk of a /v1/predict body, or drops it once the body is over the limit (and always for requests
// that will be refused, so that nothing unauthenticated is buffered).
static void take_chunk(server *s, request_state *rq, const char *data, size_t n) {
    if (rq->denied || rq->too_big || rq->ep != SV_EP_PREDICT) return;
    if (rq->len + n > s->o.max_body_bytes) {
        rq->too_big = 1;
        free(rq->body);
        rq->body = NULL;
        rq->len = 0;
        return;
    }
    char *b = realloc(rq->body, rq->len + n + 1);
    if (!b) {  // answered as too big: the client should send less
        rq->too_big = 1;
        return;
    }
    memcpy(b + rq->len, data, n);
    rq->len += n;
    b[rq->len] = '\0';
    rq->body = b;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    server *s = cls;
    request_state *rq = *con_cls;
    if (!rq) {  // headers received
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        rq->start = sv_now();
        rq->ep = endpoint_of(url);
        *con_cls = rq;
        pthread_mutex_lock(&s->mu);
        s->in_flight++;
        pthread_mutex_unlock(&s->mu);
        if (s->o.token && needs_token(rq->ep))
            rq->denied = !sv_token_check(
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), s->o.token);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body_bytes) rq->too_big = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        take_chunk(s, rq, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return answer(s, c, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
    (void)c;
    (void)why;
    server *s = cls;
    request_state *rq = *con_cls;
    if (!rq) return;
    free(rq->body);
    free(rq);
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    if (--s->in_flight == 0) pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

// Waits until no request is in flight or timeout_s have passed; returns the number still in flight.
static int wait_idle(server *s, int timeout_s) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_s;
    pthread_mutex_lock(&s->mu);
    while (s->in_flight > 0)
        if (pthread_cond_timedwait(&s->idle, &s->mu, &ts) == ETIMEDOUT) break;
    int left = s->in_flight;
    pthread_mutex_unlock(&s->mu);
    return left;
}

static struct MHD_Daemon *start_daemon(server *s, struct sockaddr_in *addr) {
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_AUTO;
    return MHD_start_daemon(flags, (uint16_t)s->o.port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)s->o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
}

// Serves until SIGTERM/SIGINT, then drains. Called with the model, metrics and batcher ready.
static int serve_until_signal(server *s, const sigset_t *stop_signals) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->o.port)};
    if (inet_pton(AF_INET, s->o.host, &addr.sin_addr) != 1) {
        fprintf(stderr, "onestone serve: --host: '%s' is not an IPv4 address\n", s->o.host);
        return OS_ERR_USAGE;
    }
    struct MHD_Daemon *d = start_daemon(s, &addr);
    if (!d) {
        fprintf(stderr, "onestone serve: cannot listen on %s:%d: %s\n", s->o.host, s->o.port, strerror(errno));
        return OS_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("onestone serve: listening on http://%s:%u (%d tasks, %d worker%s, %s)\n", s->o.host,
           info ? info->port : (unsigned)s->o.port, onestone_model_num_tasks(s->m), s->o.workers,
           s->o.workers == 1 ? "" : "s", s->o.token ? "bearer token required" : "no authentication");
    fflush(stdout);
    int sig = 0;
    sigwait(stop_signals, &sig);
    pthread_mutex_lock(&s->mu);
    s->draining = 1;
    int n = s->in_flight;
    pthread_mutex_unlock(&s->mu);
    fprintf(stderr, "onestone serve: %s: no new connections; finishing %d request%s in flight\n", strsignal(sig),
            n, n == 1 ? "" : "s");
    MHD_socket listen_fd = MHD_quiesce_daemon(d);
    if (listen_fd != MHD_INVALID_SOCKET) close(listen_fd);
    int left = wait_idle(s, s->o.drain_timeout_s);
    if (left) fprintf(stderr, "onestone serve: %d request%s still unanswered after %d s; closing\n", left,
                      left == 1 ? "" : "s", s->o.drain_timeout_s);
    MHD_stop_daemon(d);
    fprintf(stderr, "onestone serve: stopped\n");
    return 0;
}

int sv_run(const sv_options *o) {
    // SIGTERM/SIGINT are taken by sigwait in this thread: blocked here before any other thread exists, so
    // every thread (libmicrohttpd's, the workers', OpenMP's) inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    server s = {.o = *o};
    char err[1024];
    s.m = onestone_model_load(o->model_dir, err, sizeof err);
    if (!s.m) {
        fprintf(stderr, "onestone serve: %s\n", err);
        return onestone_last_error_code();
    }
    pthread_mutex_init(&s.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s.idle, &ca);
    pthread_condattr_destroy(&ca);
    int rc = OS_ERR_NOMEM;
    s.metrics = sv_metrics_new();
    if (s.metrics) s.batcher = sv_batcher_start(s.m, s.metrics, o->workers, o->max_batch, o->max_wait_ms,
                                                o->max_queue, err, sizeof err);
    if (!s.batcher) fprintf(stderr, "onestone serve: %s\n", s.metrics ? err : "out of memory");
    else rc = serve_until_signal(&s, &stop_signals);
    sv_batcher_stop(s.batcher);
    sv_metrics_free(s.metrics);
    pthread_cond_destroy(&s.idle);
    pthread_mutex_destroy(&s.mu);
    onestone_model_free(s.m);
    return rc;
}
