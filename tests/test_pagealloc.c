/*
 * test_pagealloc.c — the page allocator: first fit in address order,
 * coalescing, runs across chunk and summary boundaries, separate ranges,
 * exhaustion, double free, scavenged accounting, and a randomised
 * fragmentation test against a shadow bitmap. pagealloc_check runs after
 * every step.
 */
#include <sys/mman.h>

#include "pagealloc.h"
#include "sys.h"
#include "tc_test.h"

#define PG    TC_PAGE_SIZE
#define CHUNK PALLOC_CHUNK_BYTES

static tc_sysstat meta = TC_SYSSTAT_INIT("pagealloc test metadata", TC_SYSCAT_OTHER);
static tc_sysstat heapstat = TC_SYSSTAT_INIT("pagealloc test heap", TC_SYSCAT_OTHER);

/* Address space for a test heap, mapped (Prepared) and chunk-aligned, as
 * mheap would hand it to pagealloc_grow. */
static uintptr_t heap_space(size_t bytes)
{
    void *p = sys_reserve_aligned(NULL, bytes, CHUNK);
    CHECK(p != NULL);
    sys_map(p, bytes, &heapstat);
    return (uintptr_t)p;
}

/* Allocate as mheap does: scavenged bytes become Ready. */
static uintptr_t alloc_pages(pagealloc *pa, size_t n, size_t *scav)
{
    size_t s;
    uintptr_t a = pagealloc_alloc(pa, n, &s);
    if (a != 0)
        sys_used((void *)a, n * PG, s);
    else
        CHECK_EQ(s, 0);
    if (scav) *scav = s;
    pagealloc_check(pa);
    return a;
}

static void free_pages(pagealloc *pa, uintptr_t a, size_t n)
{
    pagealloc_free(pa, a, n);
    pagealloc_check(pa);
}

static pagealloc *new_heap(size_t bytes, uintptr_t *base)
{
    pagealloc *pa = pagealloc_new(&meta);
    *base = heap_space(bytes);
    pagealloc_grow(pa, *base, bytes);
    pagealloc_check(pa);
    return pa;
}

TC_TEST(pagealloc_allocates_lowest_fit_in_address_order)
{
    uintptr_t b;
    pagealloc *pa = new_heap(2 * CHUNK, &b);
    CHECK_EQ(alloc_pages(pa, 1, NULL), b);
    CHECK_EQ(alloc_pages(pa, 1, NULL), b + PG);
    CHECK_EQ(alloc_pages(pa, 1, NULL), b + 2 * PG);
    CHECK_EQ(alloc_pages(pa, 10, NULL), b + 3 * PG);
    free_pages(pa, b + PG, 1);
    /* A hole of one page: 2 pages go past it, 1 page fills it. */
    CHECK_EQ(alloc_pages(pa, 2, NULL), b + 13 * PG);
    CHECK_EQ(alloc_pages(pa, 1, NULL), b + PG);
    CHECK_EQ(alloc_pages(pa, 1, NULL), b + 15 * PG);
    pagealloc_counts c;
    pagealloc_counts_read(pa, &c);
    CHECK_EQ(c.total_pages, 2 * PALLOC_CHUNK_PAGES);
    CHECK_EQ(c.inuse_pages, 16);
}

TC_TEST(pagealloc_coalesces_freed_neighbours)
{
    uintptr_t b;
    pagealloc *pa = new_heap(CHUNK, &b);
    uintptr_t r[5];
    for (int i = 0; i < 5; i++) CHECK_EQ(r[i] = alloc_pages(pa, 16, NULL), b + (size_t)i * 16 * PG);
    /* Fill the rest so the only free space is what we free. */
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES - 80, NULL), b + 80 * PG);
    CHECK_EQ(alloc_pages(pa, 1, NULL), 0);
    free_pages(pa, r[1], 16);
    free_pages(pa, r[3], 16);
    CHECK_EQ(alloc_pages(pa, 17, NULL), 0); /* two 16-page holes, not adjacent */
    free_pages(pa, r[2], 16);               /* now 1..3 is one 48-page run */
    CHECK_EQ(alloc_pages(pa, 48, NULL), r[1]);
    CHECK_EQ(alloc_pages(pa, 1, NULL), 0);
    free_pages(pa, r[1], 48);
    free_pages(pa, r[0], 16);
    free_pages(pa, r[4], 16);
    CHECK_EQ(alloc_pages(pa, 80, NULL), b);
}

TC_TEST(pagealloc_runs_cross_chunk_and_summary_boundaries)
{
    uintptr_t b;
    const size_t chunks = 16; /* 64 MiB: two level-3 entries (32 MiB each) */
    pagealloc *pa = new_heap(chunks * CHUNK, &b);
    CHECK_EQ(alloc_pages(pa, 1, NULL), b);
    CHECK_EQ(alloc_pages(pa, 600, NULL), b + PG); /* crosses into chunk 1 */
    CHECK_EQ(alloc_pages(pa, 1024, NULL), b + 601 * PG);
    /* Up to 1 page short of 32 MiB, then a run across the level-3 boundary. */
    CHECK_EQ(alloc_pages(pa, 4095 - 1625, NULL), b + 1625 * PG);
    CHECK_EQ(alloc_pages(pa, 1500, NULL), b + 4095 * PG);
    /* A free hole that cannot hold a bigger run is skipped. */
    free_pages(pa, b + 601 * PG, 1024);
    CHECK_EQ(alloc_pages(pa, 1025, NULL), b + 5595 * PG);
    CHECK_EQ(alloc_pages(pa, 1024, NULL), b + 601 * PG);
    /* Free everything, then the whole heap is one run. */
    free_pages(pa, b, 1);
    free_pages(pa, b + PG, 600);
    free_pages(pa, b + 601 * PG, 1024);
    free_pages(pa, b + 1625 * PG, 4095 - 1625);
    free_pages(pa, b + 4095 * PG, 1500);
    free_pages(pa, b + 5595 * PG, 1025);
    CHECK_EQ(alloc_pages(pa, chunks * PALLOC_CHUNK_PAGES + 1, NULL), 0);
    CHECK_EQ(alloc_pages(pa, chunks * PALLOC_CHUNK_PAGES, NULL), b);
    CHECK_EQ(alloc_pages(pa, 1, NULL), 0);
    free_pages(pa, b, chunks * PALLOC_CHUNK_PAGES);
}

/* 64 MiB straddling a 16 GiB boundary (a level-0 summary boundary). */
TC_TEST(pagealloc_runs_cross_a_root_summary_boundary)
{
    if (TC_TEST_UNDER_TSAN) {
        printf("(skipped: TSan refuses fixed mappings at the addresses this case needs) ");
        return;
    }
    const size_t bytes = 16 * CHUNK;
    uintptr_t b = 0;
    for (uintptr_t k = 0x1000; k < 0x1100 && b == 0; k++) {
        uintptr_t hint = (k << 34) - bytes / 2;
        void *p = mmap((void *)hint, bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED) continue;
        if ((uintptr_t)p == hint)
            b = hint;
        else
            munmap(p, bytes);
    }
    CHECK_MSG(b != 0, "no free 64 MiB straddling a 16 GiB boundary");
    pagealloc *pa = pagealloc_new(&meta);
    pagealloc_grow(pa, b, bytes);
    pagealloc_check(pa);
    CHECK_EQ(alloc_pages(pa, 4095, NULL), b);
    CHECK_EQ(alloc_pages(pa, 2, NULL), b + 4095 * PG); /* pages on both sides */
    CHECK_EQ(alloc_pages(pa, 8192 - 4097, NULL), b + 4097 * PG);
    CHECK_EQ(alloc_pages(pa, 1, NULL), 0);
    free_pages(pa, b + 4095 * PG, 2);
    free_pages(pa, b, 4095);
    free_pages(pa, b + 4097 * PG, 8192 - 4097);
    CHECK_EQ(alloc_pages(pa, 8192, NULL), b);
}

TC_TEST(pagealloc_separate_ranges_never_join_across_a_gap)
{
    pagealloc *pa = pagealloc_new(&meta);
    uintptr_t b = heap_space(3 * CHUNK);
    pagealloc_grow(pa, b + 2 * CHUNK, CHUNK); /* the higher one first */
    pagealloc_grow(pa, b, CHUNK);
    pagealloc_check(pa);
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES + 1, NULL), 0);
    CHECK_EQ(alloc_pages(pa, 500, NULL), b);
    CHECK_EQ(alloc_pages(pa, 13, NULL), b + 2 * CHUNK);
    CHECK_EQ(alloc_pages(pa, 12, NULL), b + 500 * PG);
    CHECK_EQ(alloc_pages(pa, 1, NULL), b + 2 * CHUNK + 13 * PG);
    /* Filling the gap merges the three into one range. */
    pagealloc_grow(pa, b + CHUNK, CHUNK);
    pagealloc_check(pa);
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES + 2, NULL), 0);
    free_pages(pa, b + 2 * CHUNK, 14);
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES + 2, NULL), b + CHUNK);
    free_pages(pa, b + CHUNK, PALLOC_CHUNK_PAGES + 2);
    free_pages(pa, b + 500 * PG, 12);
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES + 12, NULL), b + 500 * PG);

    /* A range far away (another reservation) is used only when the near ones are full. */
    uintptr_t far = heap_space(CHUNK);
    pagealloc_grow(pa, far, CHUNK);
    pagealloc_check(pa);
    size_t scav;
    uintptr_t a = alloc_pages(pa, PALLOC_CHUNK_PAGES, &scav);
    CHECK(a != 0);
    CHECK_EQ(scav, CHUNK);
    pagealloc_counts c;
    pagealloc_counts_read(pa, &c);
    CHECK_EQ(c.total_pages, 4 * PALLOC_CHUNK_PAGES);
}

TC_TEST(pagealloc_empty_allocator_returns_zero)
{
    pagealloc *pa = pagealloc_new(&meta);
    size_t scav = 123;
    CHECK_EQ(pagealloc_alloc(pa, 1, &scav), 0);
    CHECK_EQ(scav, 0);
    CHECK_EQ(pagealloc_scavenge(pa, 1 << 20), 0);
    pagealloc_check(pa);
}

TC_TEST(pagealloc_double_free_is_fatal)
{
    uintptr_t b;
    pagealloc *pa = new_heap(CHUNK, &b);
    uintptr_t a = alloc_pages(pa, 4, NULL);
    free_pages(pa, a, 2);
    TC_EXPECT_DEATH(pagealloc_free(pa, a, 1), "already free");
    TC_EXPECT_DEATH(pagealloc_free(pa, a + PG, 2), "already free"); /* half of it is free */
    TC_EXPECT_DEATH(pagealloc_free(pa, b + CHUNK, 1), "not inside the heap");
    TC_EXPECT_DEATH(pagealloc_free(pa, a + 3 * PG, 2), "already free");
    TC_EXPECT_DEATH(pagealloc_free(pa, b + CHUNK - PG, 2), "not inside the heap");
    TC_EXPECT_DEATH(pagealloc_free(pa, a, ((size_t)1 << 51) + 1), "not inside the heap");
    TC_EXPECT_DEATH(pagealloc_free(pa, a + 1, 1), "not inside the heap");
    /* The allocator is untouched by the failed frees (they died in children). */
    free_pages(pa, a + 2 * PG, 2);
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES, NULL), b);
}

TC_TEST(pagealloc_grow_rejects_overlap_and_misalignment)
{
    uintptr_t b;
    pagealloc *pa = new_heap(2 * CHUNK, &b);
    TC_EXPECT_DEATH(pagealloc_grow(pa, b + CHUNK, CHUNK), "overlaps");
    TC_EXPECT_DEATH(pagealloc_grow(pa, b + PG, CHUNK), "whole 4 MiB chunks");
    TC_EXPECT_DEATH(pagealloc_alloc(pa, 0, &(size_t){0}), "0 pages");
}

TC_TEST(pagealloc_reports_and_clears_scavenged_pages)
{
    uintptr_t b;
    pagealloc *pa = new_heap(2 * CHUNK, &b);
    pagealloc_counts c;
    pagealloc_counts_read(pa, &c);
    CHECK_EQ(c.scavenged_pages, 2 * PALLOC_CHUNK_PAGES); /* grown memory is Prepared */
    size_t scav;
    CHECK_EQ(alloc_pages(pa, 20, &scav), b);
    CHECK_EQ(scav, 20 * PG);
    pagealloc_counts_read(pa, &c);
    CHECK_EQ(c.scavenged_pages, 2 * PALLOC_CHUNK_PAGES - 20);
    memset((void *)b, 0xAB, 20 * PG);
    free_pages(pa, b, 20);
    CHECK_EQ(alloc_pages(pa, 5, &scav), b); /* reused before any scavenge: not scavenged */
    CHECK_EQ(scav, 0);
    /* Highest first: 3 pages come from the top of the free, unscavenged [5, 20). */
    CHECK_EQ(pagealloc_scavenge(pa, 3 * PG - 100), 3 * PG); /* rounded up to whole pages */
    pagealloc_check(pa);
    for (size_t i = 17 * PG; i < 20 * PG; i++) CHECK_EQ(((unsigned char *)b)[i], 0);
    CHECK_EQ(((unsigned char *)b)[17 * PG - 1], 0xAB);
    CHECK_EQ(alloc_pages(pa, 15, &scav), b + 5 * PG);
    CHECK_EQ(scav, 3 * PG);
    /* Free everything and scavenge it all: only the 20 once-used pages go back. */
    free_pages(pa, b, 20);
    CHECK_EQ(pagealloc_scavenge(pa, SIZE_MAX), 20 * PG);
    pagealloc_check(pa);
    CHECK_EQ(pagealloc_scavenge(pa, SIZE_MAX), 0);
    for (size_t i = 0; i < 20 * PG; i++) CHECK_EQ(((unsigned char *)b)[i], 0);
    pagealloc_counts_read(pa, &c);
    CHECK_EQ(c.scavenged_pages, 2 * PALLOC_CHUNK_PAGES);
    CHECK_EQ(c.inuse_pages, 0);
    CHECK_EQ(alloc_pages(pa, 2 * PALLOC_CHUNK_PAGES, &scav), b);
    CHECK_EQ(scav, 2 * CHUNK);
}

/* Memory made resident behind the allocator's back (mheap populates fresh
 * chunks) loses its scavenged bits, on free pages only; the scavenger can
 * take it back, and allocating it reports nothing to sys_used. */
TC_TEST(pagealloc_unscavenges_free_pages_only)
{
    uintptr_t b;
    pagealloc *pa = new_heap(2 * CHUNK, &b);
    size_t scav;
    CHECK_EQ(alloc_pages(pa, 10, &scav), b); /* [0, 10) in use */
    CHECK_EQ(pagealloc_unscavenge(pa, b, CHUNK), (PALLOC_CHUNK_PAGES - 10) * PG);
    pagealloc_check(pa);
    CHECK_EQ(pagealloc_unscavenge(pa, b, CHUNK), 0); /* twice: nothing left */
    pagealloc_counts c;
    pagealloc_counts_read(pa, &c);
    CHECK_EQ(c.scavenged_pages, PALLOC_CHUNK_PAGES);
    CHECK_EQ(alloc_pages(pa, 20, &scav), b + 10 * PG);
    CHECK_EQ(scav, 0);
    /* The second chunk kept its bits: a run across the boundary reports them. */
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES, &scav), b + 30 * PG);
    CHECK_EQ(scav, 30 * PG);
    /* The scavenger finds the unscavenged free pages again (scav_top). */
    free_pages(pa, b + 10 * PG, 20);
    CHECK_EQ(pagealloc_scavenge(pa, SIZE_MAX), 20 * PG); /* [10, 30): the rest is in use */
    pagealloc_check(pa);
}

TC_TEST(pagealloc_scavenges_highest_addresses_first_across_ranges)
{
    pagealloc *pa = pagealloc_new(&meta);
    uintptr_t b = heap_space(4 * CHUNK);
    pagealloc_grow(pa, b, CHUNK);
    pagealloc_grow(pa, b + 3 * CHUNK, CHUNK);
    size_t scav;
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES, &scav), b);
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES, &scav), b + 3 * CHUNK);
    free_pages(pa, b + 10 * PG, 100);
    free_pages(pa, b + 3 * CHUNK + 200 * PG, 50);
    free_pages(pa, b + 3 * CHUNK + 400 * PG, 30);
    /* 40 pages: the 30 at the top, then the highest 10 of the 50. */
    CHECK_EQ(pagealloc_scavenge(pa, 40 * PG), 40 * PG);
    pagealloc_check(pa);
    CHECK_EQ(alloc_pages(pa, 100, &scav), b + 10 * PG);
    CHECK_EQ(scav, 0);
    CHECK_EQ(alloc_pages(pa, 50, &scav), b + 3 * CHUNK + 200 * PG);
    CHECK_EQ(scav, 10 * PG);
    CHECK_EQ(alloc_pages(pa, 30, &scav), b + 3 * CHUNK + 400 * PG);
    CHECK_EQ(scav, 30 * PG);
}

/* ---- randomised fragmentation against a shadow bitmap -------------------- */

enum { SH_FREE = 0, SH_USED = 1, SH_SCAV = 2, SH_HOLE = 3 }; /* SH_SCAV: free and scavenged */

typedef struct live_run {
    size_t page, n;
} live_run;

/* Lowest page index starting n free (free or scavenged) shadow pages, or -1. */
static long shadow_find(const unsigned char *sh, size_t npages, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < npages; i++) {
        run = (sh[i] == SH_FREE || sh[i] == SH_SCAV) ? run + 1 : 0;
        if (run == n) return (long)(i + 1 - n);
    }
    return -1;
}

TC_TEST(pagealloc_random_fragmentation_matches_shadow_first_fit)
{
    uint64_t rng = tc_test_seed();
    /* Three ranges with two holes of address space that was never grown. */
    const size_t npages = 24 * PALLOC_CHUNK_PAGES;
    uintptr_t b = heap_space(npages * PG);
    static unsigned char sh[24 * PALLOC_CHUNK_PAGES];
    memset(sh, SH_HOLE, sizeof sh);
    pagealloc *pa = pagealloc_new(&meta);
    const size_t grow[3][2] = {{0, 9}, {10, 17}, {20, 24}}; /* in chunks: [from, to) */
    for (int g = 0; g < 3; g++) {
        pagealloc_grow(pa, b + grow[g][0] * CHUNK, (grow[g][1] - grow[g][0]) * CHUNK);
        memset(sh + grow[g][0] * PALLOC_CHUNK_PAGES, SH_SCAV,
               (grow[g][1] - grow[g][0]) * PALLOC_CHUNK_PAGES);
    }
    pagealloc_check(pa);

    static live_run live[8192];
    size_t nlive = 0, ops = 0, allocs = 0, fails = 0, scavs = 0;
    double deadline = tc_test_now() + (tc_test_soak() ? 30.0 : 1.5);
    while (tc_test_now() < deadline) {
        uint64_t r = tc_rand(&rng);
        unsigned what = (unsigned)(r % 100);
        if (what < 55 && nlive < 8192) {
            size_t n;
            uint64_t k = (r >> 8) % 100;
            if (k < 60)
                n = 1 + (r >> 16) % 8;
            else if (k < 90)
                n = 1 + (r >> 16) % 128;
            else if (k < 98)
                n = 1 + (r >> 16) % 1200;
            else
                n = 1 + (r >> 16) % 5000;
            long want = shadow_find(sh, npages, n);
            size_t scav;
            uintptr_t a = pagealloc_alloc(pa, n, &scav);
            if (want < 0) {
                CHECK_MSG(a == 0, "alloc of %zu pages: got %#lx, shadow has no fit", n, a);
                fails++;
            } else {
                CHECK_MSG(a == b + (size_t)want * PG,
                          "alloc of %zu pages: got page %ld, lowest fit is page %ld", n,
                          a ? (long)((a - b) / PG) : -1L, want);
                size_t wscav = 0;
                for (size_t i = (size_t)want; i < (size_t)want + n; i++) {
                    CHECK(sh[i] == SH_FREE || sh[i] == SH_SCAV); /* no overlap */
                    wscav += sh[i] == SH_SCAV;
                    sh[i] = SH_USED;
                }
                CHECK_EQ(scav, wscav * PG);
                sys_used((void *)a, n * PG, scav);
                live[nlive++] = (live_run){(size_t)want, n};
                allocs++;
            }
        } else if (what < 97 && nlive > 0) {
            size_t i = (size_t)((r >> 8) % nlive);
            live_run lr = live[i];
            live[i] = live[--nlive];
            pagealloc_free(pa, b + lr.page * PG, lr.n);
            memset(sh + lr.page, SH_FREE, lr.n);
        } else {
            /* Scavenge: the highest free, unscavenged pages go first. */
            size_t want = (size_t)((r >> 8) % 300), got = 0;
            size_t released = pagealloc_scavenge(pa, want * PG);
            for (size_t i = npages; i-- > 0 && got < want;)
                if (sh[i] == SH_FREE) sh[i] = SH_SCAV, got++;
            CHECK_EQ(released, got * PG);
            scavs++;
        }
        ops++;
        if (ops % 64 == 0) pagealloc_check(pa);
        if (ops % 4096 == 0) {
            pagealloc_counts c;
            pagealloc_counts_read(pa, &c);
            size_t used = 0, sc = 0, tot = 0;
            for (size_t i = 0; i < npages; i++) {
                used += sh[i] == SH_USED;
                sc += sh[i] == SH_SCAV;
                tot += sh[i] != SH_HOLE;
            }
            CHECK_EQ(c.inuse_pages, used);
            CHECK_EQ(c.scavenged_pages, sc);
            CHECK_EQ(c.total_pages, tot);
        }
    }
    pagealloc_check(pa);
    /* Free everything: the ranges coalesce back into whole runs. */
    while (nlive > 0) {
        nlive--;
        pagealloc_free(pa, b + live[nlive].page * PG, live[nlive].n);
    }
    pagealloc_check(pa);
    size_t scav;
    CHECK_EQ(pagealloc_alloc(pa, 9 * PALLOC_CHUNK_PAGES, &scav), b);
    CHECK_EQ(pagealloc_alloc(pa, 7 * PALLOC_CHUNK_PAGES, &scav), b + 10 * CHUNK);
    CHECK_EQ(pagealloc_alloc(pa, 4 * PALLOC_CHUNK_PAGES + 1, &scav), 0);
    CHECK_EQ(pagealloc_alloc(pa, 4 * PALLOC_CHUNK_PAGES, &scav), b + 20 * CHUNK);
    pagealloc_check(pa);
    printf("  %zu ops: %zu allocs, %zu without a fit, %zu scavenges\n", ops, allocs, fails, scavs);
    CHECK(allocs > 1000 && fails > 0);
}

/* Holes of every length 1..80 at many offsets inside an otherwise full chunk,
 * with a shorter hole below each: the chunk's summary and bitmap search must
 * find the exact one, across 64-bit word boundaries and inside single words. */
TC_TEST(pagealloc_finds_holes_of_every_length_and_offset)
{
    uintptr_t b;
    pagealloc *pa = new_heap(CHUNK, &b);
    CHECK_EQ(alloc_pages(pa, PALLOC_CHUNK_PAGES, NULL), b);
    for (size_t k = 2; k <= 80; k++) {
        for (size_t off = k + 1; off + k <= PALLOC_CHUNK_PAGES; off += 7 + k % 5) {
            size_t low = (off * 31 + k) % (off - k + 1); /* shorter hole [low, low+k-1) */
            if (low + k - 1 >= off) continue;
            free_pages(pa, b + off * PG, k);
            free_pages(pa, b + low * PG, k - 1);
            CHECK_EQ(alloc_pages(pa, k + 1, NULL), 0);
            CHECK_EQ(alloc_pages(pa, k, NULL), b + off * PG);
            CHECK_EQ(alloc_pages(pa, k - 1, NULL), b + low * PG);
        }
    }
    /* The longest run is one page longer than the best so far and lies
     * between the only two used bits of one word (pages 84 and 107), with
     * shorter free runs on both sides of them. */
    free_pages(pa, b + 10 * PG, 21);
    free_pages(pa, b + 64 * PG, 20);
    free_pages(pa, b + 85 * PG, 22);
    free_pages(pa, b + 108 * PG, 20);
    CHECK_EQ(alloc_pages(pa, 23, NULL), 0);
    CHECK_EQ(alloc_pages(pa, 22, NULL), b + 85 * PG);
}

/* The page counts and the sweeper's counts rest on tc_popcount64. */
TC_TEST(popcount_counts_the_bits_of_any_word)
{
    CHECK_EQ(tc_popcount64(0), 0);
    CHECK_EQ(tc_popcount64(~(uint64_t)0), 64);
    CHECK_EQ(tc_popcount64((uint64_t)1 << 63), 1);
    uint64_t rng = tc_test_seed();
    for (int i = 0; i < 100000; i++) {
        uint64_t x = tc_rand(&rng) & tc_rand(&rng), n = 0;
        for (uint64_t y = x; y != 0; y &= y - 1) n++;
        CHECK_MSG(tc_popcount64(x) == n, "%#llx: %u, not %llu", (unsigned long long)x,
                  tc_popcount64(x), (unsigned long long)n);
    }
}

TC_TEST_MAIN()
