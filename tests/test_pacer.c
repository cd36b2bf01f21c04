/* test_pacer.c — the heap goal: GOGC, the minimum heap, roots, and the soft
 * memory limit, the setters' return values, and the concurrent trigger's
 * runway and floors. */
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

TC_TEST(next_trigger_leaves_the_runway_within_go_bounds_without_idle_marking)
{
    uint64_t marked = 100 * MiB, goal = 200 * MiB, resident = 1000 * MiB;
    /* 20 MiB grown while marking: start 22 MiB before the goal. */
    CHECK_EQ(pacer_next_trigger(marked, goal, 20 * MiB, false, resident), 178 * MiB);
    /* A long mark wants an early start, but not before 70% of the way. */
    uint64_t lo = marked + (goal - marked) / 100 * 70;
    CHECK_EQ(pacer_next_trigger(marked, goal, 80 * MiB, false, resident), lo);
    /* A short one starts no later than 95%. */
    uint64_t hi = marked + (goal - marked) / 100 * 95;
    CHECK_EQ(pacer_next_trigger(marked, goal, 0, false, resident), hi);
    /* Nothing to pace: no goal, or none above the marked heap. */
    CHECK_EQ(pacer_next_trigger(marked, PACER_GOAL_NONE, 0, false, 0), PACER_GOAL_NONE);
    CHECK_EQ(pacer_next_trigger(marked, marked, 0, false, 0), marked);
}

TC_TEST(next_trigger_after_idle_marking_starts_earlier_within_resident_memory)
{
    uint64_t marked = 100 * MiB, goal = 200 * MiB, grown = 80 * MiB;
    uint64_t runway = grown + grown / 10; /* 88 MiB */
    /* The next goal could reach 200 + 2 x 88 = 376 MiB: with that much
     * resident, the floor is 10% and the whole runway is granted. */
    CHECK_EQ(pacer_next_trigger(marked, goal, grown, true, 376 * MiB), goal - runway);
    /* A byte less resident, and the floor is 60%. */
    uint64_t lo60 = marked + (goal - marked) / 100 * 60;
    CHECK_EQ(pacer_next_trigger(marked, goal, grown, true, 376 * MiB - 1), lo60);
    /* Even with room, never earlier than 10% of the way. */
    uint64_t lo10 = marked + (goal - marked) / 100 * 10;
    CHECK_EQ(pacer_next_trigger(marked, goal, 150 * MiB, true, 10000 * MiB), lo10);
    /* Without idle marking, resident memory changes nothing. */
    uint64_t lo70 = marked + (goal - marked) / 100 * 70;
    CHECK_EQ(pacer_next_trigger(marked, goal, grown, false, 10000 * MiB), lo70);
}

TC_TEST(trigger_fraction_is_clamped_to_the_span)
{
    pacer_init(100, INT64_MAX);
    pacer_inputs in = {.heap_marked = 64 * MiB};
    pacer_commit(&in);
    pacer_set_trigger_fraction(0.0);
    CHECK_EQ(pacer_trigger(), 64 * MiB);
    pacer_set_trigger_fraction(-1.0);
    CHECK_EQ(pacer_trigger(), 64 * MiB);
    pacer_set_trigger_fraction(2.0);
    CHECK_EQ(pacer_trigger(), pacer_goal());
    pacer_set_trigger_fraction(0.875);
}

/* The assist price (Go's revise): work left over heap left, in the soft
 * regime; past the expected work, the whole heap at the start over an
 * extrapolated goal; past that goal, a fixed 10% more and no further, so the
 * price climbs as the heap nears it instead of staying flat. */
TC_TEST(assist_price_rises_toward_a_fixed_overshoot_limit)
{
    const uint64_t M = MiB;
    /* Soft: 100 MiB of work left, 200 MiB of runway. */
    double p = pacer_assist_work_per_byte(100 * M, 0, 200 * M, 400 * M, 800 * M, 200 * M);
    CHECK(p > 0.49 && p < 0.51);
    /* Past the expected work: worst = triggered (200), goal extrapolated to
     * 200 + 200/100 * 200 = 600; 90 MiB of work left over 300 of heap. */
    p = pacer_assist_work_per_byte(100 * M, 110 * M, 200 * M, 400 * M, 800 * M, 300 * M);
    CHECK(p > 0.29 && p < 0.31);
    /* Extrapolation stops at the hard goal (450): 90 over 150. */
    p = pacer_assist_work_per_byte(100 * M, 110 * M, 200 * M, 400 * M, 450 * M, 300 * M);
    CHECK(p > 0.59 && p < 0.61);
    /* Past the goal (400): the limit is 440, fixed, and the work expected
     * becomes the heap at the start (200): 150 MiB left. */
    double at410 = pacer_assist_work_per_byte(100 * M, 50 * M, 200 * M, 400 * M, 800 * M, 410 * M);
    double at430 = pacer_assist_work_per_byte(100 * M, 50 * M, 200 * M, 400 * M, 800 * M, 430 * M);
    CHECK(at410 > 4.99 && at410 < 5.01); /* 150 over 30 */
    CHECK(at430 > 14.9 && at430 < 15.1); /* 150 over 10: the price triples */
    /* At or past the limit: the runway floor, 1 MiB. */
    double at500 = pacer_assist_work_per_byte(100 * M, 50 * M, 200 * M, 400 * M, 800 * M, 500 * M);
    CHECK(at500 > 149.0 && at500 < 151.0);
    /* Nothing left to do still costs a little (64 KiB of work). */
    p = pacer_assist_work_per_byte(100 * M, 100 * M, 200 * M, 400 * M, 800 * M, 200 * M);
    CHECK(p > 0.0 && p < 0.001);
}

TC_TEST_MAIN()
