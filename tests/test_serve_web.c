// The web page of `onestone serve` in headless Chromium: builds a tiny model, then tests/web/page_test.cjs
// (playwright-core driving /usr/bin/chromium) types a sentence and checks every task's output appears. Fails,
// never skips, when node, playwright-core (scripts/setup.sh installs it) or Chromium is missing.
#include <sys/wait.h>

#include "harness.h"
#include "serve_testutil.h"

int main(void) {
    const char *src = getenv("ONESTONE_SRC"), *bin = getenv("ONESTONE_BIN");
    CHECK_MSG(src && bin, "ONESTONE_SRC and ONESTONE_BIN must be set (ctest sets them)");
    if (!src || !bin) return th_finish();
    char dir[512], cmd[2048];
    mkdir(th_tmpdir(), 0755);
    snprintf(dir, sizeof dir, "%s/test_serve_web_model", th_tmpdir());
    CHECK(make_serve_model(dir) == 0);
    snprintf(cmd, sizeof cmd, "node '%s/tests/web/page_test.cjs' '%s' '%s' '%s'", src, bin, dir, src);
    int rc = system(cmd);
    CHECK_MSG(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "page_test.cjs failed (status %d)", rc);
    return th_finish();
}
