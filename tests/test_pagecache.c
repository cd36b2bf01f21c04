/*
 * test_pagecache.c — the per-thread page cache (Go's pageCache): the block it
 * takes from the page allocator, lock-free runs from it, flushing that loses
 * no page (pagealloc_check after each flush), the heap's page-cache path for
 * spans under 16 pages, and the flush on detach and on mcache_release_all.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mheap.h"
#include "pagealloc.h"
#include "sys.h"
#include "tc_test.h"
#include "tricolor.h"

#define PG    TC_PAGE_SIZE
#define CHUNK PALLOC_CHUNK_BYTES

static tc_sysstat meta = TC_SYSSTAT_INIT("pagecache test metadata", TC_SYSCAT_OTHER);
static tc_sysstat heapstat = TC_SYSSTAT_INIT("pagecache test heap", TC_SYSCAT_OTHER);

static uintptr_t heap_space(size_t bytes)
{
    void *p = sys_reserve_aligned(NULL, bytes, CHUNK);
    CHECK(p != NULL);
    sys_map(p, bytes, &heapstat);
    return (uintptr_t)p;
}

static pagealloc_counts counts(const pagealloc *pa)
{
    pagealloc_counts c;
    pagealloc_counts_read(pa, &c);
    return c;
}

/* ---- the page allocator's side ------------------------------------------------ */

TC_TEST(cache_takes_the_free_pages_of_the_lowest_block)
{
    pagealloc *pa = pagealloc_new(&meta);
    uintptr_t base = heap_space(CHUNK);
    pagealloc_grow(pa, base, CHUNK);
    size_t scav;
    CHECK_EQ(pagealloc_alloc(pa, 3, &scav), base);
    pagecache pc = {0, 0, 0};
    CHECK(pagealloc_alloc_to_cache(pa, &pc));
    pagealloc_check(pa);
    CHECK_EQ(pc.base, base);
    CHECK_EQ(pc.cache, ~(uint64_t)7); /* every page but the three in use */
    CHECK_EQ(pc.scav, pc.cache);      /* fresh from the grow: all scavenged */
    CHECK_EQ(counts(pa).inuse_pages, 64);
    CHECK_EQ(counts(pa).scavenged_pages, 512 - 64);
    CHECK_EQ(pagecache_pages(&pc), 61);

    /* runs come out lowest first, with their scavenged bytes */
    CHECK_EQ(pagealloc_cache_alloc(&pc, 1, &scav), base + 3 * PG);
    CHECK_EQ(scav, PG);
    CHECK_EQ(pagealloc_cache_alloc(&pc, 4, &scav), base + 4 * PG);
    CHECK_EQ(scav, 4 * PG);
    CHECK_EQ(pagecache_pages(&pc), 56);
    /* the page allocator hands out pages past the cached block */
    CHECK_EQ(pagealloc_alloc(pa, 1, &scav), base + 64 * PG);
    pagealloc_check(pa);

    pagealloc_flush_cache(pa, &pc);
    pagealloc_check(pa);
    CHECK_EQ(pc.cache, 0);
    CHECK_EQ(counts(pa).inuse_pages, 3 + 1 + 4 + 1);
    CHECK_EQ(counts(pa).scavenged_pages, 512 - 9); /* flushed pages kept their state */
    /* the flushed pages are the lowest free ones again */
    CHECK_EQ(pagealloc_alloc(pa, 1, &scav), base + 8 * PG);
}

TC_TEST(cache_alloc_without_a_fitting_run_changes_nothing)
{
    pagecache pc = {.base = 0x100000000, .cache = 0x5555555555555555ull, .scav = 0x5ull};
    size_t scav = 123;
    CHECK_EQ(pagealloc_cache_alloc(&pc, 2, &scav), 0);
    CHECK_EQ(pc.cache, 0x5555555555555555ull);
    CHECK_EQ(pagealloc_cache_alloc(&pc, 65, &scav), 0);
    CHECK_EQ(pagealloc_cache_alloc(&pc, 1, &scav), 0x100000000);
    CHECK_EQ(scav, PG);
    CHECK_EQ(pc.scav, 0x4ull);
    pagecache full = {.base = 0x100000000, .cache = ~(uint64_t)0, .scav = 0};
    CHECK_EQ(pagealloc_cache_alloc(&full, 64, &scav), 0x100000000);
    CHECK_EQ(scav, 0);
    CHECK_EQ(full.cache, 0);
    pagecache empty = {0, 0, 0};
    CHECK_EQ(pagealloc_cache_alloc(&empty, 1, &scav), 0);
}

/* Several caches and the plain allocator take pages in a random pattern;
 * flushing every cache and freeing every span leaves nothing in use, each
 * page's scavenged state right, and the whole range one free run. */
TC_TEST(flush_loses_no_page_under_a_random_pattern)
{
    uint64_t rs = tc_test_seed();
    pagealloc *pa = pagealloc_new(&meta);
    size_t bytes = 4 * CHUNK, npages = bytes / PG;
    uintptr_t base = heap_space(bytes);
    pagealloc_grow(pa, base, bytes);
    enum { NCACHE = 3, NLIVE = 400 };
    pagecache pc[NCACHE] = {{0, 0, 0}};
    struct {
        uintptr_t a;
        size_t n;
    } live[NLIVE] = {{0, 0}};
    uint8_t *owner = calloc(npages, 1); /* shadow: 1 while a span holds the page */
    CHECK(owner != NULL);
    for (int step = 0; step < 20000; step++) {
        int i = (int)(tc_rand(&rs) % NLIVE);
        if (live[i].a != 0) {
            for (size_t k = 0; k < live[i].n; k++) owner[(live[i].a - base) / PG + k] = 0;
            pagealloc_free(pa, live[i].a, live[i].n);
            live[i].a = 0;
            continue;
        }
        size_t n = 1 + tc_rand(&rs) % 8, scav;
        int which = (int)(tc_rand(&rs) % (NCACHE + 1));
        uintptr_t a;
        if (which == NCACHE) {
            a = pagealloc_alloc(pa, n, &scav);
        } else {
            a = pagealloc_cache_alloc(&pc[which], n, &scav);
            if (a == 0 && pagecache_pages(&pc[which]) == 0 &&
                pagealloc_alloc_to_cache(pa, &pc[which]))
                a = pagealloc_cache_alloc(&pc[which], n, &scav);
        }
        if (a == 0) continue;
        CHECK(a >= base && a + n * PG <= base + bytes);
        for (size_t k = 0; k < n; k++) {
            CHECK_EQ(owner[(a - base) / PG + k], 0);
            owner[(a - base) / PG + k] = 1;
        }
        live[i].a = a, live[i].n = n;
        if (step % 997 == 0) {
            pagealloc_flush_cache(pa, &pc[step % NCACHE]);
            pagealloc_check(pa);
        }
    }
    for (int k = 0; k < NCACHE; k++) pagealloc_flush_cache(pa, &pc[k]);
    pagealloc_check(pa);
    for (int i = 0; i < NLIVE; i++)
        if (live[i].a != 0) pagealloc_free(pa, live[i].a, live[i].n);
    pagealloc_check(pa);
    CHECK_EQ(counts(pa).inuse_pages, 0);
    size_t scav;
    CHECK_EQ(pagealloc_alloc(pa, npages, &scav), base);
    pagealloc_check(pa);
    free(owner);
}

/* ---- the heap's side ---------------------------------------------------------- */

static void init_once(void)
{
    static int done;
    if (!done) {
        tc_config c;
        tc_config_default(&c);
        c.gc_percent = -1; /* spans made and freed by hand here */
        tc_init(&c);
        done = 1;
    }
}

static size_t heap_inuse_pages(void)
{
    tc_lock(&mheap_.lock);
    pagealloc_counts c;
    pagealloc_counts_read(mheap_.pages, &c);
    tc_unlock(&mheap_.lock);
    return c.inuse_pages;
}

TC_TEST(small_spans_come_from_the_thread_page_cache)
{
    init_once();
    mcache *c = mcache_current();
    spanclass spc = make_spanclass(0, SPAN_NOSCAN);
    mspan *s = mheap_alloc_span(2, spc, 2 * PG);
    CHECK(s != NULL);
    uintptr_t block = (uintptr_t)PAGECACHE_PAGES * PG;
    CHECK_EQ(tc_align_down(s->startaddr, block), c->pcache.base);
    size_t left = pagecache_pages(&c->pcache);
    size_t inuse = heap_inuse_pages();
    mspan *t = mheap_alloc_span(3, spc, 3 * PG);
    CHECK(t != NULL);
    if (tc_align_down(t->startaddr, block) == c->pcache.base) {
        /* served by the cache: the page allocator saw nothing */
        CHECK_EQ(pagecache_pages(&c->pcache), left - 3);
        CHECK_EQ(heap_inuse_pages(), inuse);
    }
    CHECK_EQ(mheap_span_of_heap(t->startaddr + 3 * PG - 1), t);
    mheap_check();
    /* 16 pages and more: the page allocator, not the cache */
    left = pagecache_pages(&c->pcache);
    mspan *big = mheap_alloc_span(MHEAP_PCACHE_MAX_PAGES, spc, MHEAP_PCACHE_MAX_PAGES * PG);
    CHECK(big != NULL);
    CHECK_EQ(pagecache_pages(&c->pcache), left);
    mheap_free_span(s);
    mheap_free_span(t);
    mheap_free_span(big);
    mheap_check();
}

TC_TEST(release_all_flushes_the_page_cache)
{
    init_once();
    mcache *c = mcache_current();
    for (int i = 0; i < 20; i++) CHECK(tc_alloc_noscan(8192) != NULL);
    CHECK(pagecache_pages(&c->pcache) > 0 || c->nspanstash > 0);
    size_t held = pagecache_pages(&c->pcache), inuse = heap_inuse_pages();
    mcache_release_all(c);
    CHECK_EQ(pagecache_pages(&c->pcache), 0);
    CHECK_EQ(c->nspanstash, 0);
    CHECK_EQ(heap_inuse_pages(), inuse - held);
    mheap_check(); /* pagealloc_check inside */
}

/* Pages that went back through a flush are reused, and come back zero. */
TC_TEST(pages_reused_through_the_cache_come_back_zeroed)
{
    init_once();
    mcache *c = mcache_current();
    spanclass spc = make_spanclass(0, SPAN_NOSCAN);
    enum { N = 40 };
    mspan *sp[N];
    uintptr_t first[N];
    for (int i = 0; i < N; i++) {
        sp[i] = mheap_alloc_span(2, spc, 2 * PG);
        CHECK(sp[i] != NULL);
        first[i] = sp[i]->startaddr;
        if (sp[i]->needzero) memset((void *)first[i], 0, 2 * PG);
        memset((void *)first[i], 0xAB, 2 * PG);
    }
    for (int i = 0; i < N; i++) mheap_free_span(sp[i]);
    mheap_flush_page_cache(c);
    mheap_check();
    int reused = 0;
    for (int i = 0; i < N; i++) {
        sp[i] = mheap_alloc_span(2, spc, 2 * PG);
        CHECK(sp[i] != NULL);
        for (int k = 0; k < N; k++)
            if (first[k] == sp[i]->startaddr) {
                reused++;
                CHECK_EQ(sp[i]->needzero, 1);
            }
        if (!sp[i]->needzero) {
            const unsigned char *b = (const unsigned char *)sp[i]->startaddr;
            for (size_t k = 0; k < 2 * PG; k++) CHECK_EQ(b[k], 0);
        }
    }
    CHECK(reused > 0);
    for (int i = 0; i < N; i++) mheap_free_span(sp[i]);
    mheap_check();
}

/* ---- threads ------------------------------------------------------------------ */

enum { TH = 2, TH_SPANS = 300 };

struct th_arg {
    uint64_t seed;
    pthread_barrier_t *allocated, *checked;
    mspan *spans[TH_SPANS];
    size_t held; /* pages in the thread's cache just before it detached */
};

static void *span_thread(void *p)
{
    struct th_arg *a = p;
    uint64_t rs = a->seed;
    spanclass spc = make_spanclass(0, SPAN_NOSCAN);
    CHECK(mcache_current() != NULL); /* attaches the thread */
    for (int i = 0; i < TH_SPANS; i++) {
        size_t n = 1 + tc_rand(&rs) % (MHEAP_PCACHE_MAX_PAGES - 1);
        a->spans[i] = mheap_alloc_span(n, spc, n * PG);
        CHECK(a->spans[i] != NULL);
        *(volatile uintptr_t *)a->spans[i]->startaddr = (uintptr_t)a; /* touch it */
    }
    a->held = pagecache_pages(&mcache_tls->pcache);
    pthread_barrier_wait(a->allocated);
    pthread_barrier_wait(a->checked);
    tc_thread_detach(); /* flushes the page cache */
    return NULL;
}

static int cmp_span(const void *x, const void *y)
{
    uintptr_t a = (*(mspan *const *)x)->startaddr, b = (*(mspan *const *)y)->startaddr;
    return a < b ? -1 : a > b;
}

TC_TEST(threads_get_disjoint_spans_and_detach_returns_their_pages)
{
    init_once();
    mcache_release_all(mcache_current()); /* the main thread holds no pages */
    uint64_t seed = tc_test_seed();
    pthread_barrier_t allocated, checked;
    pthread_barrier_init(&allocated, NULL, TH + 1);
    pthread_barrier_init(&checked, NULL, TH + 1);
    static struct th_arg args[TH];
    pthread_t th[TH];
    size_t inuse0 = heap_inuse_pages();
    for (int i = 0; i < TH; i++) {
        args[i] = (struct th_arg){
            .seed = seed + (uint64_t)i * 7919, .allocated = &allocated, .checked = &checked};
        CHECK(pthread_create(&th[i], NULL, span_thread, &args[i]) == 0);
    }
    pthread_barrier_wait(&allocated);
    /* no two spans overlap */
    static mspan *all[TH * TH_SPANS];
    size_t span_pages = 0, held = 0;
    for (int i = 0; i < TH; i++) {
        held += args[i].held;
        for (int k = 0; k < TH_SPANS; k++) {
            all[i * TH_SPANS + k] = args[i].spans[k];
            span_pages += args[i].spans[k]->npages;
        }
    }
    qsort(all, TH * TH_SPANS, sizeof all[0], cmp_span);
    for (size_t k = 1; k < TH * TH_SPANS; k++)
        CHECK(all[k - 1]->startaddr + all[k - 1]->npages * PG <= all[k]->startaddr);
    size_t inuse1 = heap_inuse_pages();
    CHECK_EQ(inuse1 - inuse0, span_pages + held);
    pthread_barrier_wait(&checked);
    for (int i = 0; i < TH; i++) CHECK(pthread_join(th[i], NULL) == 0);
    /* detaching gave every cached page back */
    CHECK_EQ(heap_inuse_pages() - inuse0, span_pages);
    mheap_check();
    for (size_t k = 0; k < TH * TH_SPANS; k++) mheap_free_span(all[k]);
    CHECK_EQ(heap_inuse_pages(), inuse0);
    mheap_check();
    pthread_barrier_destroy(&allocated);
    pthread_barrier_destroy(&checked);
}

TC_TEST_MAIN()
