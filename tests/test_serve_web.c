// The web page of `onestone serve` in headless Chromium: builds a tiny model, then tests/web/page_test.cjs
// (playwright-core driving /usr/bin/chromium) types a sentence and checks every task's output appears. Fails,
// never skips, when node, playwright-core (scripts/setup.sh installs it) or Chromium is missing.
#include "harness.h"
#include "serve_testutil.h"

int main(void) {
    CHECK(run_serve_driver("test_serve_web_model", "node", "tests/web/page_test.cjs") == 0);
    return th_finish();
}
