// `onestone serve` end to end: builds a tiny model, then tests/serve_e2e.py (standard-library Python) starts
// servers on ephemeral ports and checks good requests, malformed JSON, missing/wrong tokens, oversize bodies
// and texts, a full queue (429), concurrent clients with dynamic batching, the metrics, and SIGTERM
// finishing the requests in flight. Under ASan the servers' stderr is checked for reports too.
#include <sys/wait.h>

#include "harness.h"
#include "serve_testutil.h"

int main(void) {
    const char *src = getenv("ONESTONE_SRC"), *bin = getenv("ONESTONE_BIN");
    CHECK_MSG(src && bin, "ONESTONE_SRC and ONESTONE_BIN must be set (ctest sets them)");
    if (!src || !bin) return th_finish();
    char dir[512], cmd[2048];
    mkdir(th_tmpdir(), 0755);
    snprintf(dir, sizeof dir, "%s/test_serve_model", th_tmpdir());
    CHECK(make_serve_model(dir) == 0);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/serve_e2e.py' '%s' '%s' '%s'", src, bin, dir, th_tmpdir());
    int rc = system(cmd);
    CHECK_MSG(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "serve_e2e.py failed (status %d)", rc);
    return th_finish();
}
