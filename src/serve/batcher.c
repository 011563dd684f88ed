// Dynamic batching (serve/batcher.h): one queue of jobs, worker threads with a context each.
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/batcher.h"
#include "serve/clock.h"

typedef struct {
    sv_batcher *b;
    onestone_context *ctx;
    pthread_t thread;
    int started;
} worker;

struct sv_batcher {
    const onestone_model *m;
    sv_metrics *metrics;
    int max_batch, max_queue;
    double max_wait;
    pthread_mutex_t mu;
    pthread_cond_t work;  // a job arrived, or stop
    pthread_cond_t done;  // a job was answered
    sv_job *head, *tail;
    int queued;  // texts waiting
    int stopping;
    worker *workers;
    int n_workers;
};

void sv_job_clear(sv_job *job) {
    if (job->out)
        for (int i = 0; i < job->n; i++) free(job->out[i]);
    free(job->out);
    job->out = NULL;
}

// Waits for work until deadline, in CLOCK_MONOTONIC seconds (the condition variable uses that clock).
static void wait_until(sv_batcher *b, double deadline) {
    struct timespec ts;
    ts.tv_sec = (time_t)deadline;
    ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
    pthread_cond_timedwait(&b->work, &b->mu, &ts);
}

// Takes jobs from the head of the queue while they fit in max_batch texts (at least one). Called locked.
static sv_job *take_jobs(sv_batcher *b, int *n_jobs) {
    sv_job *first = b->head, *last = first;
    int texts = first->n, n = 1;
    while (last->next && texts + last->next->n <= b->max_batch) {
        last = last->next;
        texts += last->n;
        n++;
    }
    b->head = last->next;
    if (!b->head) b->tail = NULL;
    last->next = NULL;
    b->queued -= texts;
    sv_metrics_set_queue(b->metrics, b->queued);
    *n_jobs = n;
    return first;
}

// The comma-separated union of the jobs' wanted tasks into buf; "" when every task is wanted.
static void union_tasks(const sv_batcher *b, const sv_job *jobs, uint8_t *u, char *buf, size_t cap) {
    int nt = onestone_model_num_tasks(b->m), all = 1;
    memset(u, 0, (size_t)nt);
    for (const sv_job *j = jobs; j; j = j->next)
        for (int t = 0; t < nt; t++) u[t] |= j->want[t];
    size_t len = 0;
    buf[0] = '\0';
    for (int t = 0; t < nt; t++) {
        if (!u[t]) {
            all = 0;
            continue;
        }
        int k = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", onestone_model_task_name(b->m, t));
        if (k > 0 && (size_t)k < cap - len) len += (size_t)k;
    }
    if (all) buf[0] = '\0';
}

// Text k of result r as JSON with only the tasks job wants (the result holds the batch's union).
static char *job_json(const sv_batcher *b, const onestone_result *r, int k, const sv_job *job, const uint8_t *u) {
    char *s = onestone_result_json(r, k);
    int nt = onestone_model_num_tasks(b->m), extra = 0;
    for (int t = 0; t < nt; t++) extra |= u[t] && !job->want[t];
    if (!s || !extra) return s;
    json_t *o = json_loads(s, 0, NULL);
    free(s);
    if (!o) return NULL;
    for (int t = 0; t < nt; t++)
        if (u[t] && !job->want[t]) json_object_del(o, onestone_model_task_name(b->m, t));
    s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(o);
    return s;
}

static void fail_job(sv_job *job, int code, const char *msg) {
    if (job->status) return;
    job->status = code;
    snprintf(job->err, sizeof job->err, "%s", msg);
}

// One batch of jobs: every text in encoder passes of at most max_batch texts (one pass unless a single job
// holds more), every wanted task of every job from the same pass.
static void run_jobs(worker *w, sv_job *jobs) {
    sv_batcher *b = w->b;
    int total = 0, nt = onestone_model_num_tasks(b->m);
    for (sv_job *j = jobs; j; j = j->next) total += j->n;
    const char **texts = malloc((size_t)total * sizeof *texts);
    sv_job **owner = malloc((size_t)total * sizeof *owner);
    int *index = malloc((size_t)total * sizeof *index);
    uint8_t *u = malloc((size_t)(nt ? nt : 1));
    char tasks[4096];
    if (!texts || !owner || !index || !u) {
        for (sv_job *j = jobs; j; j = j->next) fail_job(j, ONESTONE_ERR_NOMEM, "out of memory");
        goto out;
    }
    int g = 0;
    for (sv_job *j = jobs; j; j = j->next) {
        j->out = calloc((size_t)j->n, sizeof *j->out);
        if (!j->out) fail_job(j, ONESTONE_ERR_NOMEM, "out of memory");
        for (int i = 0; i < j->n; i++, g++) texts[g] = j->texts[i], owner[g] = j, index[g] = i;
    }
    union_tasks(b, jobs, u, tasks, sizeof tasks);
    for (int off = 0; off < total; off += b->max_batch) {
        int cnt = total - off < b->max_batch ? total - off : b->max_batch;
        onestone_result *r = NULL;
        char err[256];
        double t0 = sv_now();
        int rc = onestone_predict(w->ctx, texts + off, cnt, tasks, &r, err, sizeof err);
        double dt = sv_now() - t0;
        long tokens = 0;
        for (int k = 0; k < cnt; k++) tokens += owner[off + k]->tokens[index[off + k]];
        if (!rc) sv_metrics_batch(b->metrics, cnt, tokens, dt);
        for (int k = 0; k < cnt; k++) {
            sv_job *j = owner[off + k];
            if (rc) fail_job(j, rc, err);
            if (j->status) continue;
            j->out[index[off + k]] = job_json(b, r, k, j, u);
            if (!j->out[index[off + k]]) fail_job(j, ONESTONE_ERR_NOMEM, "out of memory");
        }
        onestone_result_free(r);
    }
out:
    free(texts);
    free(owner);
    free(index);
    free(u);
    pthread_mutex_lock(&b->mu);
    for (sv_job *j = jobs, *next; j; j = next) {
        next = j->next;
        j->next = NULL;
        j->done = 1;
    }
    pthread_cond_broadcast(&b->done);
    pthread_mutex_unlock(&b->mu);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    sv_batcher *b = w->b;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->head && !b->stopping) pthread_cond_wait(&b->work, &b->mu);
        if (!b->head) break;  // stopping and nothing left
        // Wait for the batch to fill, at most max_wait after its oldest job arrived. Another worker may take
        // the jobs meanwhile: then start over.
        double deadline = b->head->enqueued + b->max_wait;
        if (b->queued < b->max_batch && !b->stopping && sv_now() < deadline) {
            wait_until(b, deadline);
            continue;
        }
        int n_jobs;
        sv_job *jobs = take_jobs(b, &n_jobs);
        pthread_mutex_unlock(&b->mu);
        run_jobs(w, jobs);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

int sv_batcher_run(sv_batcher *b, sv_job *job) {
    job->status = 0;
    job->err[0] = '\0';
    job->out = NULL;
    job->done = 0;
    job->next = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->queued + job->n > b->max_queue) {
        pthread_mutex_unlock(&b->mu);
        return -1;
    }
    job->enqueued = sv_now();
    if (b->tail) b->tail->next = job;
    else b->head = job;
    b->tail = job;
    b->queued += job->n;
    sv_metrics_set_queue(b->metrics, b->queued);
    pthread_cond_broadcast(&b->work);
    while (!job->done) pthread_cond_wait(&b->done, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

void sv_batcher_stop(sv_batcher *b) {
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stopping = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->n_workers; i++) {
        if (b->workers[i].started) pthread_join(b->workers[i].thread, NULL);
        onestone_context_free(b->workers[i].ctx);
    }
    free(b->workers);
    pthread_cond_destroy(&b->work);
    pthread_cond_destroy(&b->done);
    pthread_mutex_destroy(&b->mu);
    free(b);
}

sv_batcher *sv_batcher_start(const onestone_model *m, sv_metrics *metrics, int workers, int max_batch,
                             int max_wait_ms, int max_queue, char *err, size_t errlen) {
    sv_batcher *b = calloc(1, sizeof *b);
    if (b) b->workers = calloc((size_t)workers, sizeof *b->workers);
    if (!b || !b->workers) {
        free(b);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    b->m = m;
    b->metrics = metrics;
    b->max_batch = max_batch;
    b->max_queue = max_queue;
    b->max_wait = max_wait_ms / 1000.0;
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&b->done, NULL);
    b->n_workers = workers;
    for (int i = 0; i < workers; i++) {
        worker *w = &b->workers[i];
        w->b = b;
        w->ctx = onestone_context_new(m, err, errlen);
        if (!w->ctx) {
            sv_batcher_stop(b);
            return NULL;
        }
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc) {
            snprintf(err, errlen, "cannot start an inference thread: %s", strerror(rc));
            sv_batcher_stop(b);
            return NULL;
        }
        w->started = 1;
    }
    return b;
}
