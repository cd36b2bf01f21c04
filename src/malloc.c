/*
 * malloc.c — the allocation API: tc_new, tc_new_array, tc_alloc_noscan,
 * tc_alloc_conservative, and the heap's part of tc_read_stats.
 *
 * Owns no state of its own: it drives the calling thread's mcache (fast
 * path), its mcentrals and the heap (slow paths), and heapbits.c.
 *
 * The paths (Go's mallocgc, split as Go 1.24 splits it):
 *   - tiny: noscan and < 16 bytes, packed into the cache's current 16-byte
 *     block at 8/4/2-byte alignment; a miss takes a new block;
 *   - small: up to 32 KiB, a slot of the size class from the cache's span:
 *     take_cached_slot (count-trailing-zeros on alloc_cache), else
 *     next_free_slow (next word of alloc bits, else refill from mcentral);
 *   - large: its own span straight from the heap, put on its mcentral's full
 *     list so that the sweeper will find it.
 * Scan objects above 512 bytes take a 16-byte type header (heapbits.c).
 * Sizes of 17 and more are rounded up to a multiple of 16 before the class
 * lookup, so every object of 16 bytes or more is 16-byte aligned (the one
 * class that is not a multiple of 16, 24 bytes, then serves nothing).
 *
 * Invariants:
 *   - every byte handed out is zero: a cache takes a span only after
 *     mspan_zero_free_slots has cleared its free slots (when needzero says
 *     they may hold junk), so no slot is cleared one by one here; memory
 *     fresh from the OS (needzero 0) is not cleared at all;
 *   - publication: the slot is zeroed and its layout recorded, then
 *     freeindex_for_scan (or, large, freeindex_for_scan and large_type) is
 *     stored with release, and only then is the pointer returned. A lock-free
 *     reader that acquires freeindex_for_scan and sees the slot allocated
 *     also sees its zeroed words and its heap bits.
 *
 * Each entry point has a fast path (tc_alloc_noscan and tc_alloc_conservative
 * up to 1 KiB, tc_new of a type whose bits fit the span bitmap) that only
 * takes a slot named by alloc_cache and is a leaf; every other case, and
 * every refill, assist and collection trigger, is the general path's.
 *
 * Concurrency: both paths run inside a runtime critical section (two
 * thread-local counter updates) so that a stop never finds a thread half-way
 * through taking a slot; it takes no lock and makes no atomic
 * read-modify-write. Large objects are zeroed outside the critical section:
 * until freeindex_for_scan is 1 their span holds no allocated object.
 */
#include <errno.h>
#include <string.h>

#include "debug.h"
#include "gc.h"
#include "mark.h"
#include "mheap.h"
#include "sweep.h"
#include "pagealloc.h"
#include "stats.h"
#include "threads.h"
#include "types.h"

_Static_assert(TC_NUM_SIZE_CLASSES == TC_STATS_SIZE_CLASSES,
               "tricolor.h's TC_STATS_SIZE_CLASSES must match the size-class table");
_Static_assert(TC_TINY_SIZE == 16, "the tiny allocator packs 16-byte blocks");
_Static_assert(TC_SMALL_SIZE_MAX % 16 == 0, "the fast path rounds to 16 within size_to_class8");

/* Larger requests cannot be satisfied by a 48-bit address space. */
#define MAX_ALLOC ((size_t)1 << 46)

/* ---- taking a slot -------------------------------------------------------------- */

/* The calling thread's cache. Called outside critical sections: the first
 * allocation of a thread may attach it. */
TC_INLINE mcache *get_cache(void)
{
    mcache *c = mcache_tls;
    if (tc_unlikely(c == NULL)) c = mcache_current();
    return c;
}

/* Set by the slow paths (a refill, a large span) inside the critical
 * section, with the bytes the thread just took on; after leaving the
 * section the allocation pays its mark assist and checks whether to
 * collect. */
static __thread bool after_slow TC_TLS_IE;
static __thread uint64_t after_slow_bytes TC_TLS_IE;

static TC_NOINLINE void malloc_after_slow(void)
{
    after_slow = false;
    uint64_t bytes = after_slow_bytes;
    after_slow_bytes = 0;
    if (tc_write_barrier) gc_assist(bytes);
    if (tc_debug.gcstress) gc_stress_tick();
    gc_maybe_trigger();
}

/* The end of every allocation on the general path: the one place a thread
 * may collect. */
TC_INLINE void malloc_done(void)
{
    if (tc_unlikely(after_slow | (tc_debug.gcstress != 0))) malloc_after_slow();
}

/* Take the free slot that s's nonzero alloc_cache names. Every set bit of
 * the cache is a free slot below nelems (mheap.h), so nothing else is
 * checked: an empty cache is the caller's slow path. */
TC_INLINE uintptr_t take_cached_slot(mspan *s, uint64_t cache)
{
    uint32_t bit = (uint32_t)__builtin_ctzll(cache);
    uint32_t idx = s->freeindex + bit;
    s->alloc_cache = (cache >> bit) >> 1;
    s->freeindex = idx + 1;
    s->alloc_count++;
    return s->startaddr + (uintptr_t)idx * s->elemsize;
}

/* The slow path: the next word of alloc bits, else a refill. 0 on OOM. */
static TC_NOINLINE uintptr_t next_free_slow(mcache *c, spanclass spc, mspan **sp)
{
    mspan *s = c->alloc[spc];
    uint32_t i = mspan_next_free_index(s);
    if (i == s->nelems) {
        after_slow = true;
        uint64_t t0 = gc_slow_timed() ? tc_mono_ns() : 0;
        thread_slow_path("refill");
        s = mcache_refill(c, spc);
        thread_slow_path(NULL);
        if (t0 != 0) gc_slow_note(GC_SLOW_REFILL, t0);
        if (s == NULL) return 0;
        after_slow_bytes += (uint64_t)(s->nelems - s->alloc_count) * s->elemsize;
        i = mspan_next_free_index(s);
        if (tc_unlikely(i == s->nelems))
            tc_throw("malloc: refilled span %#lx of class %u has no free slot",
                     (unsigned long)s->startaddr, (unsigned)spc);
    }
    s->alloc_count++;
    *sp = s;
    return s->startaddr + (uintptr_t)i * s->elemsize;
}

/* How a small object's layout is recorded (a constant at each call). */
enum { LAYOUT_NONE, LAYOUT_BITS, LAYOUT_HEADER };

/* Make the slot x just taken from s into an object: allocated black while
 * the collector marks, its layout recorded, published. Slots come zeroed
 * (the span was cleared when the cache took it). The general path passes
 * the type and count; the fast path (fast: one object, in-span bits) passes
 * the type's precomputed bits instead. Returns the user address (after the
 * header, if any). */
TC_INLINE uintptr_t finish_slot(mcache *c, mspan *s, uintptr_t x, int layout, const tc_type *t,
                                size_t n, uint64_t bits, bool fast, bool marking)
{
    /* Before publication, so a marker that sees the slot allocated also
     * sees it marked. The fast path came here only with the span's black
     * range open (or the barrier off): no call, so no stack frame. */
    if (tc_unlikely(marking)) {
        if (fast)
            mark_black_extend(s, s->freeindex - 1, c);
        else
            mark_new_slot(s, s->freeindex - 1, c);
    }
    if (layout == LAYOUT_BITS) {
        if (!fast)
            heapbits_set_small(s, x, t, n);
        else if (bits != s->elem_wordmask || !s->heapbits_ones) /* else set at the refill */
            heapbits_write_small(s, s->freeindex - 1, bits);
    } else if (layout == LAYOUT_HEADER) {
        x = heapbits_set_type(s, x, t, n); /* writes the header, returns x + 16 */
    }
    atomic_store_explicit(&s->freeindex_for_scan, s->freeindex, memory_order_release);
    return x;
}

/* A slot of the size class for size, zeroed, its layout recorded,
 * published: the general path. Returns the user address, 0 on OOM. */
TC_INLINE uintptr_t malloc_small(mcache *c, size_t size, unsigned kind, int layout,
                                 const tc_type *t, size_t n)
{
    spanclass spc = make_spanclass(size_to_sizeclass(size), kind);
    mspan *s = c->alloc[spc];
    uint64_t cache = s->alloc_cache;
    uintptr_t x;
    if (tc_likely(cache != 0)) {
        x = take_cached_slot(s, cache);
    } else {
        x = next_free_slow(c, spc, &s);
        if (x == 0) return 0;
    }
    return finish_slot(c, s, x, layout, t, n, 0, false, tc_write_barrier);
}

/* ---- the fast path ------------------------------------------------------------------ */

/* The fast path serves an attached thread from its cached span's
 * alloc_cache, inside a critical section, with no call: a leaf function
 * that needs no stack frame. Anything else (no cache yet, an empty
 * alloc_cache, a large or oddly typed object, gcstress counting every
 * allocation) falls through to the general path, which is the only one
 * that refills, assists or triggers a collection. mcache_fast_tls is NULL
 * whenever the fast path must not be taken. */

/* A slot of class spc from c's span if its cache has one, else 0. */
TC_INLINE uintptr_t small_fast(mcache *c, spanclass spc, int layout, uint64_t bits)
{
    mspan *s = c->alloc[spc];
    uint64_t cache = s->alloc_cache;
    if (tc_unlikely(cache == 0)) return 0;
    /* The first allocation in a span while marking records the span's black
     * range, a call: the general path's. */
    bool marking = tc_write_barrier; /* volatile: read it once */
    if (tc_unlikely(marking) && !mark_black_open(s)) return 0;
    return finish_slot(c, s, take_cached_slot(s, cache), layout, NULL, 1, bits, true, marking);
}

/* Noscan objects under 16 bytes, packed into the cache's 16-byte block at
 * their natural alignment: the block's next offset, 0 when it has no room. */
TC_INLINE uintptr_t tiny_fast(mcache *c, size_t size)
{
    uintptr_t off = c->tiny_offset;
    if ((size & 7) == 0)
        off = tc_align_up(off, 8);
    else if ((size & 3) == 0)
        off = tc_align_up(off, 4);
    else if ((size & 1) == 0)
        off = tc_align_up(off, 2);
    if (tc_unlikely(off + size > TC_TINY_SIZE || c->tiny == 0)) return 0;
    c->tiny_offset = off + size;
    c->tiny_allocs++;
    return c->tiny + off;
}

/* The general tiny path: a new 16-byte block when the current one is full. */
static uintptr_t tiny_alloc(mcache *c, size_t size)
{
    uintptr_t x = tiny_fast(c, size);
    if (x != 0) return x;
    x = malloc_small(c, TC_TINY_SIZE, SPAN_NOSCAN, LAYOUT_NONE, NULL, 0);
    if (x == 0) return 0;
    /* Keep the new block if it has more room left than the old one. */
    if (size < c->tiny_offset || c->tiny == 0) {
        c->tiny = x;
        c->tiny_offset = size;
    }
    return x;
}

static inline size_t round16(size_t size) { return (size + 15) & ~(size_t)15; }

static void *oom(void)
{
    errno = ENOMEM;
    return NULL;
}

/* ---- large objects ---------------------------------------------------------------- */

void *malloc_large(size_t size, unsigned kind, const tc_type *t, size_t n)
{
    if (tc_unlikely(size > MAX_ALLOC)) return oom();
    size_t objsize = round16(size);
    size_t npages = (objsize + TC_PAGE_SIZE - 1) >> TC_PAGE_SHIFT;
    spanclass spc = make_spanclass(0, kind);
    (void)get_cache(); /* attaches the thread; the before-tc_init check */
    uint64_t t0 = gc_slow_timed() ? tc_mono_ns() : 0;
    /* Sweep as many pages as we take before the heap grows for them. */
    sweep_pages(npages);
    /* From the span to its publication on the mcentral list in one critical
     * section: a collection must not see the span half-made (its sweep
     * would free an object the caller is about to get). */
    critical_enter();
    thread_slow_path("large");
    mspan *s = mheap_alloc_span(npages, spc, size);
    if (s == NULL) {
        thread_slow_path(NULL);
        critical_leave();
        return oom();
    }
    uintptr_t x = s->startaddr;
    s->freeindex = 1;
    s->alloc_cache = 0;
    s->alloc_count = 1;
    if (s->needzero) memset((void *)x, 0, objsize); /* the tail to a 16-byte multiple too */
    if (kind == SPAN_SCAN) heapbits_set_type(s, x, t, n);
    if (tc_unlikely(tc_write_barrier)) mark_new_slot(s, 0, mcache_tls);
    atomic_store_explicit(&s->freeindex_for_scan, 1, memory_order_release);
    mcentral_add_large(&mheap_.central[spc], s);
    atomic_fetch_add_explicit(&mheap_.nmalloc[0], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&mheap_.large_bytes, npages * TC_PAGE_SIZE, memory_order_relaxed);
    atomic_fetch_add_explicit(&gc_heap_live, npages * TC_PAGE_SIZE, memory_order_relaxed);
    after_slow = true;
    after_slow_bytes += npages * TC_PAGE_SIZE;
    thread_slow_path(NULL);
    critical_leave();
    if (t0 != 0) gc_slow_note(GC_SLOW_LARGE, t0);
    malloc_done();
    return (void *)x;
}

/* ---- the API --------------------------------------------------------------------------- */

static TC_NOINLINE void *alloc_noscan_slow(size_t size)
{
    if (tc_unlikely(size > TC_MAX_SMALL_SIZE)) return malloc_large(size, SPAN_NOSCAN, NULL, 0);
    mcache *c = get_cache();
    critical_enter();
    uintptr_t x;
    if (size < TC_TINY_SIZE)
        x = tiny_alloc(c, size + (size == 0));
    else
        x = malloc_small(c, round16(size), SPAN_NOSCAN, LAYOUT_NONE, NULL, 0);
    critical_leave();
    malloc_done();
    return tc_likely(x != 0) ? (void *)x : oom();
}

/* A fast path's critical section ended with a stop deferred: park for it
 * (critical_leave_slow), then return the slot the fast path took, or take
 * the general path (slow) if it took none. Out of line and reached by a
 * tail call, so that the fast paths save no registers. */
static TC_NOINLINE void *sized_after_stop(uintptr_t x, size_t size, void *(*slow)(size_t))
{
    critical_leave_slow();
    return x != 0 ? (void *)x : slow(size);
}

void *tc_alloc_noscan(size_t size)
{
    mcache *c = mcache_fast_tls;
    if (tc_likely(size - 1 < TC_SMALL_SIZE_MAX && c != NULL)) {
        critical_enter();
        uintptr_t x;
        if (size < TC_TINY_SIZE)
            x = tiny_fast(c, size);
        else /* round16(size) / 8 indexes the 8-byte-step table */
            x = small_fast(c, make_spanclass(size_to_class8[((size + 15) >> 4) * 2], SPAN_NOSCAN),
                           LAYOUT_NONE, 0);
        if (tc_unlikely(critical_leave_needs_slow()))
            return sized_after_stop(x, size, alloc_noscan_slow);
        if (tc_likely(x != 0)) return (void *)x;
    }
    return alloc_noscan_slow(size);
}

static TC_NOINLINE void *alloc_conservative_slow(size_t size)
{
    if (tc_unlikely(size > TC_MAX_SMALL_SIZE))
        return malloc_large(size, SPAN_CONSERVATIVE, NULL, 0);
    mcache *c = get_cache();
    critical_enter();
    uintptr_t x =
        malloc_small(c, pointer_object_request(size), SPAN_CONSERVATIVE, LAYOUT_NONE, NULL, 0);
    critical_leave();
    malloc_done();
    return tc_likely(x != 0) ? (void *)x : oom();
}

void *tc_alloc_conservative(size_t size)
{
    mcache *c = mcache_fast_tls;
    if (tc_likely(size - 1 < TC_SMALL_SIZE_MAX && c != NULL)) {
        critical_enter();
        uintptr_t x = small_fast(
            c, make_spanclass(size_to_class8[pointer_object_request(size) / 8], SPAN_CONSERVATIVE),
            LAYOUT_NONE, 0);
        if (tc_unlikely(critical_leave_needs_slow()))
            return sized_after_stop(x, size, alloc_conservative_slow);
        if (tc_likely(x != 0)) return (void *)x;
    }
    return alloc_conservative_slow(size);
}

static _Noreturn TC_NOINLINE void bad_type(const char *fn, const tc_type *t)
{
    if (t == NULL) tc_throw("%s: NULL type", fn);
    tc_throw("%s: type %s (%p) is TC_NOTINHEAP and cannot live in the collected heap", fn,
             t->name ? t->name : "?", (const void *)t);
}

/* n elements of t (which has pointers), size = n * t->size bytes. */
static void *new_scan(const tc_type *t, size_t n, size_t size)
{
    if (tc_unlikely(size > TC_MAX_SMALL_SIZE - MALLOC_HEADER_SIZE))
        return malloc_large(size, SPAN_SCAN, t, n);
    mcache *c = get_cache();
    critical_enter();
    uintptr_t x;
    if (size <= HEAPBITS_INSPAN_MAX)
        x = malloc_small(c, pointer_object_request(size), SPAN_SCAN, LAYOUT_BITS, t, n);
    else
        x = malloc_small(c, round16(size + MALLOC_HEADER_SIZE), SPAN_SCAN, LAYOUT_HEADER, t, n);
    critical_leave();
    malloc_done();
    return tc_likely(x != 0) ? (void *)x : oom();
}

static TC_NOINLINE void *new_slow(const tc_type *t)
{
    if (tc_unlikely(t == NULL || (t->flags & TC_NOTINHEAP))) bad_type("tc_new", t);
    if (t->ptrdata == 0) return tc_alloc_noscan(t->size);
    return new_scan(t, 1, t->size);
}

/* sized_after_stop for tc_new. */
static TC_NOINLINE void *new_after_stop(uintptr_t x, const tc_type *t)
{
    critical_leave_slow();
    return x != 0 ? (void *)x : new_slow(t);
}

void *tc_new(const tc_type *t)
{
    mcache *c = mcache_fast_tls;
    /* fast_spanclass is 0 for every type the fast path cannot serve. */
    if (tc_likely(t != NULL && t->fast_spanclass != 0 && c != NULL)) {
        critical_enter();
        uintptr_t x = small_fast(c, t->fast_spanclass, LAYOUT_BITS, t->fast_bits);
        if (tc_unlikely(critical_leave_needs_slow())) return new_after_stop(x, t);
        if (tc_likely(x != 0)) return (void *)x;
    }
    return new_slow(t);
}

void *tc_new_array(const tc_type *t, size_t n)
{
    if (tc_unlikely(t == NULL || (t->flags & TC_NOTINHEAP))) bad_type("tc_new_array", t);
    if (tc_unlikely(n != 0 && t->size > SIZE_MAX / n)) return oom();
    size_t size = n * t->size;
    if (t->ptrdata == 0 || n == 0) return tc_alloc_noscan(size);
    if (tc_unlikely(n > 1 && t->size % TC_PTR_SIZE != 0))
        tc_throw("tc_new_array: type %s has pointers but size %zu is not a multiple of %zu: "
                 "its array elements would hold misaligned pointers",
                 t->name ? t->name : "?", t->size, TC_PTR_SIZE);
    return new_scan(t, n, size);
}

/* ---- statistics ---------------------------------------------------------------------------- */

void mheap_read_stats(tc_stats *out)
{
    uint64_t nmalloc[TC_NUM_SIZE_CLASSES], tiny;
    for (unsigned i = 0; i < TC_NUM_SIZE_CLASSES; i++)
        nmalloc[i] = atomic_load_explicit(&mheap_.nmalloc[i], memory_order_relaxed);
    tiny = atomic_load_explicit(&mheap_.tiny_allocs, memory_order_relaxed);
    if (mcache_tls != NULL) mcache_pending_counts(mcache_tls, nmalloc, &tiny);
    uint64_t bytes = atomic_load_explicit(&mheap_.large_bytes, memory_order_relaxed),
             objects = tiny;
    for (unsigned i = 0; i < TC_NUM_SIZE_CLASSES; i++) {
        out->by_size[i].size = i == 0 ? 0 : sizeclass_to_size[i];
        out->by_size[i].mallocs = nmalloc[i];
        objects += nmalloc[i];
        if (i != 0) bytes += nmalloc[i] * sizeclass_to_size[i];
    }
    out->heap_alloc_bytes = bytes;
    out->heap_alloc_objects = objects;
    uint64_t fbytes = atomic_load_explicit(&sweep_freed_bytes, memory_order_relaxed), fobj = 0;
    for (unsigned i = 0; i < TC_NUM_SIZE_CLASSES; i++) {
        out->by_size[i].frees = atomic_load_explicit(&sweep_nfree[i], memory_order_relaxed);
        fobj += out->by_size[i].frees;
    }
    out->heap_free_bytes = fbytes;
    out->heap_free_objects = fobj;
    out->heap_live_bytes = bytes - out->heap_free_bytes;
    out->heap_live_objects = objects - out->heap_free_objects;
    if (!mheap_.initialised) return;
    pagealloc_counts pc = {0};
    tc_lock(&mheap_.lock);
    pagealloc_counts_read(mheap_.pages, &pc);
    out->heap_span_meta = mheap_.spanalloc.inuse;
    uint64_t caches = mheap_.cachealloc.inuse;
    tc_unlock(&mheap_.lock);
    out->heap_mapped = atomic_load_explicit(&mheap_.bytes_mapped, memory_order_relaxed);
    out->heap_inuse = (uint64_t)pc.inuse_pages * TC_PAGE_SIZE;
    out->heap_idle = out->heap_mapped - out->heap_inuse;
    out->heap_released = (uint64_t)pc.scavenged_pages * TC_PAGE_SIZE;
    out->heap_spans = atomic_load_explicit(&mheap_.spans_inuse, memory_order_relaxed);
    out->heap_other_meta =
        atomic_load_explicit(&mheap_.meta_bytes, memory_order_relaxed) + gcbits_bytes() + caches;
}
