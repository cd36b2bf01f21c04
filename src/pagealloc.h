/*
 * pagealloc.h — the page allocator: which 8 KiB heap pages are free, and
 * which free pages have been returned to the OS (scavenged).
 *
 * Interface contract (owned by pagealloc.c; mheap.c and the scavenger use it):
 *   - Address-ordered first fit over the heap's address ranges.
 *   - The caller serialises every call on one pagealloc (mheap's lock), as in
 *     Go; nothing here takes a lock.
 *   - Memory added by pagealloc_grow starts free and scavenged (Prepared, in
 *     sys.h's terms): allocating it must be followed by sys_used.
 *   - Metadata lives in memory from sys (reserved for the whole address
 *     space, mapped as ranges grow) and is charged to the stat given at
 *     creation; never in the heap it describes.
 */
#ifndef TC_PAGEALLOC_H
#define TC_PAGEALLOC_H

#include "runtime.h"

#define PALLOC_CHUNK_PAGES 512                                 /* pages per bitmap chunk */
#define PALLOC_CHUNK_BYTES (PALLOC_CHUNK_PAGES * TC_PAGE_SIZE) /* 4 MiB */

typedef struct pagealloc pagealloc;

/* A new, empty page allocator. Several may exist (tests make their own). */
pagealloc *pagealloc_new(tc_sysstat *meta_stat);

/* Add [base, base+bytes) to the allocator, free and scavenged. base and bytes
 * are multiples of PALLOC_CHUNK_BYTES; the range must not overlap one added
 * before. */
void pagealloc_grow(pagealloc *pa, uintptr_t base, size_t bytes);

/* Allocate npages contiguous pages at the lowest address that fits. Returns
 * the base address, or 0 when no run is free. *scav receives how many bytes
 * of the run were scavenged (the caller must sys_used them); their scavenged
 * bits are cleared. */
uintptr_t pagealloc_alloc(pagealloc *pa, size_t npages, size_t *scav);

/* Free npages pages at base; they coalesce with free neighbours. Fatal if any
 * of them is already free. */
void pagealloc_free(pagealloc *pa, uintptr_t base, size_t npages);

/* Return up to nbytes of free, unscavenged pages to the OS (sys_unused), the
 * highest addresses first, marking them scavenged. nbytes is rounded up to
 * whole 8 KiB pages (SIZE_MAX: every such page). Returns the bytes released;
 * less than asked only when no more free, unscavenged pages exist. The
 * madvise runs inside the call, i.e. under the caller's lock. */
size_t pagealloc_scavenge(pagealloc *pa, size_t nbytes);

/* The opposite, for memory something made resident again without the
 * allocator (mheap's populating of fresh chunks): clear the scavenged bit of
 * every free page of [base, base+bytes), a range of whole pages inside grown
 * ranges. Returns the bytes whose bit it cleared; pages already in use or
 * unscavenged are left alone. */
size_t pagealloc_unscavenge(pagealloc *pa, uintptr_t base, size_t bytes);

/* ---- per-thread page caches (Go's pageCache, mpagecache.go) -----------------
 * A thread takes every free page of one 64-page-aligned block at once, under
 * the caller's lock (pagealloc_alloc_to_cache), then hands runs of it out
 * lock-free (pagealloc_cache_alloc) until it is empty. While cached, the
 * pages are in use as far as the allocator knows (alloc bits set, counted in
 * inuse_pages) and their scavenged bits live in the cache. Flushing
 * (pagealloc_flush_cache, under the lock) frees what is left. Only the owner
 * thread touches a cache between refill and flush, except that a reader
 * holding the heap lock may load `cache` (relaxed atomics on both sides) to
 * count the pages held. */
#define PAGECACHE_PAGES 64
typedef struct pagecache {
    uintptr_t base; /* first page of the block (64-page aligned); 0 when never filled */
    uint64_t cache; /* 1: page free in the cache. Relaxed atomic loads and stores */
    uint64_t scav;  /* 1: page scavenged (a subset of cache) */
} pagecache;

/* Fill the empty cache c with the free pages of the 64-page block holding the
 * lowest free page. false when no page is free (grow, then try again). */
bool pagealloc_alloc_to_cache(pagealloc *pa, pagecache *c);
/* npages contiguous pages from c, lowest first; 0 if c has no such run.
 * *scav receives the scavenged bytes among them (the caller sys_used's them).
 * Owner thread only, no lock. */
uintptr_t pagealloc_cache_alloc(pagecache *c, size_t npages, size_t *scav);
/* Give the pages left in c back (free, with their scavenged state); c is
 * empty after. Caller's lock. */
void pagealloc_flush_cache(pagealloc *pa, pagecache *c);
/* Whether c holds no page (owner, or a reader with the owner stopped). */
static inline bool pagecache_empty(const pagecache *c)
{
    return __atomic_load_n(&c->cache, __ATOMIC_RELAXED) == 0;
}
/* Pages c holds now (relaxed load; exact for the owner or with it stopped). */
static inline size_t pagecache_pages(const pagecache *c)
{
    return tc_popcount64(__atomic_load_n(&c->cache, __ATOMIC_RELAXED));
}

/* Counters: pages in all grown ranges, pages allocated, free pages that are
 * scavenged. */
typedef struct pagealloc_counts {
    size_t total_pages, inuse_pages, scavenged_pages;
} pagealloc_counts;
void pagealloc_counts_read(const pagealloc *pa, pagealloc_counts *out);

/* Validity checker: walks the bitmaps and summaries and throws at the first
 * inconsistency. O(heap size); for tests and debug builds. */
void pagealloc_check(const pagealloc *pa);

#endif
