/* test_fixalloc.c — fixalloc's contract: sizes, zeroing (and what happens
 * without it), reuse within the pool only, the first callback, accounting,
 * and the fixalloccheck misuse checks. */
#include "debug.h"
#include "stats.h"
#include "tc_test.h"

static void count_first(void *arg, void *obj)
{
    int *n = arg;
    unsigned char *p = obj;
    /* first sees fresh memory: still zero */
    for (int i = 0; i < 24; i++)
        if (p[i]) abort();
    (*n)++;
}

TC_TEST(fixalloc_rounds_size_to_pointer_words)
{
    tc_fixalloc f;
    tc_fixalloc_init(&f, 1, NULL, NULL, NULL);
    CHECK_EQ(f.size, sizeof(void *));
    tc_fixalloc_init(&f, 13, NULL, NULL, NULL);
    CHECK_EQ(f.size, 16);
    CHECK_EQ(f.nalloc, 16384);
    tc_fixalloc_init(&f, 24, NULL, NULL, NULL);
    CHECK_EQ(f.nalloc, 16384 / 24 * 24);
    CHECK(f.zero);
    CHECK(f.stat == &tc_sysstat_fixalloc);
}

TC_TEST(fixalloc_objects_are_aligned_distinct_and_zeroed)
{
    tc_fixalloc f;
    tc_fixalloc_init(&f, 40, NULL, NULL, NULL);
    void *objs[2000];
    for (int i = 0; i < 2000; i++) {
        objs[i] = tc_fixalloc_alloc(&f);
        CHECK_EQ((uintptr_t)objs[i] % sizeof(void *), 0);
        for (int j = 0; j < 40; j++) CHECK_EQ(((unsigned char *)objs[i])[j], 0);
        memset(objs[i], 0x77, 40);
    }
    for (int i = 1; i < 2000; i++) {
        uintptr_t a = (uintptr_t)objs[i - 1], b = (uintptr_t)objs[i];
        CHECK(a + 40 <= b || b + 40 <= a);
    }
    CHECK_EQ(f.inuse, 2000 * 40);
}

TC_TEST(fixalloc_reuses_only_own_objects)
{
    tc_fixalloc a, b;
    tc_fixalloc_init(&a, 32, NULL, NULL, NULL);
    tc_fixalloc_init(&b, 32, NULL, NULL, NULL);
    void *pa[100], *pb[100];
    for (int i = 0; i < 100; i++) pa[i] = tc_fixalloc_alloc(&a);
    for (int i = 0; i < 100; i++) tc_fixalloc_free(&a, pa[i]);
    /* b never gets a's freed objects, even though they are the same size. */
    for (int i = 0; i < 100; i++) {
        pb[i] = tc_fixalloc_alloc(&b);
        for (int j = 0; j < 100; j++) CHECK(pb[i] != pa[j]);
    }
    /* a reuses its own, most recently freed first. */
    for (int i = 99; i >= 0; i--) CHECK(tc_fixalloc_alloc(&a) == pa[i]);
}

TC_TEST(fixalloc_zero_clears_reused_objects)
{
    tc_fixalloc f;
    tc_fixalloc_init(&f, 64, NULL, NULL, NULL);
    unsigned char *p = tc_fixalloc_alloc(&f);
    memset(p, 0xee, 64);
    tc_fixalloc_free(&f, p);
    unsigned char *q = tc_fixalloc_alloc(&f);
    CHECK(q == p);
    for (int i = 0; i < 64; i++) CHECK_EQ(q[i], 0);
}

TC_TEST(fixalloc_without_zero_keeps_stale_bytes)
{
    /* This is why the rules exist: a reused object still holds its old
     * contents (all but the free-list word) unless the pool zeroes it. */
    tc_fixalloc f;
    tc_fixalloc_init(&f, 64, NULL, NULL, NULL);
    f.zero = false;
    unsigned char *p = tc_fixalloc_alloc(&f);
    memset(p, 0xee, 64);
    void *stale_ptr = &f;
    memcpy(p + 8, &stale_ptr, sizeof stale_ptr);
    tc_fixalloc_free(&f, p);
    unsigned char *q = tc_fixalloc_alloc(&f);
    CHECK(q == p);
    void *seen;
    memcpy(&seen, q + 8, sizeof seen);
    CHECK(seen == stale_ptr);
    for (int i = 16; i < 64; i++) CHECK_EQ(q[i], 0xee);
}

TC_TEST(fixalloc_first_runs_once_per_object)
{
    int n = 0;
    tc_fixalloc f;
    tc_fixalloc_init(&f, 24, count_first, &n, NULL);
    void *objs[1000];
    for (int i = 0; i < 1000; i++) objs[i] = tc_fixalloc_alloc(&f);
    CHECK_EQ(n, 1000);
    for (int i = 0; i < 1000; i++) tc_fixalloc_free(&f, objs[i]);
    for (int i = 0; i < 1000; i++) objs[i] = tc_fixalloc_alloc(&f);
    CHECK_EQ(n, 1000); /* reused: no second call */
    tc_fixalloc_alloc(&f);
    CHECK_EQ(n, 1001);
}

TC_TEST(fixalloc_statistics_after_a_scripted_sequence)
{
    tc_sysstat st = TC_SYSSTAT_INIT("pool", TC_SYSCAT_FIXALLOC);
    tc_stats s0, s1;
    tc_read_stats(&s0);
    tc_fixalloc f;
    tc_fixalloc_init(&f, 100, NULL, NULL, &st); /* rounded to 104 */
    CHECK_EQ(f.size, 104);
    size_t per_chunk = 16384 / 104; /* 157 objects, 16328 bytes */
    void *objs[400];
    for (int i = 0; i < 400; i++) objs[i] = tc_fixalloc_alloc(&f);
    for (int i = 0; i < 150; i++) tc_fixalloc_free(&f, objs[i]);
    CHECK_EQ(f.inuse, 250 * 104);
    /* 400 objects need 3 chunks of 157. */
    CHECK_EQ(tc_sysstat_read(&st), 3 * per_chunk * 104);
    tc_read_stats(&s1);
    CHECK_EQ(s1.sys_by_category[TC_SYSCAT_FIXALLOC] - s0.sys_by_category[TC_SYSCAT_FIXALLOC],
             3 * per_chunk * 104);
    /* Reuse takes freed objects before carving: no new chunk for 150 more. */
    for (int i = 0; i < 150; i++) tc_fixalloc_alloc(&f);
    CHECK_EQ(tc_sysstat_read(&st), 3 * per_chunk * 104);
}

static void checked_pool(tc_fixalloc *f, size_t size)
{
    tc_debug.fixalloccheck = 1;
    tc_fixalloc_init(f, size, NULL, NULL, NULL);
    tc_debug.fixalloccheck = 0;
}

TC_TEST(fixalloccheck_passes_correct_use)
{
    tc_fixalloc f;
    checked_pool(&f, 48);
    CHECK(f.check != NULL);
    void *objs[1000];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++) objs[i] = tc_fixalloc_alloc(&f);
        for (int i = 0; i < 1000; i += 2) tc_fixalloc_free(&f, objs[i]);
        for (int i = 1; i < 1000; i += 2) tc_fixalloc_free(&f, objs[i]);
    }
    CHECK_EQ(f.inuse, 0);
}

static void double_free(void)
{
    tc_fixalloc f;
    checked_pool(&f, 32);
    void *p = tc_fixalloc_alloc(&f);
    tc_fixalloc_free(&f, p);
    tc_fixalloc_free(&f, p);
}

static void free_into_wrong_pool(void)
{
    tc_fixalloc a, b;
    checked_pool(&a, 32);
    checked_pool(&b, 32);
    tc_fixalloc_alloc(&b);
    tc_fixalloc_free(&b, tc_fixalloc_alloc(&a));
}

static void free_interior_pointer(void)
{
    tc_fixalloc f;
    checked_pool(&f, 32);
    char *p = tc_fixalloc_alloc(&f);
    tc_fixalloc_free(&f, p + 8);
}

static void oversized_pool(void)
{
    tc_fixalloc f;
    tc_fixalloc_init(&f, 1 << 15, NULL, NULL, NULL);
}

TC_TEST(fixalloccheck_catches_double_and_foreign_frees)
{
    TC_EXPECT_DEATH(double_free(), "double free");
    TC_EXPECT_DEATH(free_into_wrong_pool(), "was not allocated from pool");
    TC_EXPECT_DEATH(free_interior_pointer(), "not the start of an object");
    TC_EXPECT_DEATH(oversized_pool(), "larger than");
}

TC_TEST_MAIN()
