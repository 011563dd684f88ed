// `onestone serve`: the model behind an HTTP API (docs/serve.md) on libmicrohttpd.
#ifndef ONESTONE_SERVE_SERVE_H
#define ONESTONE_SERVE_SERVE_H
#include <stddef.h>

typedef struct {
    const char *model_dir;
    const char *host;       // IPv4 address to bind
    int port;               // 0: any free port (the bound one is printed)
    int workers;            // inference threads, one onestone context each
    int max_batch;          // texts per encoder pass
    int max_wait_ms;        // how long the oldest waiting text waits for a batch to fill
    int max_queue;          // texts waiting for a worker before requests get 429
    size_t max_body_bytes;  // request bodies above this get 413
    size_t max_text_bytes;  // texts above this get 413
    int max_connections;    // concurrent connections (one thread each)
    int drain_timeout_s;    // on SIGTERM/SIGINT: how long in-flight requests may take to finish
    const char *token;      // bearer token; NULL: no access control (--no-auth)
} sv_options;

// Fills the defaults (docs/serve.md).
void sv_options_default(sv_options *o);
// Loads the model, serves until SIGTERM or SIGINT, finishes the requests in flight and returns 0; or returns
// an exit code (util/error.h) after printing a one-line message.
int sv_run(const sv_options *o);
#endif
