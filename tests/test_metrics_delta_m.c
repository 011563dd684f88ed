// Delta_m (LibMTL's definition) on hand-computed cases.
#include "harness.h"
#include "metrics/delta_m.h"

#define TOL 1e-9

// Task 0: accuracy 0.80 vs 0.75 (higher better): +0.05/0.75 = +6.666...%.
// Task 1: MSE 0.9 vs 1.0 (lower better): +10%; Pearson 0.7 vs 0.8: -12.5%; task mean -1.25%.
// Delta_m = (6.666...% - 1.25%) / 2 = 2.708333...%. The flat mean over the three metrics would instead be
// (6.666... + 10 - 12.5) / 3 = 1.3888...%: LibMTL averages within a task first.
static void test_by_hand(void) {
    const os_delta_m_term t[] = {
        {.task = 0, .multi_task = 0.80, .single_task = 0.75, .higher_is_better = true},
        {.task = 1, .multi_task = 0.9, .single_task = 1.0, .higher_is_better = false},
        {.task = 1, .multi_task = 0.7, .single_task = 0.8, .higher_is_better = true},
    };
    double dm;
    CHECK(os_delta_m(t, 3, &dm) == OS_OK);
    CHECK_NEAR(dm, (0.05 / 0.75 * 100.0 - 1.25) / 2.0, TOL);
    CHECK_NEAR(dm, 2.7083333333333335, TOL);
    // Order does not matter, task ids need not be small or contiguous.
    const os_delta_m_term u[] = {
        {.task = 42, .multi_task = 0.7, .single_task = 0.8, .higher_is_better = true},
        {.task = 7, .multi_task = 0.80, .single_task = 0.75, .higher_is_better = true},
        {.task = 42, .multi_task = 0.9, .single_task = 1.0, .higher_is_better = false},
    };
    double dm2;
    CHECK(os_delta_m(u, 3, &dm2) == OS_OK);
    CHECK_NEAR(dm2, dm, TOL);
    // Equal scores: no gain. A worse lower-is-better score is a loss.
    const os_delta_m_term same[] = {
        {.task = 0, .multi_task = 2.0, .single_task = 2.0, .higher_is_better = false}};
    CHECK(os_delta_m(same, 1, &dm) == OS_OK && dm == 0.0);
    const os_delta_m_term worse[] = {
        {.task = 0, .multi_task = 1.2, .single_task = 1.0, .higher_is_better = false}};
    CHECK(os_delta_m(worse, 1, &dm) == OS_OK);
    CHECK_NEAR(dm, -20.0, TOL);
}

static void test_errors(void) {
    double dm;
    CHECK(os_delta_m(NULL, 0, &dm) == OS_ERR_INPUT);
    const os_delta_m_term zero[] = {
        {.task = 3, .multi_task = 0.5, .single_task = 0.0, .higher_is_better = true}};
    CHECK(os_delta_m(zero, 1, &dm) == OS_ERR_INPUT);
    CHECK(strstr(os_last_error(), "task 3") != NULL);
    const os_delta_m_term nan[] = {
        {.task = 0, .multi_task = NAN, .single_task = 1.0, .higher_is_better = true}};
    CHECK(os_delta_m(nan, 1, &dm) == OS_ERR_INPUT);
}

int main(void) {
    RUN(test_by_hand);
    RUN(test_errors);
    return th_finish();
}
