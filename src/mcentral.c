/*
 * mcentral.c — the central free lists: one mcentral per span class, from
 * which mcaches take spans with free slots and to which they return them.
 *
 * Owns: the spans of its class that no mcache holds, on four intrusive
 * lists. partial[] holds spans with at least one free slot, full[] spans
 * with none; each pair is indexed by the heap's sweepgen parity:
 * [sg/2 % 2] are the swept spans of this cycle, [1 - sg/2 % 2] the spans
 * still to sweep. When the collector advances sweepgen by 2, the roles swap
 * without moving a span (Go's partial/full spanSets, same indexing).
 *
 * Invariants (mcentral_check):
 *   - every span on a list is in use, of this class, and on exactly the list
 *     its `list` field names;
 *   - swept lists hold spans with sweepgen == sg, unswept lists spans with
 *     sweepgen == sg - 2; a span cached by an mcache is on no list and has
 *     sweepgen sg + 3 (or sg + 1 once a new cycle began);
 *   - partial spans have a free slot, full spans have none (small classes;
 *     a large span is always full).
 *
 * Locking: one tc_mutex per mcentral guards its lists and the list fields of
 * the spans on them. It is a leaf: nothing else is locked while it is held;
 * in particular cache_span drops it before asking the heap for a new span.
 *
 * Why a mutex and intrusive lists instead of Go's lock-free spanSet: a list
 * operation is a few pointer writes, done once per span's worth of objects
 * (at least 8 KiB allocated), so the lock is rarely contended and costs
 * ~20 ns uncontended; the lists need no memory of their own and let the
 * sweeper unlink any span in O(1). The cost is a short convoy when many
 * threads refill the same class at once.
 *
 * Order on the partial lists: the sweeper puts spans with live objects at
 * the front and the emptied spans it keeps (sweep.c) at the back, so caches
 * fill holes first and an emptied span nobody needed can go back to the
 * heap a cycle later. nrefills counts the spans caches took, under the lock;
 * at the first emptied span of a cycle it becomes that cycle's
 * retain_budget.
 *
 * Sweeping (sweep.c): when the collector advances sweepgen, every listed
 * span becomes unswept. cache_span sweeps unswept spans of its class (up to
 * a budget) before it grows the heap, and uses the first with a free slot.
 */
#include "mheap.h"
#include "sweep.h"

static inline uint32_t heap_sweepgen(void)
{
    return atomic_load_explicit(&mheap_.sweepgen, memory_order_relaxed);
}
static inline mspan_list *partial_swept(mcentral *c, uint32_t sg)
{
    return &c->partial[sg / 2 % 2];
}
static inline mspan_list *partial_unswept(mcentral *c, uint32_t sg)
{
    return &c->partial[1 - sg / 2 % 2];
}
static inline mspan_list *full_swept(mcentral *c, uint32_t sg) { return &c->full[sg / 2 % 2]; }
static inline mspan_list *full_unswept(mcentral *c, uint32_t sg)
{
    return &c->full[1 - sg / 2 % 2];
}

void mcentral_init(mcentral *c, spanclass spc)
{
    *c = (mcentral){.lock = TC_MUTEX_INIT, .spanclass = spc};
}

/* A fresh span for the class from the heap (Go's mcentral.grow). No lock held. */
static mspan *mcentral_grow(mcentral *c)
{
    unsigned sc = spanclass_sizeclass(c->spanclass);
    mspan *s = mheap_alloc_span(sizeclass_to_npages[sc], c->spanclass, 0);
    /* Outside the heap lock: clearing may fault pages in. Until it is done
     * the span has no allocated slot, so nobody reads its bitmap. */
    if (s != NULL && mspan_heapbits_inspan(s)) heapbits_init_span(s);
    return s;
}

/* Checks that s is cached by an mcache and may be given back. */
static void check_uncache(mspan *s, uint32_t sg)
{
    if (tc_unlikely(s == &mcache_empty_span)) tc_throw("mcentral_uncache_span: the empty span");
    uint32_t ssg = atomic_load_explicit(&s->sweepgen, memory_order_relaxed);
    /* The collector releases every cache while the world is stopped, before
     * sweepgen advances, so no span stays cached across a cycle. */
    if (tc_unlikely(ssg == sg + 1))
        tc_throw("mcentral_uncache_span: span %#lx was cached across a collection",
                 (unsigned long)s->startaddr);
    if (tc_unlikely(ssg != sg + 3))
        tc_throw("mcentral_uncache_span: span %#lx has sweepgen %u, heap %u: not cached",
                 (unsigned long)s->startaddr, ssg, sg);
}

/* Put an uncached span on its swept list. c's lock held. */
static void uncache_locked(mcentral *c, mspan *s, uint32_t sg)
{
    atomic_store_explicit(&s->sweepgen, sg, memory_order_relaxed);
    if (s->alloc_count < s->nelems)
        mspan_list_push(partial_swept(c, sg), s);
    else
        mspan_list_push(full_swept(c, sg), s);
}

mspan *mcentral_refill_span(mcentral *c, mspan *old)
{
    uint32_t sg = heap_sweepgen();
    if (old != NULL) check_uncache(old, sg);
    /* One trip through the lock gives the old span back and takes a swept
     * partial one (a refill used to take the lock twice). */
    tc_lock(&c->lock);
    if (old != NULL) uncache_locked(c, old, sg);
    mspan_list *ps = partial_swept(c, sg);
    mspan *s = ps->first;
    if (s != NULL) mspan_list_remove(ps, s);
    c->nrefills++;
    tc_unlock(&c->lock);
    /* Sweep this class's unswept spans (Go's spanBudget of 100) before
     * growing the heap: one of them may have room. */
    if (s == NULL) s = sweep_for_cache(c, 100);
    if (s == NULL) {
        s = mcentral_grow(c);
        if (s == NULL) return NULL;
        atomic_fetch_add_explicit(&c->nspans, 1, memory_order_relaxed);
    }
    /* The span is ours now: no lock. sweepgen = sg + 3 says "swept, cached". */
    atomic_store_explicit(&s->sweepgen, sg + 3, memory_order_relaxed);
    /* Load the alloc cache for the word holding freeindex, shifted to it. */
    uint32_t fi = s->freeindex;
    mspan_refill_alloc_cache(s, fi & ~(uint32_t)63);
    s->alloc_cache >>= fi % 64;
    s->alloc_count_before_cache = s->alloc_count;
    /* Zero-initialisation of reused slots happens here, in bulk, not per
     * object on the allocation fast path. */
    mspan_zero_free_slots(s);
    heapbits_fill_if_empty(s);
#ifndef NDEBUG
    mspan_check(s); /* debug builds: every span an mcache takes is checked */
#endif
    return s;
}

mspan *mcentral_cache_span(mcentral *c) { return mcentral_refill_span(c, NULL); }

bool mcentral_retain_empty(mcentral *c, uint32_t sg)
{
    tc_lock(&c->lock);
    if (c->retain_sg != sg) {
        c->retain_budget = c->nrefills;
        c->nrefills = 0;
        c->retain_sg = sg;
    }
    bool keep = c->retain_budget != 0;
    if (keep) c->retain_budget--;
    tc_unlock(&c->lock);
    return keep;
}

void mcentral_uncache_span(mcentral *c, mspan *s)
{
    uint32_t sg = heap_sweepgen();
    check_uncache(s, sg);
    tc_lock(&c->lock);
    uncache_locked(c, s, sg);
    tc_unlock(&c->lock);
}

void mcentral_add_large(mcentral *c, mspan *s)
{
    tc_lock(&c->lock);
    atomic_store_explicit(&s->sweepgen, heap_sweepgen(), memory_order_relaxed);
    mspan_list_push(full_swept(c, heap_sweepgen()), s);
    atomic_fetch_add_explicit(&c->nspans, 1, memory_order_relaxed);
    tc_unlock(&c->lock);
}

void mcentral_remove(mcentral *c, mspan *s)
{
    tc_lock(&c->lock);
    mspan_list *l = s->list;
    if (l != &c->partial[0] && l != &c->partial[1] && l != &c->full[0] && l != &c->full[1])
        tc_throw("mcentral_remove: span %#lx is not on a list of class %u (list %p)",
                 (unsigned long)s->startaddr, (unsigned)c->spanclass, (void *)l);
    mspan_list_remove(l, s);
    tc_unlock(&c->lock);
}

/* ---- checker ------------------------------------------------------------------- */

static void check_list(mcentral *c, mspan_list *l, const char *what, uint32_t want_sg, bool full)
{
    size_t n = 0;
    mspan *prev = NULL;
    for (mspan *s = l->first; s != NULL; prev = s, s = s->next) {
        n++;
        if (s->list != l || s->prev != prev)
            tc_throw("mcentral_check: class %u %s: span %#lx has list %p prev %p, expected %p %p",
                     (unsigned)c->spanclass, what, (unsigned long)s->startaddr, (void *)s->list,
                     (void *)s->prev, (void *)l, (void *)prev);
        if (s->spanclass != c->spanclass)
            tc_throw("mcentral_check: class %u %s: span %#lx has class %u", (unsigned)c->spanclass,
                     what, (unsigned long)s->startaddr, (unsigned)s->spanclass);
        uint32_t ssg = atomic_load_explicit(&s->sweepgen, memory_order_relaxed);
        if (ssg != want_sg)
            tc_throw("mcentral_check: class %u %s: span %#lx sweepgen %u, expected %u",
                     (unsigned)c->spanclass, what, (unsigned long)s->startaddr, ssg, want_sg);
        if (want_sg == heap_sweepgen() && full != (s->alloc_count == s->nelems))
            tc_throw("mcentral_check: class %u %s: span %#lx has %u of %u slots allocated",
                     (unsigned)c->spanclass, what, (unsigned long)s->startaddr, s->alloc_count,
                     s->nelems);
        mspan_check(s);
    }
    if (prev != l->last || n != l->n)
        tc_throw(
            "mcentral_check: class %u %s: %zu spans walked, list says %zu (last %p, walked to %p)",
            (unsigned)c->spanclass, what, n, l->n, (void *)l->last, (void *)prev);
}

void mcentral_check(mcentral *c)
{
    uint32_t sg = heap_sweepgen();
    tc_lock(&c->lock);
    check_list(c, partial_swept(c, sg), "partial swept", sg, false);
    check_list(c, full_swept(c, sg), "full swept", sg, true);
    check_list(c, partial_unswept(c, sg), "partial unswept", sg - 2, false);
    check_list(c, full_unswept(c, sg), "full unswept", sg - 2, true);
    tc_unlock(&c->lock);
}
