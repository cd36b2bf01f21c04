/* test_sys.c — the OS memory layer: states, accounting, and misuse. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

#include "stats.h"
#include "sys.h"
#include "tc_test.h"

static tc_sysstat st = TC_SYSSTAT_INIT("test", TC_SYSCAT_OTHER);

TC_TEST(sys_alloc_is_zeroed_page_aligned_and_charged)
{
    size_t ps = sys_page_size();
    CHECK(ps >= 4096 && (ps & (ps - 1)) == 0);
    uint64_t before = tc_sysstat_read(&st), ready = sys_mapped_ready();
    unsigned char *p = tc_sys_alloc(5 * ps, &st);
    CHECK(p != NULL);
    CHECK_EQ((uintptr_t)p % ps, 0);
    for (size_t i = 0; i < 5 * ps; i++) CHECK_EQ(p[i], 0);
    CHECK_EQ(tc_sysstat_read(&st), before + 5 * ps);
    CHECK_EQ(sys_mapped_ready(), ready + 5 * ps);
    memset(p, 0xab, 5 * ps);
    /* Free part of the allocation, then the rest. */
    tc_sys_free(p + 3 * ps, 2 * ps, &st);
    CHECK_EQ(tc_sysstat_read(&st), before + 3 * ps);
    tc_sys_free(p, 3 * ps, &st);
    CHECK_EQ(tc_sysstat_read(&st), before);
    CHECK_EQ(sys_mapped_ready(), ready);
}

TC_TEST(sys_category_totals_follow_the_stat)
{
    tc_sysstat gm = TC_SYSSTAT_INIT("test gcmeta", TC_SYSCAT_GCMETA);
    tc_stats a, b;
    tc_read_stats(&a);
    void *p = tc_sys_alloc(2 * sys_page_size(), &gm);
    tc_read_stats(&b);
    CHECK_EQ(b.sys_by_category[TC_SYSCAT_GCMETA],
             a.sys_by_category[TC_SYSCAT_GCMETA] + 2 * sys_page_size());
    CHECK_EQ(b.sys_total, a.sys_total + 2 * sys_page_size());
    tc_sys_free(p, 2 * sys_page_size(), &gm);
    tc_read_stats(&b);
    CHECK_EQ(b.sys_by_category[TC_SYSCAT_GCMETA], a.sys_by_category[TC_SYSCAT_GCMETA]);
}

static sigjmp_buf fault_jmp;
static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(fault_jmp, 1);
}

static int touch_faults(volatile char *p)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, &old);
    int faulted = 0;
    if (sigsetjmp(fault_jmp, 1) == 0)
        (void)*p;
    else
        faulted = 1;
    sigaction(SIGSEGV, &old, NULL);
    return faulted;
}

TC_TEST(sys_state_machine_reserve_map_used_unused_fault_free)
{
    size_t n = 64 * sys_page_size();
    uint64_t before = tc_sysstat_read(&st), ready = sys_mapped_ready();
    char *v = sys_reserve(NULL, n);
    CHECK(v != NULL);
    CHECK(touch_faults(v)); /* Reserved: inaccessible, not charged */
    CHECK_EQ(tc_sysstat_read(&st), before);

    sys_map(v, n, &st); /* Prepared: charged, not ready */
    CHECK_EQ(tc_sysstat_read(&st), before + n);
    CHECK_EQ(sys_mapped_ready(), ready);
    sys_used(v, n, n); /* Ready */
    CHECK_EQ(sys_mapped_ready(), ready + n);
    memset(v, 0x5a, n);
    sys_unused(v, n); /* back to Prepared: reads as zero on Linux */
    CHECK_EQ(sys_mapped_ready(), ready);
    for (size_t i = 0; i < n; i += 512) CHECK_EQ(v[i], 0);
    sys_used(v, n, n);
    sys_fault(v, sys_page_size()); /* first page: Reserved again */
    CHECK(touch_faults(v));
    CHECK(!touch_faults(v + sys_page_size()));
    CHECK_EQ(sys_mapped_ready(), ready + n - sys_page_size());
    /* Free the faulted page and the rest: the mapping and charge go away. */
    sysstat_add(&st, -(int64_t)n);
    CHECK_EQ(munmap(v, n), 0);
    CHECK_EQ(tc_sysstat_read(&st), before);
}

TC_TEST(sys_reserve_aligned_honours_alignment)
{
    size_t align = (size_t)64 << 20;
    void *v = sys_reserve_aligned(NULL, align, align);
    CHECK(v != NULL);
    CHECK_EQ((uintptr_t)v % align, 0);
    munmap(v, align);
}

/* Uncharging more than was charged to a stat is a bookkeeping bug. */
static void uncharge_wrong_stat(void)
{
    tc_sysstat other = TC_SYSSTAT_INIT("victim", TC_SYSCAT_OTHER);
    void *p = tc_sys_alloc(sys_page_size(), &st);
    tc_sys_free(p, sys_page_size(), &other);
}

TC_TEST(sys_misuse_is_fatal)
{
    size_t ps = sys_page_size();
    TC_EXPECT_DEATH(tc_sys_alloc(ps + 1, &st), "whole number of");
    TC_EXPECT_DEATH(tc_sys_alloc(0, &st), "whole number of");
    TC_EXPECT_DEATH(tc_sys_free((void *)(uintptr_t)(ps + 8), ps, &st), "0x");
    TC_EXPECT_DEATH(uncharge_wrong_stat(), "victim");
}

TC_TEST_MAIN()
