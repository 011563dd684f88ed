// Counters and histograms of the HTTP service, exported at GET /metrics in Prometheus' text format.
// Every function is thread-safe.
#ifndef ONESTONE_SERVE_METRICS_H
#define ONESTONE_SERVE_METRICS_H
#include <stddef.h>

// The endpoints requests are counted under.
typedef enum { SV_EP_PREDICT, SV_EP_MODEL, SV_EP_HEALTHZ, SV_EP_METRICS, SV_EP_PAGE, SV_EP_OTHER, SV_EP_COUNT } sv_endpoint;

typedef struct sv_metrics sv_metrics;

sv_metrics *sv_metrics_new(void);
void sv_metrics_free(sv_metrics *m);
// One answered request: its endpoint, HTTP status and seconds from its first byte to its answer.
void sv_metrics_request(sv_metrics *m, sv_endpoint ep, int status, double seconds);
// One encoder pass over `texts` texts holding `tokens` word pieces, which took `seconds`.
void sv_metrics_batch(sv_metrics *m, int texts, long tokens, double seconds);
// Texts waiting for a worker right now (a gauge).
void sv_metrics_set_queue(sv_metrics *m, int texts);
// The exposition text (malloc'd, NUL-terminated); NULL when out of memory.
char *sv_metrics_render(sv_metrics *m);
#endif
