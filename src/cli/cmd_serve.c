// onestone serve MODEL_DIR: the model behind an HTTP API (src/serve, docs/serve.md).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "serve/auth.h"
#include "serve/serve.h"
#include "util/error.h"

static const char *usage =
    "usage: onestone serve MODEL_DIR (--token-file PATH | --token-env NAME | --no-auth) [options]\n"
    "\n"
    "Serves the model over HTTP: POST /v1/predict (every task of one text or a batch from one encoder pass),\n"
    "GET /v1/model, GET /healthz, GET /metrics (Prometheus) and GET / (a page to try the model). Requests\n"
    "from concurrent clients are batched together. SIGTERM or SIGINT stops it after the requests in flight\n"
    "are answered. See docs/serve.md.\n"
    "\n"
    "access (one is required):\n"
    "  --token-file PATH     clients must send 'Authorization: Bearer TOKEN'; TOKEN is PATH's first line\n"
    "  --token-env NAME      the same with TOKEN from the environment variable NAME\n"
    "                        (default when neither is given: ONESTONE_SERVE_TOKEN, if it is set)\n"
    "  --no-auth             no access control (local use only)\n"
    "options:\n"
    "  --host ADDR           IPv4 address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)\n"
    "  --port N              TCP port (default 8080; 0 = any free port, printed on stdout)\n"
    "  --workers N           inference threads, one context each (default 1)\n"
    "  --max-batch N         texts per encoder pass (default 32)\n"
    "  --max-wait-ms N       how long a text waits for others to fill its batch (default 5)\n"
    "  --max-queue N         texts waiting for a worker; beyond it requests get 429 (default 256)\n"
    "  --max-body-bytes N    larger request bodies get 413 (default 1048576)\n"
    "  --max-text-bytes N    longer texts get 413 (default 10000)\n"
    "  --max-connections N   concurrent connections (default 128)\n"
    "  --drain-timeout N     seconds in-flight requests get to finish on shutdown (default 30)\n";

// A non-negative integer option value in [lo, hi]; -1 on error (message printed).
static long parse_count(const char *opt, const char *s, long lo, long hi) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < lo || v > hi) {
        fprintf(stderr, "onestone serve: %s needs an integer in [%ld, %ld], got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    return v;
}

int cmd_serve(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    sv_options o;
    sv_options_default(&o);
    const char *token_file = NULL, *token_env = NULL;
    int no_auth = 0;
    struct {
        const char *name;
        long lo, hi;
        long value;
    } counts[] = {
        {"--port", 0, 65535, o.port},
        {"--workers", 1, 64, o.workers},
        {"--max-batch", 1, 4096, o.max_batch},
        {"--max-wait-ms", 0, 10000, o.max_wait_ms},
        {"--max-queue", 1, 1000000, o.max_queue},
        {"--max-body-bytes", 1, 1L << 30, (long)o.max_body_bytes},
        {"--max-text-bytes", 1, 1L << 30, (long)o.max_text_bytes},
        {"--max-connections", 1, 10000, o.max_connections},
        {"--drain-timeout", 0, 3600, o.drain_timeout_s},
    };
    const int n_counts = (int)(sizeof counts / sizeof counts[0]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k = 0;
        while (k < n_counts && strcmp(a, counts[k].name)) k++;
        if (k < n_counts && i + 1 < argc) {
            counts[k].value = parse_count(a, argv[++i], counts[k].lo, counts[k].hi);
            if (counts[k].value < 0) return OS_ERR_USAGE;
        } else if (!strcmp(a, "--no-auth")) no_auth = 1;
        else if (!strcmp(a, "--token-file") && i + 1 < argc) token_file = argv[++i];
        else if (!strcmp(a, "--token-env") && i + 1 < argc) token_env = argv[++i];
        else if (!strcmp(a, "--host") && i + 1 < argc) o.host = argv[++i];
        else if (a[0] == '-') {
            fprintf(stderr, "onestone serve: unknown or incomplete option '%s' (see onestone serve --help)\n", a);
            return OS_ERR_USAGE;
        } else if (!o.model_dir) o.model_dir = a;
        else {
            fprintf(stderr, "onestone serve: unexpected argument '%s' (see onestone serve --help)\n", a);
            return OS_ERR_USAGE;
        }
    }
    o.port = (int)counts[0].value;
    o.workers = (int)counts[1].value;
    o.max_batch = (int)counts[2].value;
    o.max_wait_ms = (int)counts[3].value;
    o.max_queue = (int)counts[4].value;
    o.max_body_bytes = (size_t)counts[5].value;
    o.max_text_bytes = (size_t)counts[6].value;
    o.max_connections = (int)counts[7].value;
    o.drain_timeout_s = (int)counts[8].value;
    if (!o.model_dir) {
        fprintf(stderr, "onestone serve: no MODEL_DIR (see onestone serve --help)\n");
        return OS_ERR_USAGE;
    }
    if (token_file && token_env) {
        fprintf(stderr, "onestone serve: give one of --token-file and --token-env\n");
        return OS_ERR_USAGE;
    }
    if (!token_file && !token_env && getenv("ONESTONE_SERVE_TOKEN")) token_env = "ONESTONE_SERVE_TOKEN";
    if (no_auth && (token_file || token_env)) {
        fprintf(stderr, "onestone serve: --no-auth and a token (--token-file, --token-env or ONESTONE_SERVE_TOKEN) "
                        "contradict each other\n");
        return OS_ERR_USAGE;
    }
    if (!no_auth && !token_file && !token_env) {
        fprintf(stderr, "onestone serve: refusing to start without access control: give --token-file PATH, "
                        "--token-env NAME (or set ONESTONE_SERVE_TOKEN), or --no-auth for local use\n");
        return OS_ERR_USAGE;
    }
    char *token = NULL;
    if (!no_auth) {
        char err[1024];
        token = sv_token_load(token_file, token_env, err, sizeof err);
        if (!token) {
            fprintf(stderr, "onestone serve: %s\n", err);
            return token_file ? OS_ERR_IO : OS_ERR_USAGE;
        }
    }
    o.token = token;
    int rc = sv_run(&o);
    free(token);
    return rc;
}
