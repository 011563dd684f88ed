// `onestone serve` end to end: builds a tiny model, then tests/serve_e2e.py (standard-library Python) starts
// servers on ephemeral ports and checks good requests, malformed JSON, missing/wrong tokens, oversize bodies
// and texts, a full queue (429), concurrent clients with dynamic batching, the metrics, and SIGTERM
// finishing the requests in flight. Under ASan the servers' stderr is checked for reports too.
#include "harness.h"
#include "serve_testutil.h"

int main(void) {
    CHECK(run_serve_driver("test_serve_model", "/usr/bin/python3", "tests/serve_e2e.py") == 0);
    return th_finish();
}
