/* test_gcwork.c — the grey set: every object put is got exactly once, by
 * one marker or another, across buffer boundaries, balancing, disposal and
 * parallel markers. */
#include <pthread.h>

#include "gcwork.h"
#include "tc_test.h"

TC_TEST(gcwork_returns_every_object_once_single_marker)
{
    gcwork w = {0};
    enum { N = 5000 };
    static unsigned char seen[N + 1];
    memset(seen, 0, sizeof seen);
    for (uintptr_t i = 1; i <= N; i++) gcw_put(&w, i * 16);
    for (;;) {
        uintptr_t o = gcw_tryget(&w);
        if (o == 0) break;
        CHECK_EQ(o % 16, 0);
        CHECK(o / 16 <= N);
        CHECK_EQ(seen[o / 16], 0);
        seen[o / 16] = 1;
    }
    for (int i = 1; i <= N; i++) CHECK_EQ(seen[i], 1);
    CHECK(gcw_empty(&w));
    gcw_dispose(&w);
    work_check(true);
}

TC_TEST(gcwork_dispose_publishes_to_other_markers)
{
    gcwork a = {0}, b = {0};
    for (uintptr_t i = 1; i <= 600; i++) gcw_put(&a, i * 8);
    CHECK(!gcw_empty(&a));
    gcw_dispose(&a);
    CHECK(a.flushed_work);
    CHECK(work_full_nonempty());
    work_check(false);
    size_t got = 0;
    while (gcw_tryget(&b) != 0) got++;
    CHECK_EQ(got, 600);
    gcw_dispose(&b);
    work_check(true);
}

TC_TEST(gcwork_balance_donates_half_a_buffer)
{
    gcwork a = {0}, b = {0};
    for (uintptr_t i = 1; i <= 100; i++) gcw_put(&a, i * 8);
    CHECK(!work_full_nonempty());
    gcw_balance(&a);
    CHECK(work_full_nonempty());
    size_t got_b = 0, got_a = 0;
    while (gcw_tryget(&b) != 0) got_b++;
    while (gcw_tryget(&a) != 0) got_a++;
    CHECK_EQ(got_b, 50);
    CHECK_EQ(got_a, 50);
    gcw_dispose(&a);
    gcw_dispose(&b);
    work_check(true);
}

/* Parallel: each marker puts its own range, balances, and drains whatever it
 * can get; every object must be taken exactly once overall. */
enum { T = 4, PER = 200000 };
static _Atomic unsigned char taken[T * PER + 1];
static _Atomic int done_putting;
static uint64_t seed; /* taken once, before the markers start */

static void *marker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    gcwork w = {0};
    uint64_t r = seed + id;
    for (uintptr_t i = 0; i < PER; i++) {
        gcw_put(&w, (id * PER + i + 1) * 8);
        if (tc_rand(&r) % 64 == 0) gcw_balance(&w);
        if (tc_rand(&r) % 3 == 0) {
            uintptr_t o = gcw_tryget(&w);
            if (o != 0 && atomic_fetch_add(&taken[o / 8], 1) != 0) abort();
        }
    }
    gcw_dispose(&w);
    atomic_fetch_add(&done_putting, 1);
    for (;;) {
        uintptr_t o = gcw_tryget(&w);
        if (o == 0) {
            if (atomic_load(&done_putting) == T && !work_full_nonempty()) break;
            continue;
        }
        if (atomic_fetch_add(&taken[o / 8], 1) != 0) abort();
    }
    gcw_dispose(&w);
    return NULL;
}

TC_TEST(gcwork_parallel_markers_take_each_object_once)
{
    pthread_t th[T];
    seed = tc_test_seed();
    for (uintptr_t i = 0; i < T; i++) pthread_create(&th[i], NULL, marker, (void *)i);
    for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
    for (size_t i = 1; i <= (size_t)T * PER; i++)
        CHECK_MSG(atomic_load(&taken[i]) == 1, "object %zu taken %d times", i, taken[i]);
    work_check(true);
}

TC_TEST_MAIN()
