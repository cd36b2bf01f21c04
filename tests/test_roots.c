/* test_roots.c — the root registry: registration, lookup, ordering, and
 * misuse. (That roots keep objects alive is tested with the collector.) */
#include <stddef.h>

#include "roots.h"
#include "types.h"
#include "tc_test.h"

static void count_root(const struct tc_root *r, void *arg)
{
    uintptr_t *last = arg;
    CHECK(r->base > *last);
    *last = r->base;
}

TC_TEST(roots_register_find_and_unregister)
{
    static void *area[4096];
    tc_root *a = tc_root_register(&area[100], 100 * sizeof(void *), NULL, 0);
    tc_root *b = tc_root_register(&area[0], 50 * sizeof(void *), NULL, TC_ROOT_BARRIERED);
    tc_root *c = tc_root_register(&area[1000], 8, NULL, 0);
    size_t n, bytes;
    roots_lock();
    roots_totals(&n, &bytes);
    CHECK_EQ(n, 3);
    CHECK_EQ(bytes, 150 * sizeof(void *) + 8);
    CHECK(roots_find((uintptr_t)&area[0]) == b);
    CHECK(roots_find((uintptr_t)&area[49]) == b);
    CHECK(roots_find((uintptr_t)&area[50]) == NULL);
    CHECK(roots_find((uintptr_t)&area[199]) == a);
    CHECK(roots_find((uintptr_t)&area[200]) == NULL);
    CHECK(roots_find((uintptr_t)&area[1000]) == c);
    CHECK(b->flags == TC_ROOT_BARRIERED && b->layout == NULL);
    uintptr_t last = 0;
    roots_for_each(count_root, &last);
    roots_unlock();
    tc_root_unregister(a);
    tc_root_unregister(b);
    tc_root_unregister(c);
    roots_lock();
    roots_totals(&n, &bytes);
    CHECK_EQ(n, 0);
    CHECK(roots_find((uintptr_t)&area[0]) == NULL);
    roots_unlock();
}

struct pair {
    void *car;
    long tag;
    void *cdr;
};

TC_TEST(roots_record_a_precise_layout)
{
    static struct pair table[16];
    tc_type *t = TC_TYPE(struct pair, car, cdr);
    CHECK(t != NULL);
    tc_root *r = tc_root_register(table, sizeof table, t, 0);
    roots_lock();
    CHECK(roots_find((uintptr_t)&table[15].cdr) == r);
    CHECK(r->layout == t && r->layout->nptrs == 2);
    roots_unlock();
    tc_root_unregister(r);
}

static void *words[64];
static void not_a_multiple_of_the_type(void)
{
    tc_root_register(words, 5 * sizeof(void *), TC_TYPE(struct pair, car), 0);
}
static void misaligned(void) { tc_root_register((char *)words + 4, 16, NULL, 0); }
static void odd_size(void) { tc_root_register(words, 12, NULL, 0); }
static void overlap(void)
{
    tc_root_register(&words[0], 8 * sizeof(void *), NULL, 0);
    tc_root_register(&words[7], 8 * sizeof(void *), NULL, 0);
}
static void twice(void)
{
    tc_root *r = tc_root_register(words, sizeof words, NULL, 0);
    tc_root_unregister(r);
    tc_root_unregister(r);
}
static void bad_flags(void) { tc_root_register(words, sizeof words, NULL, 0x80); }

TC_TEST(roots_misuse_is_fatal)
{
    TC_EXPECT_DEATH(misaligned(), "is not pointer aligned");
    TC_EXPECT_DEATH(odd_size(), "not a whole number of words");
    TC_EXPECT_DEATH(overlap(), "overlaps registered root");
    TC_EXPECT_DEATH(twice(), "unregistered twice");
    TC_EXPECT_DEATH(bad_flags(), "unknown flags");
    TC_EXPECT_DEATH(not_a_multiple_of_the_type(), "is not a multiple of type struct pair");
}

TC_TEST_MAIN()
