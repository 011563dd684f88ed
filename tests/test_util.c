// Tests for the small utilities: RNG reproducibility, atomic writes, error messages.
#include <unistd.h>

#include "harness.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/rng.h"

static void test_rng_reproducible(void) {
    os_rng a, b;
    os_rng_seed(&a, 42);
    os_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) CHECK(os_rng_next(&a) == os_rng_next(&b));
    os_rng_seed(&b, 43);
    CHECK(os_rng_next(&a) != os_rng_next(&b));
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        float u = os_rng_uniform(&a);
        CHECK(u >= 0.0f && u < 1.0f);
        sum += u;
    }
    CHECK_NEAR(sum / 100000, 0.5, 0.01);
    int counts[3] = {0};
    for (int i = 0; i < 30000; i++) counts[os_rng_below(&a, 3)]++;
    for (int i = 0; i < 3; i++) CHECK_NEAR(counts[i], 10000, 500);
}

static void test_atomic_write(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/atomic_%d.txt", th_tmpdir(), (int)getpid());
    CHECK(os_mkdirs(th_tmpdir()) == OS_OK);
    CHECK(os_write_file_atomic(path, "hello", 5) == OS_OK);
    char *data;
    size_t len;
    CHECK(os_read_file(path, &data, &len) == OS_OK);
    CHECK(len == 5 && memcmp(data, "hello", 5) == 0);
    free(data);
    // An aborted write leaves the old content and no temporary file behind.
    os_atomic_file f;
    CHECK(os_atomic_open(&f, path) == OS_OK);
    os_atomic_write(&f, "partial", 7);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s", f.tmp_path);
    os_atomic_abort(&f);
    CHECK(!os_path_exists(tmp));
    CHECK(os_read_file(path, &data, &len) == OS_OK);
    CHECK(len == 5 && memcmp(data, "hello", 5) == 0);
    free(data);
    unlink(path);
    CHECK(os_read_file(path, &data, &len) == OS_ERR_IO);
    CHECK(strstr(os_last_error(), path) != NULL);
}

static void test_error_is_one_line(void) {
    os_fail(OS_ERR_INPUT, "bad\nvalue\r here");
    CHECK(strchr(os_last_error(), '\n') == NULL && strchr(os_last_error(), '\r') == NULL);
}

int main(void) {
    RUN(test_rng_reproducible);
    RUN(test_atomic_write);
    RUN(test_error_is_one_line);
    return th_finish();
}
