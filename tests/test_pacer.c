/* test_pacer.c — the heap goal: GOGC, the minimum heap, roots, and the soft
 * memory limit, and the setters' return values. */
#include "pacer.h"
#include "tc_test.h"

#define MiB ((uint64_t)1 << 20)

TC_TEST(goal_is_live_plus_gogc_percent_of_live_and_roots)
{
    pacer_inputs in = {.heap_marked = 100 * MiB, .root_bytes = 10 * MiB};
    CHECK_EQ(pacer_compute_goal(&in, 100, INT64_MAX), 210 * MiB);
    CHECK_EQ(pacer_compute_goal(&in, 50, INT64_MAX), 155 * MiB);
    CHECK_EQ(pacer_compute_goal(&in, 0, INT64_MAX), 100 * MiB);
    /* Go's guide example: 8 MiB live, 2 MiB roots, GOGC=100 -> 18 MiB. */
    pacer_inputs guide = {.heap_marked = 8 * MiB, .root_bytes = 2 * MiB};
    CHECK_EQ(pacer_compute_goal(&guide, 100, INT64_MAX), 18 * MiB);
}

TC_TEST(goal_has_a_minimum_scaled_by_gogc)
{
    pacer_inputs in = {.heap_marked = 100 << 10};
    CHECK_EQ(pacer_compute_goal(&in, 100, INT64_MAX), 4 * MiB);
    CHECK_EQ(pacer_compute_goal(&in, 200, INT64_MAX), 8 * MiB);
    CHECK_EQ(pacer_compute_goal(&in, -1, INT64_MAX), PACER_GOAL_NONE);
}

TC_TEST(memory_limit_caps_the_goal)
{
    pacer_inputs in = {.heap_marked = 100 * MiB, .overhead = 20 * MiB};
    /* 300 MiB limit: 280 MiB available, minus 3% headroom. */
    uint64_t avail = 280 * MiB, want = avail - avail / 100 * 3;
    CHECK_EQ(pacer_compute_goal(&in, 200, 300 * (int64_t)MiB), want);
    /* GOGC off with a limit: the limit goal alone. */
    CHECK_EQ(pacer_compute_goal(&in, -1, 300 * (int64_t)MiB), want);
    /* A limit below the live heap: never below marked (collect continuously). */
    CHECK_EQ(pacer_compute_goal(&in, 100, 50 * (int64_t)MiB), 100 * MiB);
    /* A generous limit does not raise the GOGC goal. */
    CHECK_EQ(pacer_compute_goal(&in, 100, 100000 * (int64_t)MiB), 200 * MiB);
}

TC_TEST(setters_return_old_values_and_move_the_goal)
{
    pacer_init(100, INT64_MAX);
    pacer_inputs in = {.heap_marked = 64 * MiB};
    pacer_commit(&in);
    CHECK_EQ(pacer_goal(), 128 * MiB);
    /* Before any cycle the trigger sits 7/8 of the way to the goal. */
    CHECK_EQ(pacer_trigger(), 64 * MiB + 64 * MiB / 8 * 7);
    pacer_set_trigger_fraction(1.0);
    CHECK_EQ(pacer_trigger(), pacer_goal());
    CHECK_EQ(tc_set_gc_percent(50), 100);
    CHECK_EQ(pacer_goal(), 96 * MiB);
    CHECK_EQ(tc_set_gc_percent(-7), 50);
    CHECK_EQ(pacer_gc_percent(), -1);
    CHECK_EQ(pacer_goal(), PACER_GOAL_NONE);
    CHECK(tc_set_memory_limit(-1) == INT64_MAX);
    CHECK(tc_set_memory_limit(200 * (int64_t)MiB) == INT64_MAX);
    CHECK(tc_set_memory_limit(-1) == 200 * (int64_t)MiB);
    CHECK(pacer_goal() < 200 * MiB && pacer_goal() >= 64 * MiB);
    tc_set_gc_percent(100);
    tc_set_memory_limit(INT64_MAX);
    CHECK_EQ(pacer_goal(), 128 * MiB);
}

TC_TEST_MAIN()
