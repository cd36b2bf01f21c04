/*
 * test_heap.c — the page heap underneath the allocator: span allocation and
 * freeing, the arena index, zeroing of reused memory, resident bytes, page reuse and
 * coalescing under a random pattern of large spans, gcBits epochs and
 * concurrent claims, and the
 * validity checkers.
 */
#include "tc_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/mman.h>

#include "mheap.h"
#include "pagealloc.h"
#include "sys.h"
#include "tricolor.h"

/* These tests are about the allocator: they keep objects reachable only
 * from malloc'd shadow maps, so collection stays off. */
static void init_once(void) { tc_test_init_collection_off(); }

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) return 0;
    return 1;
}

static uint64_t mapped(void)
{
    tc_stats st;
    tc_read_stats(&st);
    return st.heap_mapped;
}

/* The internal free path for a large object: off its mcentral, then the heap. */
static void free_large(void *p)
{
    mspan *s = mheap_span_of_heap((uintptr_t)p);
    CHECK(s != NULL && mspan_is_large(s));
    mcentral_remove(&mheap_.central[s->spanclass], s);
    mheap_free_span(s);
}

/* First in the file, before any span is freed: every page handed out so
 * far is in use, so a new span's pages are fresh and add to what is
 * resident. The span stays allocated until the test at the end of the file,
 * so that the tests between see the heap they expect. */
static mspan *resident_span;
static uint64_t resident_with_span;

/* Resident bytes the prefault thread added since *chunks was read (it
 * grows the heap a chunk ahead, made resident): waits for it to settle. */
static uint64_t prefaulted_since(uint64_t *chunks)
{
    mheap_prefault_wait_idle();
    uint64_t now = mheap_prefaulted_chunks(NULL), d = (now - *chunks) * PALLOC_CHUNK_BYTES;
    *chunks = now;
    return d;
}

TC_TEST(resident_bytes_count_fresh_pages)
{
    init_once();
    uint64_t pf = mheap_prefaulted_chunks(NULL);
    (void)prefaulted_since(&pf);
    uint64_t r0 = mheap_resident_bytes();
    size_t size = 40 * TC_PAGE_SIZE;
    resident_span = mheap_alloc_span(40, make_spanclass(0, SPAN_NOSCAN), size);
    CHECK(resident_span != NULL);
    r0 += prefaulted_since(&pf);
    resident_with_span = mheap_resident_bytes();
    CHECK_MSG(resident_with_span >= r0 + size &&
                  resident_with_span <= r0 + size + 64 * TC_PAGE_SIZE,
              "resident %llu -> %llu for %zu bytes", (unsigned long long)r0,
              (unsigned long long)resident_with_span, size);
}

TC_TEST(span_alloc_publishes_and_free_unpublishes)
{
    init_once();
    spanclass spc = make_spanclass(0, SPAN_NOSCAN);
    mspan *s = mheap_alloc_span(3, spc, 3 * TC_PAGE_SIZE);
    CHECK(s != NULL);
    CHECK_EQ(s->npages, 3);
    CHECK_EQ(s->startaddr % TC_PAGE_SIZE, 0);
    CHECK_EQ(atomic_load(&s->state), MSPAN_INUSE);
    CHECK_EQ(atomic_load(&s->sweepgen), atomic_load(&mheap_.sweepgen));
    for (int i = 0; i < 3; i++)
        CHECK(mheap_span_of(s->startaddr + (uintptr_t)i * TC_PAGE_SIZE + 5) == s);
    mspan_check(s);
    uintptr_t base = s->startaddr;
    /* The struct keeps its sweepgen across free (fixalloc zero = false). */
    atomic_store(&s->sweepgen, 12345);
    mheap_free_span(s);
    CHECK_EQ(atomic_load(&s->state), MSPAN_DEAD);
    CHECK_EQ(atomic_load(&s->sweepgen), 12345);
    CHECK(mheap_span_of(base) == NULL);
    CHECK(mheap_span_of_heap(base) == NULL);
    CHECK(tc_object_base((void *)base) == NULL);
    /* The next span reuses the struct and the pages (first fit). */
    mspan *t = mheap_alloc_span(3, spc, 3 * TC_PAGE_SIZE);
    CHECK(t == s);
    CHECK_EQ(t->startaddr, base);
    CHECK_EQ(atomic_load(&t->sweepgen), atomic_load(&mheap_.sweepgen));
    CHECK_EQ(t->needzero, 1); /* pages below zeroed_base */
    mheap_free_span(t);
    TC_EXPECT_DEATH(mheap_free_span(t), "not in use");
}

TC_TEST(arena_index_maps_heap_addresses_only)
{
    init_once();
    void *p = tc_alloc_noscan(100);
    heap_arena *ha = mheap_arena_of((uintptr_t)p);
    CHECK(ha != NULL);
    CHECK(mheap_arena_of((uintptr_t)&ha) == NULL);
    CHECK(mheap_span_of(0) == NULL);
    CHECK(mheap_span_of(~(uintptr_t)0) == NULL);
    /* Go's hint: the first arena sits at 0x00c000000000 when the OS allows */
    int hinted = 0;
    for (unsigned i = 0; i < 0x80; i++)
        if (tc_align_down((uintptr_t)p, (uintptr_t)1 << 40) == ((uintptr_t)i << 40) &&
            ((uintptr_t)p >> 32 & 0xff) >= 0xc0)
            hinted = 1;
    printf("first heap object at %p%s\n", p, hinted ? " (arena hint taken)" : "");
    CHECK(mheap_.n_arenas >= 1);
    for (size_t i = 0; i < mheap_.n_arenas; i++)
        CHECK(mheap_arena_of(arena_base(mheap_.all_arenas[i])) != NULL);
}

TC_TEST(heap_grows_contiguously_across_arenas)
{
    init_once();
    size_t before = mheap_.n_arenas;
    void *a = tc_alloc_noscan((size_t)60 << 20);
    void *b = tc_alloc_noscan((size_t)60 << 20);
    CHECK(a != NULL && b != NULL);
    CHECK(mheap_.n_arenas >= before + 1);
    /* b lies past every page used before (a ends beyond them, first fit puts
     * b after a): fresh from the OS, known zero, so it is never cleared */
    CHECK((uintptr_t)b > (uintptr_t)a);
    CHECK_EQ(mheap_span_of_heap((uintptr_t)b)->needzero, 0);
    /* consecutive arenas were reserved at consecutive addresses */
    size_t contiguous = 0;
    for (size_t i = 1; i < mheap_.n_arenas; i++)
        if (mheap_.all_arenas[i] == mheap_.all_arenas[i - 1] + 1) contiguous++;
    printf("%zu arenas, %zu contiguous with their predecessor\n", mheap_.n_arenas, contiguous);
    CHECK(contiguous >= 1);
    free_large(a);
    free_large(b);
    mheap_check();
}

TC_TEST(reused_large_span_comes_back_zeroed)
{
    init_once();
    /* 20 pages: spans of 16 pages and more take the page allocator's
     * address-ordered first fit; smaller ones come from the thread's page
     * cache (test_pagecache.c checks reuse and zeroing there). */
    size_t size = 19 * TC_PAGE_SIZE + 123;
    unsigned char *p = tc_alloc_noscan(size);
    CHECK(p != NULL && all_zero(p, size));
    memset(p, 0xEE, tc_align_up(size, TC_PAGE_SIZE));
    free_large(p);
    unsigned char *q = tc_alloc_noscan(size);
    CHECK(q == p); /* first fit puts it back where it was */
    CHECK(all_zero(q, size));
    CHECK(mheap_span_of_heap((uintptr_t)q)->needzero == 1);
    /* a conservative object on the same pages is zero too */
    free_large(q);
    unsigned char *r = tc_alloc_conservative(size);
    CHECK(r == p && all_zero(r, size));
    free_large(r);
}

TC_TEST(reused_small_span_pages_come_back_zeroed)
{
    init_once();
    mcache *c = mcache_current();
    mcache_release_all(c);
    /* Fill whole spans of the 48-byte class with junk. */
    unsigned sc = size_to_sizeclass(48);
    spanclass spc = make_spanclass(sc, SPAN_NOSCAN);
    mspan *s = NULL;
    for (;;) {
        unsigned char *p = tc_alloc_noscan(48);
        memset(p, 0x5A, 48);
        s = mheap_span_of_heap((uintptr_t)p);
        if (s->alloc_count == s->nelems) break;
    }
    CHECK(c->alloc[spc] == s);
    mcache_release_all(c);
    mcentral_check(&mheap_.central[spc]);
    /* The sweeper's path: off the central list, pages back to the heap. */
    uintptr_t base = s->startaddr;
    size_t npages = s->npages;
    mcentral_remove(&mheap_.central[spc], s);
    mheap_free_span(s);
    CHECK(tc_object_base((void *)base) == NULL);
    /* Other classes now get those pages; every object must be zero. */
    int reused = 0;
    for (int i = 0; i < 20000 && !reused; i++) {
        size_t size = 16 + (size_t)(i % 40) * 16;
        unsigned char *p = tc_alloc_conservative(size);
        CHECK(all_zero(p, size));
        if ((uintptr_t)p >= base && (uintptr_t)p < base + npages * TC_PAGE_SIZE) reused = 1;
    }
    CHECK(reused);
}

/* Large spans allocated and freed in a random pattern: freed runs coalesce
 * and are reused, so the address range the pattern covers stays within a
 * small factor of its peak live size, and once everything is freed the
 * range is one free run again. */
TC_TEST(page_allocator_coalesces_and_reuses_under_random_large_spans)
{
    init_once();
    uint64_t rs = tc_test_seed();
    enum { N = 64 };
    mspan *live[N] = {0};
    spanclass spc = make_spanclass(0, SPAN_NOSCAN);
    size_t live_pages = 0, peak = 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    uint64_t m0 = mapped();
    int rounds = tc_test_soak() ? 20000 : 3000;
    for (int r = 0; r < rounds; r++) {
        int i = (int)(tc_rand(&rs) % N);
        if (live[i] != NULL) {
            live_pages -= live[i]->npages;
            mheap_free_span(live[i]);
            live[i] = NULL;
        } else {
            size_t np = 1 + tc_rand(&rs) % 300;
            live[i] = mheap_alloc_span(np, spc, np * TC_PAGE_SIZE);
            CHECK(live[i] != NULL);
            CHECK(live[i]->needzero == 0 || live[i]->needzero == 1);
            live_pages += np;
            if (live_pages > peak) peak = live_pages;
            if (live[i]->startaddr < lo) lo = live[i]->startaddr;
            uintptr_t end = live[i]->startaddr + np * TC_PAGE_SIZE;
            if (end > hi) hi = end;
        }
    }
    size_t covered = (hi - lo) / TC_PAGE_SIZE;
    printf("peak live %zu pages, the pattern covered %zu pages, heap grew by %lu MiB\n", peak,
           covered, (unsigned long)((mapped() - m0) >> 20));
    CHECK(covered <= 2 * peak + 300);
    mheap_check();
    for (int i = 0; i < N; i++)
        if (live[i]) mheap_free_span(live[i]);
    /* spans under 16 pages came from this thread's page cache: give back
     * what it still holds, so that every free page is in the page allocator */
    if (mcache_tls != NULL) mheap_flush_page_cache(mcache_tls);
    /* Everything coalesced: a run as long as the peak fits where the
     * fragments were (first fit would have used any lower run of 300 pages
     * and more), without growing the heap. */
    uint64_t m1 = mapped();
    mspan *big = mheap_alloc_span(peak, spc, peak * TC_PAGE_SIZE);
    CHECK(big != NULL);
    CHECK(big->startaddr <= lo);
    CHECK_EQ(mapped(), m1);
    mheap_free_span(big);
    mheap_check();
}

TC_TEST(gcbits_epochs_rotate_and_hand_out_zeroed_bits)
{
    init_once();
    for (int epoch = 0; epoch < 5; epoch++) {
        for (int i = 0; i < 2000; i++) {
            uint32_t n = 1 + (uint32_t)(i * 37 % 1024);
            uint8_t *b = gcbits_alloc(n);
            CHECK(all_zero(b, (n + 63) / 64 * 8));
            memset(b, 0xff, (n + 63) / 64 * 8);
        }
        gcbits_next_epoch();
    }
    CHECK(gcbits_bytes() > 0);
    /* after the rotations, freed chunks are reused: the total stays bounded */
    uint64_t before = gcbits_bytes();
    for (int epoch = 0; epoch < 5; epoch++) {
        for (int i = 0; i < 2000; i++) {
            uint8_t *b = gcbits_alloc(512);
            CHECK(all_zero(b, 64));
            memset(b, 0xff, 64);
        }
        gcbits_next_epoch();
    }
    CHECK(gcbits_bytes() <= before + ((uint64_t)256 << 10));
}

/* Concurrent claims (the sweeper and the allocating threads all take bits):
 * every claim is zeroed, and no two overlap, across many chunk changes. */
enum { GCB_THREADS = 4, GCB_CLAIMS = 20000 };

static void *gcbits_claimer(void *arg)
{
    uintptr_t tag = (uintptr_t)arg;
    uint64_t **claims = malloc(GCB_CLAIMS * sizeof *claims);
    uint32_t *words = malloc(GCB_CLAIMS * sizeof *words);
    uintptr_t bad = 0;
    for (int i = 0; i < GCB_CLAIMS; i++) {
        uint32_t n = 1 + (uint32_t)((i * 2654435761u + tag) % 512);
        uint64_t *b = (uint64_t *)gcbits_alloc(n);
        words[i] = (n + 63) / 64;
        claims[i] = b;
        for (uint32_t w = 0; w < words[i]; w++) {
            if (__atomic_load_n(&b[w], __ATOMIC_RELAXED) != 0) bad++;
            __atomic_store_n(&b[w], (tag << 32) | (uint64_t)i, __ATOMIC_RELAXED);
        }
    }
    for (int i = 0; i < GCB_CLAIMS; i++)
        for (uint32_t w = 0; w < words[i]; w++)
            if (__atomic_load_n(&claims[i][w], __ATOMIC_RELAXED) != ((tag << 32) | (uint64_t)i))
                bad++;
    free(claims);
    free(words);
    return (void *)bad;
}

TC_TEST(gcbits_concurrent_claims_are_zeroed_and_disjoint)
{
    init_once();
    gcbits_next_epoch(); /* no claimer runs: the rule for rotations */
    pthread_t t[GCB_THREADS];
    for (uintptr_t i = 0; i < GCB_THREADS; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, gcbits_claimer, (void *)(i + 1)), 0);
    uintptr_t bad = 0;
    for (int i = 0; i < GCB_THREADS; i++) {
        void *r;
        CHECK_EQ(pthread_join(t[i], &r), 0);
        bad += (uintptr_t)r;
    }
    CHECK_MSG(bad == 0, "%lu words were not zero when claimed or were overwritten by another claim",
              (unsigned long)bad);
    gcbits_next_epoch();
    gcbits_next_epoch();
}

/* The VmFlags line of the mapping that holds addr, from /proc/self/smaps. */
static bool vmflags_of(uintptr_t addr, char *flags, size_t len)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL) return false;
    char line[512];
    bool inside = false, found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = addr >= lo && addr < hi;
        else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(flags, len, "%s", line + 8);
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* TC_DEBUG=hugepages=1 (the default) asks for transparent huge pages on the
 * heap: the kernel records MADV_HUGEPAGE as the "hg" VmFlag whatever the
 * system's THP mode, so this holds on any Linux with smaps. */
TC_TEST(heap_memory_is_advised_for_huge_pages)
{
    init_once();
    void *p = tc_alloc_noscan(64);
    char flags[512];
    if (!vmflags_of((uintptr_t)p, flags, sizeof flags)) {
        printf("(no /proc/self/smaps VmFlags here: skipped) ");
        return;
    }
    CHECK_MSG(strstr(flags, " hg") != NULL, "heap mapping of %p has VmFlags:%s", p, flags);
}

/* Freed pages stay resident until the OS gets them back; reusing them
 * adds nothing (40 pages: address-ordered first fit). */
TC_TEST(resident_bytes_keep_freed_pages)
{
    init_once();
    CHECK(resident_span != NULL);
    uint64_t pf = mheap_prefaulted_chunks(NULL);
    (void)prefaulted_since(&pf);
    uint64_t r = mheap_resident_bytes();
    CHECK(r >= resident_with_span);
    uintptr_t base = resident_span->startaddr;
    mheap_free_span(resident_span);
    CHECK_EQ(mheap_resident_bytes(), r);
    mspan *t = mheap_alloc_span(40, make_spanclass(0, SPAN_NOSCAN), 40 * TC_PAGE_SIZE);
    CHECK(t != NULL && t->startaddr == base);
    r += prefaulted_since(&pf);
    CHECK_EQ(mheap_resident_bytes(), r);
    mheap_free_span(t);
}

/* Allocate 3 MiB objects until the heap's free pages are used up, plus
 * `more` of them (each grows the heap). Returns them for free_large. */
static void **fill_free_pages(size_t *n, size_t more)
{
    pagealloc_counts pc;
    tc_lock(&mheap_.lock);
    pagealloc_counts_read(mheap_.pages, &pc);
    tc_unlock(&mheap_.lock);
    *n = ((pc.total_pages - pc.inuse_pages) * TC_PAGE_SIZE >> 20) / 3 + 1 + more;
    void **v = calloc(*n, sizeof *v);
    CHECK(v != NULL);
    for (size_t i = 0; i < *n; i++) v[i] = tc_alloc_noscan((size_t)3 << 20);
    return v;
}

/* With huge pages, fresh memory is faulted in ahead of need: after the
 * heap grows, the prefault thread grows it one chunk further and populates
 * that chunk, which then counts as resident and comes out of the page
 * allocator unscavenged. Skipped where the kernel lacks
 * MADV_POPULATE_WRITE (before 5.14). */
TC_TEST(fresh_heap_is_faulted_in_a_chunk_ahead)
{
    init_once();
    void *probe = sys_alloc(TC_PAGE_SIZE, NULL);
    CHECK(probe != NULL);
    bool supported = madvise(probe, TC_PAGE_SIZE, MADV_POPULATE_WRITE) == 0;
    sys_free(probe, TC_PAGE_SIZE, NULL);
    if (!supported) {
        printf("(no MADV_POPULATE_WRITE here: skipped) ");
        return;
    }
    /* Use up the free pages earlier tests left, and grow the heap. */
    mheap_prefault_wait_idle();
    uint64_t c0 = mheap_prefaulted_chunks(NULL);
    size_t nbig;
    void **big = fill_free_pages(&nbig, 4);
    mheap_prefault_wait_idle();
    CHECK_MSG(mheap_prefaulted_chunks(NULL) > c0,
              "%llu chunks prefaulted before and after %zu x 3 MiB", (unsigned long long)c0, nbig);
    /* Every page of the chunk it populated last is resident. */
    uintptr_t b;
    (void)mheap_prefaulted_chunks(&b);
    unsigned char vec[PALLOC_CHUNK_BYTES / 4096];
    CHECK(mincore((void *)b, PALLOC_CHUNK_BYTES, vec) == 0);
    size_t resident = 0;
    for (size_t i = 0; i < sizeof vec; i++) resident += vec[i] & 1;
    CHECK_MSG(resident == sizeof vec, "%zu of %zu pages of %#lx resident", resident, sizeof vec,
              (unsigned long)b);
    for (size_t i = 0; i < nbig; i++) free_large(big[i]);
    free(big);
    mheap_check();
}

/* A stop holds the prefault thread off: mheap_prefault_hold(true) returns
 * only once the step in progress (here a grow made to last 20 ms) has
 * ended, and no step starts until the hold ends; then the chunk completes. */
TC_TEST(prefault_thread_is_held_off_for_a_stop)
{
    init_once();
    mheap_prefault_wait_idle();
    size_t nfill;
    void **fill = fill_free_pages(&nfill, 0);
    mheap_prefault_wait_idle();
    uint64_t c0 = mheap_prefaulted_chunks(NULL);
    atomic_store(&mheap_prefault_test_hold_us, 20000);
    void *grow = tc_alloc_noscan((size_t)6 << 20); /* grows: the prefault thread wakes */
    double t0 = tc_test_now();
    while (!mheap_prefault_test_busy() && tc_test_now() - t0 < 10) usleep(100);
    CHECK_MSG(mheap_prefault_test_busy(), "the prefault thread never started");
    mheap_prefault_hold(true);
    CHECK_MSG(!mheap_prefault_test_busy(), "hold returned during a step");
    for (int i = 0; i < 50; i++) {
        usleep(1000);
        CHECK_MSG(!mheap_prefault_test_busy(), "a step started while held (after %d ms)", i);
    }
    CHECK_EQ(mheap_prefaulted_chunks(NULL), c0);
    atomic_store(&mheap_prefault_test_hold_us, 0);
    mheap_prefault_hold(false);
    mheap_prefault_wait_idle();
    CHECK_MSG(mheap_prefaulted_chunks(NULL) == c0 + 1, "%llu chunks after the hold, %llu before",
              (unsigned long long)mheap_prefaulted_chunks(NULL), (unsigned long long)c0);
    free_large(grow);
    for (size_t i = 0; i < nfill; i++) free_large(fill[i]);
    free(fill);
}

/* fork while the prefault thread grows the heap: the child must find the
 * heap lock free and the heap consistent (fork_prepare takes the lock). The
 * thread is made to hold the lock 3 ms after each grow, so most forks land
 * inside that window (without fork_prepare the children hang). */
TC_TEST(fork_while_the_heap_grows_in_the_background)
{
    init_once();
    /* Take up the free pages earlier tests left, so each round grows. */
    mheap_prefault_wait_idle();
    size_t nfill;
    void **fill = fill_free_pages(&nfill, 0);
    atomic_store(&mheap_prefault_test_hold_us, 3000);
    enum { ROUNDS = 20 };
    void *keep[ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        keep[round] = tc_alloc_noscan((size_t)6 << 20); /* grows: the prefault thread wakes */
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            void *p = tc_alloc_noscan((size_t)5 << 20); /* grows the child's heap */
            mheap_check();
            _exit(p != NULL ? 0 : 1);
        }
        int status = 0;
        double t0 = tc_test_now();
        pid_t r;
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && tc_test_now() - t0 < 10) usleep(1000);
        if (r == 0) kill(pid, SIGKILL), waitpid(pid, &status, 0);
        CHECK_MSG(r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "round %d: child %s (status %#x)", round, r == 0 ? "hung" : "failed", status);
    }
    atomic_store(&mheap_prefault_test_hold_us, 0);
    mheap_prefault_wait_idle();
    for (int round = 0; round < ROUNDS; round++) free_large(keep[round]);
    for (size_t i = 0; i < nfill; i++) free_large(fill[i]);
    free(fill);
}

TC_TEST(mspan_check_catches_a_broken_span)
{
    init_once();
    void *p = tc_alloc_noscan(1000);
    mspan *s = mheap_span_of_heap((uintptr_t)p);
    mspan_check(s);
    TC_EXPECT_DEATH((s->alloc_count += 1, mspan_check(s)), "alloc_count");
    TC_EXPECT_DEATH((s->alloc_cache ^= 1, mspan_check(s)), "alloc_cache");
    TC_EXPECT_DEATH((s->nelems += 1, mspan_check(s)), "nelems");
    TC_EXPECT_DEATH((s->kind = SPAN_SCAN, mspan_check(s)), "kind");
    TC_EXPECT_DEATH(
        (atomic_store(&s->sweepgen, atomic_load(&mheap_.sweepgen) + 100), mspan_check(s)),
        "sweepgen");
}

TC_TEST(mcentral_check_catches_a_broken_list)
{
    init_once();
    mcache *c = mcache_current();
    tc_alloc_noscan(2000);
    unsigned spc = make_spanclass(size_to_sizeclass(2000), SPAN_NOSCAN);
    mspan *s = c->alloc[spc];
    mcache_release_all(c);
    mcentral_check(&mheap_.central[spc]);
    TC_EXPECT_DEATH((mheap_.central[spc].partial[0].n += 1, mcentral_check(&mheap_.central[spc])),
                    "spans walked");
    TC_EXPECT_DEATH((s->spanclass += 1, mcentral_check(&mheap_.central[spc])), "class");
}

TC_TEST_MAIN()
