/*
 * bench/pagealloc.c — does the page allocator's search stay fast as the heap
 * grows? Builds a 64 MiB and a 16 GiB heap (address space only: reserved and
 * mapped, never touched), fragments each by allocating every page as random
 * 1..64-page runs and then freeing a random half of the runs, and times
 * pagealloc_alloc + pagealloc_free of 1, 8, 64 and 512-page runs. A fresh
 * 64 MiB range is then grown above each fragmented heap: random halves leave
 * no free 512-page run, so those come from the tail after a search that
 * passes the whole fragmented heap — the case the summaries exist for.
 *
 * Each timed op allocates a batch of runs and then frees them in reverse, so
 * the heap's fragmentation stays as built; ns/op is (alloc + free) per run.
 *
 * Usage: bench_pagealloc [seed]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pagealloc.h"
#include "sys.h"

static tc_sysstat meta = TC_SYSSTAT_INIT("bench pagealloc metadata", TC_SYSCAT_OTHER);
static tc_sysstat heapstat = TC_SYSSTAT_INIT("bench pagealloc heap", TC_SYSCAT_OTHER);
static tc_sysstat benchstat = TC_SYSSTAT_INIT("bench pagealloc run list", TC_SYSCAT_OTHER);

static uint64_t rng;
static uint64_t next_rand(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define TAIL ((size_t)64 << 20)

typedef struct run {
    uintptr_t addr;
    uint32_t n;
} run;

static pagealloc *build_heap(size_t bytes, double *build_s, size_t *free_pages)
{
    pagealloc *pa = pagealloc_new(&meta);
    void *base = sys_reserve_aligned(NULL, bytes + TAIL, PALLOC_CHUNK_BYTES);
    if (base == NULL) {
        fprintf(stderr, "cannot reserve %zu bytes\n", bytes);
        exit(1);
    }
    sys_map(base, bytes + TAIL, &heapstat);
    double t0 = now();
    pagealloc_grow(pa, (uintptr_t)base, bytes);
    size_t npages = bytes / TC_PAGE_SIZE, nruns = 0;
    run *runs = sys_alloc(tc_align_up(npages * sizeof(run), sys_page_size()), &benchstat);
    size_t scav;
    for (;;) {
        uint32_t n = 1 + (uint32_t)(next_rand() % 64);
        uintptr_t a = pagealloc_alloc(pa, n, &scav);
        if (a == 0) {
            if (n == 1) break;
            continue; /* the tail: try smaller runs until one page fails */
        }
        runs[nruns++] = (run){a, n};
    }
    /* Free a random half of the runs. */
    size_t freed = 0;
    for (size_t i = 0; i < nruns; i++) {
        if (next_rand() & 1) {
            pagealloc_free(pa, runs[i].addr, runs[i].n);
            freed += runs[i].n;
        }
    }
    /* A fresh, unfragmented tail above: runs that fit nowhere in the
     * fragmented part come from here, after a search past all of it. */
    pagealloc_grow(pa, (uintptr_t)base + bytes, TAIL);
    *build_s = now() - t0;
    *free_pages = freed;
    sys_free(runs, tc_align_up(npages * sizeof(run), sys_page_size()), &benchstat);
    return pa;
}

#define BATCH 64

/* ns per alloc+free of n-page runs. */
static double time_op(pagealloc *pa, size_t n, size_t iters)
{
    uintptr_t got[BATCH];
    size_t scav, done = 0;
    double t0 = now();
    while (done < iters) {
        int k = 0;
        for (; k < BATCH; k++) {
            got[k] = pagealloc_alloc(pa, n, &scav);
            if (got[k] == 0) break;
        }
        if (k == 0) {
            fprintf(stderr, "no %zu-page run free\n", n);
            exit(1);
        }
        for (int j = k; j-- > 0;) pagealloc_free(pa, got[j], n);
        done += (size_t)k;
    }
    return (now() - t0) * 1e9 / (double)done;
}

/* ns per allocation of n-page runs, frees untimed: from the allocator
 * directly (cached = 0), or through a page cache refilled when it runs dry
 * (cached = 1, what mheap does for spans under 16 pages). */
static double time_alloc(pagealloc *pa, size_t n, size_t iters, int cached)
{
    uintptr_t got[BATCH];
    size_t scav, done = 0;
    double t = 0;
    pagecache pc = {0, 0, 0};
    while (done < iters) {
        double t0 = now();
        int k = 0;
        for (; k < BATCH; k++) {
            if (!cached) {
                got[k] = pagealloc_alloc(pa, n, &scav);
            } else {
                /* as mheap does: refill only when empty; a cache with pages
                 * but no run of n sends the request to the allocator */
                got[k] = pagealloc_cache_alloc(&pc, n, &scav);
                if (got[k] == 0 && pc.cache == 0 && pagealloc_alloc_to_cache(pa, &pc))
                    got[k] = pagealloc_cache_alloc(&pc, n, &scav);
                if (got[k] == 0) got[k] = pagealloc_alloc(pa, n, &scav);
            }
            if (got[k] == 0) break;
        }
        t += now() - t0;
        if (k == 0) {
            fprintf(stderr, "no %zu-page run free\n", n);
            exit(1);
        }
        for (int j = k; j-- > 0;) pagealloc_free(pa, got[j], n);
        done += (size_t)k;
    }
    pagealloc_flush_cache(pa, &pc);
    return t * 1e9 / (double)done;
}

int main(int argc, char **argv)
{
    rng = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x9E3779B97F4A7C15ULL;
    if (rng == 0) rng = 1;
    const size_t sizes[2] = {(size_t)64 << 20, (size_t)16 << 30};
    const char *names[2] = {"64 MiB", "16 GiB"};
    const size_t npg[4] = {1, 8, 64, 512};
    double ns[2][4], al[2][2][2]; /* [heap][1 or 8 pages][direct, cached] */
    for (int h = 0; h < 2; h++) {
        double build_s;
        size_t freep;
        uint64_t meta0 = tc_sysstat_read(&meta);
        pagealloc *pa = build_heap(sizes[h], &build_s, &freep);
        printf("%s heap (+64 MiB fresh tail): %zu pages, %zu free after fragmenting "
               "(built in %.2f s), allocator metadata %.1f KiB\n",
               names[h], sizes[h] / TC_PAGE_SIZE, freep, build_s,
               (double)(tc_sysstat_read(&meta) - meta0) / 1024.0);
        pagealloc_check(pa);
        for (int i = 0; i < 4; i++) {
            time_op(pa, npg[i], 20000); /* warm */
            double best = 1e30;
            for (int rep = 0; rep < 5; rep++) {
                double t = time_op(pa, npg[i], 200000);
                if (t < best) best = t;
            }
            ns[h][i] = best;
        }
        for (int i = 0; i < 2; i++)
            for (int cached = 0; cached < 2; cached++) {
                double best = 1e30;
                for (int rep = 0; rep < 5; rep++) {
                    double t = time_alloc(pa, i ? 8 : 1, 200000, cached);
                    if (t < best) best = t;
                }
                al[h][i][cached] = best;
            }
        pagealloc_check(pa);
    }
    printf("\nalloc+free, ns per op (best of 5 x 200000), fragmented heap\n");
    printf("%-10s %10s %10s %10s %10s\n", "heap", "1 page", "8 pages", "64 pages", "512 pages");
    for (int h = 0; h < 2; h++)
        printf("%-10s %10.1f %10.1f %10.1f %10.1f\n", names[h], ns[h][0], ns[h][1], ns[h][2],
               ns[h][3]);
    printf("\nalloc only (frees untimed), ns per op (best of 5 x 200000): the allocator vs a "
           "page cache\n");
    printf("%-10s %12s %12s %12s %12s\n", "heap", "1 p direct", "1 p cached", "8 p direct",
           "8 p cached");
    for (int h = 0; h < 2; h++)
        printf("%-10s %12.1f %12.1f %12.1f %12.1f\n", names[h], al[h][0][0], al[h][0][1],
               al[h][1][0], al[h][1][1]);
    return 0;
}
