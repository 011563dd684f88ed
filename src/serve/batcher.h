// Dynamic batching: requests from many connections wait in one queue; inference workers (one onestone
// context each, docs/api.md) take as many waiting texts as fit in --max-batch, waiting at most --max-wait-ms
// after the oldest one arrived for more to come, and run them in one encoder pass.
#ifndef ONESTONE_SERVE_BATCHER_H
#define ONESTONE_SERVE_BATCHER_H
#include <stdint.h>

#include "onestone.h"
#include "serve/metrics.h"

typedef struct sv_batcher sv_batcher;

// One request's texts. The submitter fills texts, n, want and tokens; the batcher fills out (n JSON objects as
// onestone_result_json prints them, restricted to the wanted tasks) or status/err.
typedef struct sv_job {
    const char *const *texts;
    int n;
    const uint8_t *want;  // (num_tasks) 1 = answer this task
    const int *tokens;    // (n) word pieces of each text (for the throughput metrics)
    char **out;           // (n) malloc'd by the batcher; free with sv_job_clear
    int status;           // 0 ok, else an ONESTONE_ERR_* code
    char err[256];
    // private to the batcher
    int done;
    double enqueued;
    struct sv_job *next;
} sv_job;

// Starts `workers` threads with a context each. NULL on failure (message in err).
sv_batcher *sv_batcher_start(const onestone_model *m, sv_metrics *metrics, int workers, int max_batch,
                             int max_wait_ms, int max_queue, char *err, size_t errlen);
// Queues job and waits for its answer. Returns 0 when answered (see job->status), -1 when the queue is full
// (more than max_queue texts would be waiting): the caller answers 429.
int sv_batcher_run(sv_batcher *b, sv_job *job);
// Lets the workers finish every queued job, joins them and frees everything.
void sv_batcher_stop(sv_batcher *b);
// Frees job->out.
void sv_job_clear(sv_job *job);
#endif
