/*
 * mcache.c — per-thread caches of spans: the state behind the allocation
 * fast path.
 *
 * Owns: one mcache per allocating thread (Go keeps one per P), holding for
 * every span class the span that class allocates from, and the tiny
 * allocator's current block. The calling thread's cache is reached through
 * the thread-local pointer mcache_tls, created on the thread's first
 * allocation (which attaches the thread if it is not: only threads the
 * collector can stop may allocate) and released when the thread detaches
 * (tc_thread_detach, or the thread's exit). The collector releases every
 * cache's spans, with the world stopped, at the start of each cycle.
 *
 * Invariants:
 *   - alloc[spc] is &mcache_empty_span or a span of class spc that no other
 *     cache holds and that is on no mcentral list, with sweepgen sg + 3
 *     (or sg + 1 after a new cycle began);
 *   - mcache_empty_span has nelems 0 and alloc_cache 0, so the fast path
 *     falls into the refill without testing for "no span";
 *   - tiny is 0 or a 16-byte block of the tiny class's noscan span, its bytes
 *     from tiny_offset on never handed out (so still zero).
 *
 * Concurrency: only the owning thread touches its cache; the fast path takes
 * no lock and makes no atomic read-modify-write. The cache struct comes from
 * mheap_.cachealloc and sits on mheap_.all_mcaches, both under the heap lock.
 *
 * Page cache: each mcache also holds a 64-page block of free pages and a
 * few mspan structs (mheap.c's page-cache path); mcache_release_all gives
 * them back with mheap_flush_page_cache.
 *
 * Statistics, as in Go: allocations are counted per span when it leaves the
 * cache (refill, release) as alloc_count - alloc_count_before_cache, so the
 * fast path counts nothing. A thread's in-flight counts reach the global
 * ones at its next refill of that class, at release and at thread exit;
 * tc_read_stats adds the calling thread's own.
 */
#include <pthread.h>

#include "debug.h"
#include "init.h"
#include "mheap.h"
#include "gc.h"
#include "threads.h"

#include <errno.h>

mspan mcache_empty_span = {.nelems = 0, .alloc_cache = 0};

__thread mcache *mcache_tls TC_TLS_IE;
__thread mcache *mcache_fast_tls TC_TLS_IE;

static void flush_span_counts(mspan *s)
{
    uint32_t n = s->alloc_count - s->alloc_count_before_cache;
    if (n != 0) {
        atomic_fetch_add_explicit(&mheap_.nmalloc[spanclass_sizeclass(s->spanclass)], n,
                                  memory_order_relaxed);
        s->alloc_count_before_cache = s->alloc_count;
    }
}

mspan *mcache_refill(mcache *c, spanclass spc)
{
    mspan *s = c->alloc[spc], *old = NULL;
    if (s != &mcache_empty_span) {
        if (tc_unlikely(s->alloc_count != s->nelems))
            tc_throw("mcache_refill: span %#lx of class %u has %u of %u slots taken",
                     (unsigned long)s->startaddr, (unsigned)spc, s->alloc_count, s->nelems);
        flush_span_counts(s);
        old = s;
        c->alloc[spc] = &mcache_empty_span;
    }
    s = mcentral_refill_span(&mheap_.central[spc], old);
    if (s == NULL) return NULL;
    if (tc_unlikely(s->alloc_count == s->nelems))
        tc_throw("mcache_refill: mcentral gave full span %#lx of class %u",
                 (unsigned long)s->startaddr, (unsigned)spc);
    c->alloc[spc] = s;
    /* heap_live counts the whole span as allocated while it is cached (Go
     * does the same); the unused part is given back when it leaves. */
    atomic_fetch_add_explicit(&gc_heap_live, (uint64_t)(s->nelems - s->alloc_count) * s->elemsize,
                              memory_order_relaxed);
    return s;
}

void mcache_release_all(mcache *c)
{
    for (unsigned spc = 0; spc < TC_NUM_SPAN_CLASSES; spc++) {
        mspan *s = c->alloc[spc];
        if (s == &mcache_empty_span) continue;
        flush_span_counts(s);
        atomic_fetch_sub_explicit(&gc_heap_live,
                                  (uint64_t)(s->nelems - s->alloc_count) * s->elemsize,
                                  memory_order_relaxed);
        mcentral_uncache_span(&mheap_.central[spc], s);
        c->alloc[spc] = &mcache_empty_span;
    }
    c->tiny = 0;
    c->tiny_offset = 0;
    if (c->tiny_allocs) {
        atomic_fetch_add_explicit(&mheap_.tiny_allocs, c->tiny_allocs, memory_order_relaxed);
        c->tiny_allocs = 0;
    }
    /* The page cache and span stash too: a detaching thread (through
     * mcache_thread_exit) and a collection return every page they hold. */
    mheap_flush_page_cache(c);
}

void mcache_pending_counts(const mcache *c, uint64_t *nmalloc, uint64_t *tiny)
{
    for (unsigned spc = 0; spc < TC_NUM_SPAN_CLASSES; spc++) {
        const mspan *s = c->alloc[spc];
        if (s == &mcache_empty_span) continue;
        nmalloc[spanclass_sizeclass(spc)] += s->alloc_count - s->alloc_count_before_cache;
    }
    *tiny += c->tiny_allocs;
}

/* ---- creation and thread exit --------------------------------------------------- */

void mcache_thread_exit(void)
{
    mcache *c = mcache_tls;
    if (c == NULL) return;
    critical_enter();
    mcache_release_all(c);
    /* Bytes this thread allocated black still count as marked this cycle. */
    atomic_fetch_add_explicit(&gc_exited_marked, c->black_bytes, memory_order_relaxed);
    c->black_bytes = 0; /* with mheap_flush_page_cache: its pages go back */
    TC_ASSERT(pagecache_pages(&c->pcache) == 0 && c->nspanstash == 0);
    tc_lock(&mheap_.lock);
    mcache **pp = &mheap_.all_mcaches;
    while (*pp != c) pp = &(*pp)->next_all;
    *pp = c->next_all;
    tc_fixalloc_free(&mheap_.cachealloc, c);
    tc_unlock(&mheap_.lock);
    mcache_tls = NULL;
    mcache_fast_tls = NULL;
    critical_leave();
}

TC_NOINLINE mcache *mcache_current(void)
{
    mcache *c = mcache_tls;
    if (tc_likely(c != NULL)) return c;
    if (tc_unlikely(!init_done() || !mheap_.initialised))
        tc_throw("allocation from the collected heap before tc_init");
    if (tc_unlikely(tc_critical_depth != 0))
        tc_throw("mcache_current: first allocation of a thread inside a critical section");
    /* Only attached threads may hold a cache: a collection must be able to
     * stop every thread that allocates. */
    if (thread_self() == NULL && tc_thread_attach() != 0)
        tc_throw("allocation from a thread that cannot be attached (errno %d)", errno);
    tc_lock(&mheap_.lock);
    c = tc_fixalloc_alloc(&mheap_.cachealloc);
    if (c == NULL) tc_throw("mcache: out of memory for a thread cache");
    for (unsigned spc = 0; spc < TC_NUM_SPAN_CLASSES; spc++) c->alloc[spc] = &mcache_empty_span;
    c->tiny = 0;
    c->tiny_offset = 0;
    c->tiny_allocs = 0;
    c->pcache = (pagecache){0, 0, 0};
    c->nspanstash = 0;
    c->next_all = mheap_.all_mcaches;
    mheap_.all_mcaches = c;
    tc_unlock(&mheap_.lock);
    mcache_tls = c;
    /* gcstress is set at tc_init, before any thread has a cache. */
    mcache_fast_tls = tc_debug.gcstress ? NULL : c;
    return c;
}
