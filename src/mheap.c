/*
 * mheap.c — the page heap: arenas, the arena index, span allocation and
 * freeing, and the gcBits arenas that hold spans' alloc and mark bits.
 *
 * Owns:
 *   - the heap's address space: 64 MiB arenas, reserved on demand at
 *     addresses that grow contiguously from Go's hint 0x00c0 << 32 (then
 *     0x01c0 << 32, ... when a hint is taken), mapped 4 MiB at a time
 *     (Reserved -> Prepared) as the page allocator grows into them;
 *   - the arena index: 2^22 pointers (32 MiB of virtual memory from sys,
 *     demand-paged by the kernel), one per possible arena of the 48-bit
 *     space, each NULL or the arena's heap_arena metadata (sys memory);
 *   - mspan structs (mheap_.spanalloc) and mcache structs (cachealloc);
 *   - the page-cache path of span allocation (Go's per-P pageCache and
 *     mspan cache): a span of fewer than 16 pages takes its pages from the
 *     calling thread's mcache->pcache (a 64-page block taken from the page
 *     allocator under the heap lock) and its struct from mcache->spanstash,
 *     so that the heap lock is taken once per refill, not once per span;
 *   - the gcBits chunks and their epochs.
 *
 * Invariants:
 *   - an index entry goes from NULL to its heap_arena once, with release
 *     order, and never changes again: readers need no lock;
 *   - every page of an in-use span maps to it in its arena's spans[]; pages
 *     of free runs map to NULL; page_inuse has the bit of each in-use span's
 *     first page;
 *   - a span is published by storing state = MSPAN_INUSE with release after
 *     every other field is set; it is unpublished (MSPAN_DEAD) before its
 *     pages are freed;
 *   - zeroed_base of an arena only grows; pages at or above it are zero from
 *     the OS. Span allocation is address-ordered first fit, so a span that
 *     starts at or above zeroed_base never needs clearing;
 *   - bytes_mapped == the bytes of stat_heap == sum of pages the page
 *     allocator has been grown by.
 *
 * Locking: mheap_.lock guards the page allocator, the arena list and hints,
 * spanalloc, cachealloc, all_mcaches and the refill and flush of page
 * caches. Publishing a span on pages the caller owns (publish_span) takes no
 * lock: spans[] stores are release atomics, page_inuse bits atomic ORs and
 * ANDs, zeroed_base a CAS maximum, spans_inuse an atomic counter. The
 * page-cache path runs inside a runtime critical section, so the collector
 * (which flushes every cache with the world stopped) never sees a cache
 * half-way through an allocation. Inside it the gcbits lock may be taken (and,
 * through fixalloc and persistent_alloc, persistent's locks). No mcentral
 * lock is ever held while taking the heap lock. See runtime.h's lock order.
 */
#include "mheap.h"
#include "sweep.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "debug.h"
#include "gc.h" /* gc_spawn_thread */
#include "pagealloc.h"
#include "persistent.h"
#include "stats.h"
#include "sys.h"

mheap mheap_ = {.lock = TC_MUTEX_INIT};

/* Arena metadata and the index pages actually touched. */
static tc_sysstat stat_arena_meta = TC_SYSSTAT_INIT("heap arena metadata", TC_SYSCAT_GCMETA);

/* ---- span lists ------------------------------------------------------------ */

/* A span goes on a list only from none. */
static void check_unlisted(const mspan *s, const char *fn)
{
    if (tc_unlikely(s->list != NULL))
        tc_throw("%s: span %p (%#lx) is already on list %p", fn, (void *)s,
                 (unsigned long)s->startaddr, (void *)s->list);
}

void mspan_list_push(mspan_list *l, mspan *s)
{
    check_unlisted(s, "mspan_list_push");
    s->next = NULL;
    s->prev = l->last;
    if (l->last)
        l->last->next = s;
    else
        l->first = s;
    l->last = s;
    s->list = l;
    l->n++;
}

void mspan_list_push_front(mspan_list *l, mspan *s)
{
    check_unlisted(s, "mspan_list_push_front");
    s->prev = NULL;
    s->next = l->first;
    if (l->first)
        l->first->prev = s;
    else
        l->last = s;
    l->first = s;
    s->list = l;
    l->n++;
}

void mspan_list_remove(mspan_list *l, mspan *s)
{
    if (tc_unlikely(s->list != l))
        tc_throw("mspan_list_remove: span %p (%#lx) is on list %p, not %p", (void *)s,
                 (unsigned long)s->startaddr, (void *)s->list, (void *)l);
    if (s->prev)
        s->prev->next = s->next;
    else
        l->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->last = s->prev;
    s->next = s->prev = NULL;
    s->list = NULL;
    l->n--;
}

/* ---- gcBits arenas ---------------------------------------------------------- */

#define GCBITS_CHUNK ((size_t)64 << 10)

typedef struct gcbits_chunk {
    struct gcbits_chunk *next;
    _Atomic size_t used; /* bytes of bits claimed; may run past the end (then full) */
    uint64_t bits[(GCBITS_CHUNK - 2 * sizeof(void *)) / 8];
} gcbits_chunk;

/* Allocation claims bytes of the next epoch's newest chunk with one atomic
 * add and no lock (Go's gcBitsArena tryAlloc); the lock serialises putting
 * a new chunk in front when that one is full, and the epoch rotation. The
 * newest chunk is published with a release store after it is cleared;
 * claimers load it with acquire. A claim that runs past the end leaves the
 * chunk full for good (used only grows). The rotation runs with sweeping
 * stopped (stop #1, after sweep_done), when nothing allocates bits. */
static struct {
    tc_mutex lock;
    gcbits_chunk *free, *current, *previous;
    gcbits_chunk *_Atomic next; /* newest first, linked by next */
    _Atomic uint64_t bytes;
} gcbits = {.lock = TC_MUTEX_INIT};

static uint8_t *gcbits_try_claim(gcbits_chunk *c, size_t bytes)
{
    if (c == NULL) return NULL;
    size_t used = atomic_fetch_add_explicit(&c->used, bytes, memory_order_relaxed);
    return used + bytes <= sizeof c->bits ? (uint8_t *)c->bits + used : NULL;
}

uint8_t *gcbits_alloc(uint32_t nelems)
{
    size_t bytes = ((size_t)nelems + 63) / 64 * 8;
    if (bytes > sizeof((gcbits_chunk *)0)->bits)
        tc_throw("gcbits_alloc: %u bits do not fit a chunk", (unsigned)nelems);
    uint8_t *p = gcbits_try_claim(atomic_load_explicit(&gcbits.next, memory_order_acquire), bytes);
    if (p != NULL) return p;
    tc_lock(&gcbits.lock);
    /* Another thread may have put a fresh chunk in front meanwhile. */
    gcbits_chunk *c = atomic_load_explicit(&gcbits.next, memory_order_relaxed);
    while ((p = gcbits_try_claim(c, bytes)) == NULL) {
        if (gcbits.free != NULL) {
            c = gcbits.free;
            gcbits.free = c->next;
            memset(c, 0, sizeof *c); /* reused: bits must start clear */
        } else {
            c = sys_alloc(GCBITS_CHUNK, &stat_gcmeta);
            if (c == NULL)
                tc_throw("gcbits_alloc: out of memory for a %zu-byte chunk", GCBITS_CHUNK);
            atomic_fetch_add_explicit(&gcbits.bytes, GCBITS_CHUNK, memory_order_relaxed);
        }
        c->next = atomic_load_explicit(&gcbits.next, memory_order_relaxed);
        atomic_store_explicit(&gcbits.next, c, memory_order_release);
    }
    tc_unlock(&gcbits.lock);
    return p;
}

void gcbits_next_epoch(void)
{
    tc_lock(&gcbits.lock);
    gcbits_chunk *prev = gcbits.previous;
    while (prev != NULL) {
        gcbits_chunk *n = prev->next;
        prev->next = gcbits.free;
        gcbits.free = prev;
        prev = n;
    }
    gcbits.previous = gcbits.current;
    gcbits.current = atomic_load_explicit(&gcbits.next, memory_order_relaxed);
    atomic_store_explicit(&gcbits.next, NULL, memory_order_relaxed);
    tc_unlock(&gcbits.lock);
}

uint64_t gcbits_bytes(void) { return atomic_load_explicit(&gcbits.bytes, memory_order_relaxed); }

/* ---- the arena index --------------------------------------------------------- */

#define ARENA_INDEX_BYTES (ARENA_INDEX_LEN * sizeof(heap_arena *))

/* The index is mapped read-write in one piece so that a lookup of any
 * address can read its entry; the kernel backs only the pages written. It is
 * charged to stat_arena_meta one OS page at a time, as entries are written,
 * so statistics show memory that is really used, not the 32 MiB reservation. */
static void index_init(void)
{
    void *v = sys_reserve(NULL, ARENA_INDEX_BYTES);
    if (v == NULL)
        tc_throw("mheap_init: cannot reserve %zu bytes for the arena index", ARENA_INDEX_BYTES);
    sys_map(v, ARENA_INDEX_BYTES, &stat_arena_meta);
    sysstat_add(&stat_arena_meta, -(int64_t)ARENA_INDEX_BYTES);
    mheap_.arenas = v;
    size_t touched = tc_align_up(ARENA_INDEX_BYTES / sys_page_size() / 8, sys_page_size());
    mheap_.arenas_touched = sys_alloc(touched, &stat_arena_meta);
    if (mheap_.arenas_touched == NULL) tc_throw("mheap_init: out of memory for the arena index");
    atomic_fetch_add_explicit(&mheap_.meta_bytes, touched, memory_order_relaxed);
}

static void index_set(uintptr_t ai, heap_arena *ha)
{
    size_t ps = sys_page_size();
    uintptr_t page = ai * sizeof(heap_arena *) / ps;
    if (!(mheap_.arenas_touched[page / 8] >> (page % 8) & 1)) {
        mheap_.arenas_touched[page / 8] |= (uint8_t)(1u << (page % 8));
        sysstat_add(&stat_arena_meta, (int64_t)ps);
        sys_used((uint8_t *)mheap_.arenas + page * ps, ps, ps);
        atomic_fetch_add_explicit(&mheap_.meta_bytes, ps, memory_order_relaxed);
    }
    atomic_store_explicit(&mheap_.arenas[ai], ha, memory_order_release);
}

/* ---- heap growth ---------------------------------------------------------------- */

static void hints_init(void)
{
    /* Go's amd64 hints: 0x00c0<<32, 0x01c0<<32, ..., 0x7fc0<<32. They keep
     * the heap contiguous and its addresses recognisable in a dump. */
    for (unsigned i = 0; i < 0x80; i++)
        mheap_.hints[i] = ((uintptr_t)i << 40) | ((uintptr_t)0x00c0 << 32);
    mheap_.n_hints = 0x80;
    mheap_.next_hint = 0;
}

/* Reserve n bytes (a multiple of the arena size) of address space aligned to
 * the arena size, preferring the current hint. Returns 0 when the OS refuses. */
static uintptr_t reserve_arenas(size_t n)
{
    while (mheap_.next_hint < mheap_.n_hints) {
        uintptr_t h = mheap_.hints[mheap_.next_hint];
        if (h + n < h || arena_index(h + n - 1) >= ARENA_INDEX_LEN) {
            mheap_.next_hint++;
            continue;
        }
        void *v = sys_reserve((void *)h, n);
        if ((uintptr_t)v == h) {
            mheap_.hints[mheap_.next_hint] = h + n;
            return h;
        }
        /* The OS put it elsewhere (the hint is taken, or the address space
         * there is not ours): give it back and try the next hint. */
        if (v != NULL) sys_unreserve(v, n);
        mheap_.next_hint++;
    }
    void *v = sys_reserve_aligned(NULL, n, TC_ARENA_SIZE);
    if (v == NULL) return 0;
    if (arena_index((uintptr_t)v + n - 1) >= ARENA_INDEX_LEN) {
        sys_unreserve(v, n);
        return 0;
    }
    return (uintptr_t)v;
}

/* Make heap_arena metadata for every arena of [base, base+n). */
static bool register_arenas(uintptr_t base, size_t n)
{
    size_t meta = tc_align_up(sizeof(heap_arena), sys_page_size());
    for (uintptr_t a = base; a < base + n; a += TC_ARENA_SIZE) {
        heap_arena *ha = sys_alloc(meta, &stat_arena_meta);
        if (ha == NULL) return false;
        atomic_fetch_add_explicit(&mheap_.meta_bytes, meta, memory_order_relaxed);
        if (mheap_.n_arenas == mheap_.cap_arenas) {
            size_t ncap = mheap_.cap_arenas ? mheap_.cap_arenas * 2 : 1024;
            size_t bytes = tc_align_up(ncap * sizeof(uint32_t), sys_page_size());
            uint32_t *na = sys_alloc(bytes, &stat_arena_meta);
            if (na == NULL) return false;
            atomic_fetch_add_explicit(&mheap_.meta_bytes, bytes, memory_order_relaxed);
            if (mheap_.n_arenas) {
                size_t old = tc_align_up(mheap_.cap_arenas * sizeof(uint32_t), sys_page_size());
                memcpy(na, mheap_.all_arenas, mheap_.n_arenas * sizeof(uint32_t));
                sys_free(mheap_.all_arenas, old, &stat_arena_meta);
                atomic_fetch_sub_explicit(&mheap_.meta_bytes, old, memory_order_relaxed);
            }
            mheap_.all_arenas = na;
            mheap_.cap_arenas = bytes / sizeof(uint32_t);
        }
        mheap_.all_arenas[mheap_.n_arenas++] = (uint32_t)arena_index(a);
        index_set(arena_index(a), ha);
    }
    return true;
}

/* Give [base, base+n) of reserved space to the page allocator: map it
 * (Prepared) and grow the allocator, which sees it free and scavenged. */
static void add_to_pages(uintptr_t base, size_t n)
{
    sys_map((void *)base, n, &stat_heap);
    /* Transparent huge pages where the system leaves it to us (THP
     * "madvise"): a 2 MiB fault instead of 512 small ones when the heap
     * grows, and fewer TLB misses for the markers. See docs/heap.md for
     * the cost (RSS in 2 MiB steps) and what a scavenger must do. */
    if (tc_debug.hugepages) sys_hugepage((void *)base, n);
    atomic_fetch_add_explicit(&mheap_.bytes_mapped, n, memory_order_relaxed);
    pagealloc_grow(mheap_.pages, base, n);
}

/* Grow the heap by at least npages pages. Heap lock held. */
static bool heap_grow(size_t npages)
{
    size_t ask = tc_align_up(npages * TC_PAGE_SIZE, PALLOC_CHUNK_BYTES);
    if (mheap_.cur_arena_end - mheap_.cur_arena_base < ask) {
        size_t n = tc_align_up(ask, TC_ARENA_SIZE);
        uintptr_t v = reserve_arenas(n);
        if (v == 0) return false;
        if (!register_arenas(v, n)) return false;
        if (v == mheap_.cur_arena_end) {
            mheap_.cur_arena_end = v + n;
        } else {
            /* Not contiguous: what is left of the old space goes to the page
             * allocator now (free, scavenged), and the new space replaces it. */
            if (mheap_.cur_arena_end > mheap_.cur_arena_base)
                add_to_pages(mheap_.cur_arena_base, mheap_.cur_arena_end - mheap_.cur_arena_base);
            mheap_.cur_arena_base = v;
            mheap_.cur_arena_end = v + n;
        }
    }
    add_to_pages(mheap_.cur_arena_base, ask);
    mheap_.last_grow_base = mheap_.cur_arena_base;
    mheap_.cur_arena_base += ask;
    return true;
}

/* ---- fresh memory faulted in ahead of need ---------------------------------------------
 *
 * With huge pages, the first touch of a fresh 2 MiB range zeroes all of it
 * in the kernel (and may compact memory first): 0.5-2 ms during which the
 * touching thread cannot take the stop signal, so a stop waits (docs/heap.md,
 * "Huge pages and stops"). So the heap grows ahead of need: when an
 * allocation under the heap lock leaves less than two chunks of free pages,
 * the prefault thread grows the heap by a chunk and populates it with
 * MADV_POPULATE_WRITE, outside the lock, before a mutator gets there; then
 * it clears the chunk's scavenged bits (pagealloc_unscavenge), so the
 * statistics count it resident. Populating writes nothing: a mutator that
 * already took pages of the chunk keeps its data. The thread runs at normal
 * priority (an idle-priority one starves when mutators fill the CPUs, which
 * is when it is needed). Cost: up to two chunks (8 MiB) resident before they
 * are used. Kernels without MADV_POPULATE_WRITE (before 5.14) turn it off at
 * the first failure; hugepages=0 never starts it.
 *
 * Stops. While the thread is in the kernel populating a huge page (0.1 ms
 * on bare metal, about 2 ms in a VM whose host backs guest memory on first
 * touch) it holds a CPU that a mutator preempted by the kernel needs in
 * order to take the stop signal: on the 2-vCPU build machine, every stop
 * over 0.5 ms in the churn of bench_pause found the prefault thread running
 * and the late mutator runnable in the kernel's queue. So the collector
 * holds the thread off its steps for the length of each stop
 * (mheap_prefault_hold): it waits for the step in progress to end before
 * it asks the world to stop (the mutators run meanwhile, so that wait is no
 * pause), and the thread starts no step until the world runs again.
 *
 * State: prefault_pending and prefault_off under the heap lock (one grow at
 * a time); the thread's wake-up and the hold (pf.hold, pf.busy) under
 * pf.mu, a leaf taken inside the heap lock. */
#define PREFAULT_AHEAD_PAGES ((size_t)2 * PALLOC_CHUNK_PAGES) /* free pages kept ahead */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* the thread waits here: for work, for a hold to end */
    pthread_cond_t idle; /* a holder waits here for the step in progress */
    bool started, wake;  /* under mu */
    bool hold, busy;     /* under mu: a stop is held off the thread; it is in a step */
} pf = {.mu = PTHREAD_MUTEX_INITIALIZER,
        .cv = PTHREAD_COND_INITIALIZER,
        .idle = PTHREAD_COND_INITIALIZER};
static bool prefault_pending, prefault_off; /* heap lock */
static _Atomic uint64_t prefault_chunks;    /* chunks populated (tests, stats) */
static _Atomic uintptr_t prefault_last;     /* the last of them (tests) */
_Atomic unsigned mheap_prefault_test_hold_us;

/* Free pages in the page allocator, page caches' excluded. Heap lock held. */
static size_t free_pages_locked(void)
{
    pagealloc_counts pc;
    pagealloc_counts_read(mheap_.pages, &pc);
    return pc.total_pages - pc.inuse_pages;
}

/* A step of the prefault thread (the grow, one huge page's populate) runs
 * between these two, never while a stop holds it off. */
static void prefault_step_begin(void)
{
    pthread_mutex_lock(&pf.mu);
    while (pf.hold) pthread_cond_wait(&pf.cv, &pf.mu);
    pf.busy = true;
    pthread_mutex_unlock(&pf.mu);
}

static void prefault_step_end(void)
{
    pthread_mutex_lock(&pf.mu);
    pf.busy = false;
    if (pf.hold) pthread_cond_broadcast(&pf.idle);
    pthread_mutex_unlock(&pf.mu);
}

void mheap_prefault_hold(bool on)
{
    pthread_mutex_lock(&pf.mu);
    pf.hold = on;
    if (on)
        while (pf.busy) pthread_cond_wait(&pf.idle, &pf.mu);
    else
        pthread_cond_broadcast(&pf.cv);
    pthread_mutex_unlock(&pf.mu);
}

bool mheap_prefault_test_busy(void)
{
    pthread_mutex_lock(&pf.mu);
    bool busy = pf.busy;
    pthread_mutex_unlock(&pf.mu);
    return busy;
}

static void *prefault_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&pf.mu);
        while (!pf.wake) pthread_cond_wait(&pf.cv, &pf.mu);
        pf.wake = false;
        pthread_mutex_unlock(&pf.mu);
        prefault_step_begin();
        tc_lock(&mheap_.lock);
        uintptr_t base = 0;
        if (free_pages_locked() < PREFAULT_AHEAD_PAGES && heap_grow(PALLOC_CHUNK_PAGES))
            base = mheap_.last_grow_base;
        unsigned hold = atomic_load_explicit(&mheap_prefault_test_hold_us, memory_order_relaxed);
        if (hold != 0) usleep(hold); /* tests: widen the window a fork must not hit */
        tc_unlock(&mheap_.lock);
        prefault_step_end();
        /* One huge page per call, yielding between: the thread is in the
         * kernel while it populates, and a mutator waiting for this CPU
         * should get it back at the next huge page, not after the chunk. */
        int rc = 0;
        for (uintptr_t a = base; base != 0 && rc == 0 && a < base + PALLOC_CHUNK_BYTES;
             a += (uintptr_t)2 << 20) {
            prefault_step_begin();
            rc = madvise((void *)a, (size_t)2 << 20, MADV_POPULATE_WRITE);
            prefault_step_end();
            sched_yield();
        }
        tc_lock(&mheap_.lock);
        if (base != 0 && rc == 0) {
            size_t n = pagealloc_unscavenge(mheap_.pages, base, PALLOC_CHUNK_BYTES);
            if (n != 0) sys_used((void *)base, PALLOC_CHUNK_BYTES, n);
            atomic_store_explicit(&prefault_last, base, memory_order_relaxed);
            atomic_fetch_add_explicit(&prefault_chunks, 1, memory_order_relaxed);
        }
        if (rc != 0) prefault_off = true; /* no MADV_POPULATE_WRITE here */
        prefault_pending = false;
        tc_unlock(&mheap_.lock);
    }
    return NULL;
}

/* After an allocation from the page allocator. Heap lock held. */
static void prefault_check(void)
{
    if (!tc_debug.hugepages || prefault_pending || prefault_off ||
        free_pages_locked() >= PREFAULT_AHEAD_PAGES)
        return;
    prefault_pending = true;
    pthread_mutex_lock(&pf.mu);
    if (!pf.started) {
        if (gc_spawn_thread(prefault_main, NULL, "tc-prefault") == 0)
            pf.started = true;
        else
            prefault_off = true; /* no thread: the mutators fault their pages, as before */
    }
    pf.wake = true;
    pthread_cond_signal(&pf.cv);
    pthread_mutex_unlock(&pf.mu);
}

void mheap_prefault_wait_idle(void)
{
    for (;;) {
        tc_lock(&mheap_.lock);
        bool busy = prefault_pending;
        tc_unlock(&mheap_.lock);
        if (!busy) return;
        sched_yield();
    }
}

uint64_t mheap_prefaulted_chunks(uintptr_t *last)
{
    if (last != NULL) *last = atomic_load_explicit(&prefault_last, memory_order_relaxed);
    return atomic_load_explicit(&prefault_chunks, memory_order_relaxed);
}

/* fork. The prefault thread (like the background sweeper) may hold the
 * heap lock at any moment, half-way through growing the heap: the forking
 * thread takes the lock before fork, so the child's heap is consistent, and
 * the child, whose only thread that is, starts the lock afresh. The prefault
 * thread does not exist in the child: it is started again on demand. */
static void fork_prepare(void) { tc_lock(&mheap_.lock); }
static void fork_parent(void) { tc_unlock(&mheap_.lock); }
static void fork_child(void)
{
    pthread_mutex_init(&mheap_.lock.m, NULL);
    critical_leave(); /* fork_prepare's */
    pthread_mutex_init(&pf.mu, NULL);
    pthread_cond_init(&pf.cv, NULL);
    pthread_cond_init(&pf.idle, NULL);
    pf.started = pf.wake = pf.hold = pf.busy = false;
    prefault_pending = false;
}

/* ---- span allocation ------------------------------------------------------------ */

/* Whether [base, base + npages pages) may hold junk, advancing each arena's
 * zeroed_base past it (Go's allocNeedsZero). The caller owns the pages; no
 * lock needed. */
static bool alloc_needs_zero(uintptr_t base, size_t npages)
{
    bool need = false;
    uintptr_t end = base + npages * TC_PAGE_SIZE;
    while (base < end) {
        heap_arena *ha = mheap_arena_of(base);
        uintptr_t astart = tc_align_down(base, TC_ARENA_SIZE);
        uintptr_t off = base - astart;
        uintptr_t aend = end - astart < TC_ARENA_SIZE ? end - astart : TC_ARENA_SIZE;
        /* A CAS loop, not a store: spans from page caches are made without
         * the heap lock. The pages are ours, so a zb loaded below off means
         * nobody has handed them out, whatever others raise zb to meanwhile. */
        uintptr_t zb = atomic_load_explicit(&ha->zeroed_base, memory_order_relaxed);
        if (off < zb) need = true;
        while (aend > zb &&
               !atomic_compare_exchange_weak_explicit(&ha->zeroed_base, &zb, aend,
                                                      memory_order_relaxed, memory_order_relaxed))
            ;
        base = astart + aend;
    }
    return need;
}

static void set_spans(uintptr_t base, size_t npages, mspan *s)
{
    for (size_t i = 0; i < npages; i++) {
        uintptr_t p = base + i * TC_PAGE_SIZE;
        heap_arena *ha = mheap_arena_of(p);
        atomic_store_explicit(&ha->spans[(p >> TC_PAGE_SHIFT) % TC_PAGES_PER_ARENA], s,
                              memory_order_release);
    }
}

static void set_page_inuse(uintptr_t base, bool on)
{
    heap_arena *ha = mheap_arena_of(base);
    size_t i = (base >> TC_PAGE_SHIFT) % TC_PAGES_PER_ARENA;
    /* Atomic: page-cache spans set their bit without the heap lock. */
    if (on)
        __atomic_fetch_or(&ha->page_inuse[i / 8], (uint8_t)(1u << (i % 8)), __ATOMIC_RELAXED);
    else
        __atomic_fetch_and(&ha->page_inuse[i / 8], (uint8_t) ~(1u << (i % 8)), __ATOMIC_RELAXED);
}

/* Fill in a span's fields for its class (Go's initSpan, less publication). */
static void init_span(mspan *s, uintptr_t base, size_t npages, spanclass spc, bool needzero,
                      size_t large_size)
{
    unsigned sc = spanclass_sizeclass(spc);
    s->next = s->prev = NULL;
    s->list = NULL;
    s->startaddr = base;
    s->npages = npages;
    s->spanclass = spc;
    s->kind = (uint8_t)spanclass_kind(spc);
    s->needzero = needzero;
    s->freeindex = 0;
    atomic_store_explicit(&s->freeindex_for_scan, 0, memory_order_relaxed);
    s->alloc_count = 0;
    s->alloc_count_before_cache = 0;
    atomic_store_explicit(&s->large_type, NULL, memory_order_relaxed);
    size_t bytes = npages * TC_PAGE_SIZE;
    if (sc == 0) {
        s->elemsize = bytes;
        s->nelems = 1;
        s->divmagic = 0;
        s->limit = base + (large_size != 0 && large_size < bytes ? large_size : bytes);
    } else {
        s->elemsize = sizeclass_to_size[sc];
        s->divmagic = sizeclass_to_divmagic[sc];
        size_t usable = bytes;
        if (spanclass_kind(spc) == SPAN_SCAN && s->elemsize <= HEAPBITS_INSPAN_MAX)
            usable -= bytes / TC_PTR_SIZE / 8; /* the in-span pointer bitmap */
        s->nelems = (uint32_t)(usable / s->elemsize);
        s->limit = base + (uintptr_t)s->nelems * s->elemsize;
    }
    s->black_gen = 0; /* a reused span struct keeps no black range */
    s->heapbits = NULL;
    s->elem_words = (uint32_t)(s->elemsize / TC_PTR_SIZE);
    s->elem_wordmask = 0;
    if (mspan_heapbits_inspan(s)) {
        s->heapbits = heapbits_span_bitmap(s);
        s->elem_wordmask = tc_low_mask(s->elem_words);
    }
    /* Both bitmaps in one call (one trip through the gcbits lock). */
    uint32_t rounded = (uint32_t)tc_align_up(s->nelems, 64);
    s->alloc_bits = gcbits_alloc(2 * rounded);
    s->gcmark_bits = s->alloc_bits + rounded / 8;
    s->alloc_cache = tc_low_mask(s->nelems);
    atomic_store_explicit(&s->sweepgen,
                          atomic_load_explicit(&mheap_.sweepgen, memory_order_relaxed),
                          memory_order_relaxed);
}

/* Publish a span on pages [base, +npages) the caller owns: fields, state,
 * page -> span map, page_inuse. Needs no lock (every store is atomic or to
 * the caller's own span). */
static void publish_span(mspan *s, uintptr_t base, size_t npages, spanclass spc, size_t large_size)
{
    init_span(s, base, npages, spc, alloc_needs_zero(base, npages), large_size);
    atomic_store_explicit(&s->state, MSPAN_INUSE, memory_order_release);
    set_spans(base, npages, s);
    set_page_inuse(base, true);
    atomic_fetch_add_explicit(&mheap_.spans_inuse, 1, memory_order_relaxed);
}

/* Refill c's page cache (if empty) and span stash (if empty). Heap lock held.
 * false when the OS has no more memory. */
static bool refill_page_cache(mcache *c)
{
    if (pagecache_empty(&c->pcache) && !pagealloc_alloc_to_cache(mheap_.pages, &c->pcache) &&
        (!heap_grow(1) || !pagealloc_alloc_to_cache(mheap_.pages, &c->pcache)))
        return false;
    prefault_check();
    while (c->nspanstash < MHEAP_SPANSTASH) {
        mspan *s = tc_fixalloc_alloc(&mheap_.spanalloc);
        if (s == NULL) tc_throw("mheap_alloc_span: out of memory for a span struct");
        c->spanstash[c->nspanstash++] = s;
    }
    return true;
}

/* The page-cache path (Go's allocSpan with a P): pages and span struct from
 * the calling thread's cache, the heap lock only to refill it. NULL when the
 * cache cannot serve npages (its free pages are fragmented) or the OS has no
 * more memory: the caller takes the locked path. */
static mspan *alloc_span_cached(mcache *c, size_t npages, spanclass spc, size_t large_size)
{
    size_t scav = 0;
    uintptr_t base = pagealloc_cache_alloc(&c->pcache, npages, &scav);
    /* Pages left but no run of npages: the locked path, until 1-page spans
     * empty the cache. */
    if (base == 0 && !pagecache_empty(&c->pcache)) return NULL;
    if (base == 0 || c->nspanstash == 0) {
        tc_lock(&mheap_.lock);
        bool ok = refill_page_cache(c);
        tc_unlock(&mheap_.lock);
        if (!ok) {
            if (base != 0) tc_throw("mheap: a span struct could not be had for %#lx", base);
            return NULL;
        }
        if (base == 0) base = pagealloc_cache_alloc(&c->pcache, npages, &scav);
        if (base == 0) return NULL;
    }
    if (scav != 0) sys_used((void *)base, npages * TC_PAGE_SIZE, scav);
    mspan *s = c->spanstash[--c->nspanstash];
    publish_span(s, base, npages, spc, large_size);
    return s;
}

mspan *mheap_alloc_span(size_t npages, spanclass spc, size_t large_size)
{
    if (tc_unlikely(npages == 0 || npages > (SIZE_MAX >> TC_PAGE_SHIFT) / 2))
        tc_throw("mheap_alloc_span: bad page count %zu", npages);
    /* Between taking pages from the cache and publishing the span a
     * collection must not run (it would flush the cache under us). */
    critical_enter();
    mcache *c = mcache_tls;
    if (c != NULL && npages < MHEAP_PCACHE_MAX_PAGES) {
        mspan *s = alloc_span_cached(c, npages, spc, large_size);
        if (s != NULL) {
            critical_leave();
            return s;
        }
    }
    tc_lock(&mheap_.lock);
    size_t scav = 0;
    uintptr_t base = pagealloc_alloc(mheap_.pages, npages, &scav);
    if (base == 0) {
        if (!heap_grow(npages) || (base = pagealloc_alloc(mheap_.pages, npages, &scav)) == 0) {
            tc_unlock(&mheap_.lock);
            critical_leave();
            return NULL;
        }
    }
    if (scav != 0) sys_used((void *)base, npages * TC_PAGE_SIZE, scav);
    prefault_check();
    mspan *s = tc_fixalloc_alloc(&mheap_.spanalloc);
    if (s == NULL) tc_throw("mheap_alloc_span: out of memory for a span struct");
    publish_span(s, base, npages, spc, large_size);
    tc_unlock(&mheap_.lock);
    critical_leave();
    return s;
}

void mheap_flush_page_cache(mcache *c)
{
    if (pagecache_empty(&c->pcache) && c->nspanstash == 0) return;
    tc_lock(&mheap_.lock);
    pagealloc_flush_cache(mheap_.pages, &c->pcache);
    while (c->nspanstash > 0) tc_fixalloc_free(&mheap_.spanalloc, c->spanstash[--c->nspanstash]);
    tc_unlock(&mheap_.lock);
}

void mheap_free_span(mspan *s)
{
    tc_lock(&mheap_.lock);
    if (tc_unlikely(atomic_load_explicit(&s->state, memory_order_relaxed) != MSPAN_INUSE))
        tc_throw("mheap_free_span: span %p (%#lx) is in state %d, not in use", (void *)s,
                 (unsigned long)s->startaddr, (int)s->state);
    if (tc_unlikely(s->list != NULL))
        tc_throw("mheap_free_span: span %p (%#lx) is still on list %p", (void *)s,
                 (unsigned long)s->startaddr, (void *)s->list);
    atomic_store_explicit(&s->state, MSPAN_DEAD, memory_order_release);
    set_spans(s->startaddr, s->npages, NULL);
    set_page_inuse(s->startaddr, false);
    pagealloc_free(mheap_.pages, s->startaddr, s->npages);
    atomic_fetch_sub_explicit(&mheap_.spans_inuse, 1, memory_order_relaxed);
    tc_fixalloc_free(&mheap_.spanalloc, s);
    tc_unlock(&mheap_.lock);
}

/* ---- object lookup --------------------------------------------------------------- */

uintptr_t mheap_find_object(uintptr_t p, mspan **span_out, uintptr_t *index_out)
{
    mspan *s = mheap_span_of_heap(p);
    if (s == NULL) return 0;
    uintptr_t i = mspan_obj_index(s, p);
    if (mspan_is_free(s, i)) return 0;
    if (span_out) *span_out = s;
    if (index_out) *index_out = i;
    return s->startaddr + i * s->elemsize;
}

/* The public lookups may run while the span is being swept: sweep it first
 * (Go's ensureSwept), so its alloc bits and freeindex are one consistent
 * pair. The collector's own lookups run with the world stopped instead.
 * Sweep and lookup share one critical section: a thread stopped between
 * them (a stop deferred during the sweep parks it at its end) could resume
 * in the next cycle and read the pair while a sweeper rewrites it. */
static uintptr_t find_object_swept(uintptr_t p, mspan **sp)
{
    critical_enter();
    uintptr_t x = 0;
    mspan *s = mheap_span_of_heap(p);
    if (s != NULL) {
        sweep_ensure_swept(s);
        x = mheap_find_object(p, sp, NULL);
    }
    critical_leave();
    return x;
}

void *tc_object_base(const void *ptr)
{
    mspan *s;
    uintptr_t p = (uintptr_t)ptr;
    uintptr_t x = find_object_swept(p, &s);
    if (x == 0) return NULL;
    if (mspan_has_header(s)) {
        if (p < x + MALLOC_HEADER_SIZE) return NULL; /* the header is not the object's */
        x += MALLOC_HEADER_SIZE;
    }
    return (void *)x;
}

size_t tc_object_size(const void *ptr)
{
    mspan *s;
    uintptr_t p = (uintptr_t)ptr;
    uintptr_t x = find_object_swept(p, &s);
    if (x == 0) return 0;
    if (mspan_is_large(s)) return s->limit - x;
    if (mspan_has_header(s)) {
        if (p < x + MALLOC_HEADER_SIZE) return 0;
        return s->elemsize - MALLOC_HEADER_SIZE;
    }
    return s->elemsize;
}

/* ---- span cursor -------------------------------------------------------------------- */

void mspan_refill_alloc_cache(mspan *s, uint32_t whichbit)
{
    TC_ASSERT(whichbit % 64 == 0);
    uint64_t w;
    memcpy(&w, s->alloc_bits + whichbit / 8, sizeof w); /* bits are 64-bit grouped */
    uint64_t cache = ~w;
    /* No bit for a slot past the end: the fast path trusts every set bit. */
    cache &= tc_low_mask(s->nelems - whichbit);
    s->alloc_cache = cache;
}

uint32_t mspan_next_free_index(mspan *s)
{
    uint32_t sfi = s->freeindex, n = s->nelems;
    /* Full (and mcache_empty_span, shared by every cache): no store. */
    if (sfi == n) return n;
    uint64_t cache = s->alloc_cache;
    if (cache == 0) {
        /* The rest of freeindex's word is taken. When freeindex is on a word
         * boundary the cache may not have been loaded for that word yet:
         * loading it (again) is harmless, every slot from freeindex on
         * has its true alloc bit. */
        uint32_t w = (uint32_t)tc_align_up(sfi, 64);
        for (;;) {
            if (w >= n) {
                s->freeindex = n;
                return n;
            }
            mspan_refill_alloc_cache(s, w);
            if (s->alloc_cache != 0) break;
            w += 64;
        }
        sfi = w;
        cache = s->alloc_cache;
    }
    uint32_t bit = (uint32_t)__builtin_ctzll(cache);
    uint32_t result = sfi + bit;
    s->alloc_cache = (cache >> bit) >> 1;
    s->freeindex = result + 1;
    return result;
}

/* Clear every free slot from freeindex on, in runs as long as the alloc
 * bits allow (one memset per run of free slots, not one per object). */
void mspan_zero_free_slots(mspan *s)
{
    if (!s->needzero) return;
    uint32_t n = s->nelems, fi = s->freeindex;
    uint32_t run_start = 0, run_end = 0; /* the pending run of free slots */
    for (uint32_t w = fi & ~(uint32_t)63; w < n; w += 64) {
        uint64_t bits;
        memcpy(&bits, s->alloc_bits + w / 8, sizeof bits);
        uint64_t free = ~bits;
        if (w < fi) free &= ~(uint64_t)0 << (fi - w);
        free &= tc_low_mask(n - w);
        while (free != 0) {
            uint32_t a = (uint32_t)__builtin_ctzll(free);
            uint64_t rest = ~(free >> a); /* its lowest set bit ends the run */
            uint32_t len = rest == 0 ? 64 - a : (uint32_t)__builtin_ctzll(rest);
            uint32_t start = w + a;
            if (start != run_end) {
                if (run_end > run_start)
                    memset((void *)(s->startaddr + (uintptr_t)run_start * s->elemsize), 0,
                           (size_t)(run_end - run_start) * s->elemsize);
                run_start = start;
            }
            run_end = start + len;
            free = a + len >= 64 ? 0 : free & (~(uint64_t)0 << (a + len));
        }
    }
    if (run_end > run_start)
        memset((void *)(s->startaddr + (uintptr_t)run_start * s->elemsize), 0,
               (size_t)(run_end - run_start) * s->elemsize);
    s->needzero = 0;
}

/* ---- checkers ----------------------------------------------------------------------- */

void mspan_check(const mspan *s)
{
    uintptr_t b = s->startaddr;
#define SPAN_FAIL(...) tc_throw("mspan_check: span %p at %#lx: " __VA_ARGS__)
    if (atomic_load_explicit(&s->state, memory_order_acquire) != MSPAN_INUSE)
        SPAN_FAIL("state %d, not in use", (void *)s, (unsigned long)b, (int)s->state);
    if (b % TC_PAGE_SIZE != 0 || s->npages == 0)
        SPAN_FAIL("bad geometry (%zu pages)", (void *)s, (unsigned long)b, s->npages);
    unsigned sc = spanclass_sizeclass(s->spanclass);
    if (sc >= TC_NUM_SIZE_CLASSES)
        SPAN_FAIL("bad span class %u", (void *)s, (unsigned long)b, (unsigned)s->spanclass);
    if (s->kind != spanclass_kind(s->spanclass) ||
        (s->heapbits != NULL) != mspan_heapbits_inspan(s))
        SPAN_FAIL("kind %u for class %u, heap bits %p", (void *)s, (unsigned long)b,
                  (unsigned)s->kind, (unsigned)s->spanclass, (void *)s->heapbits);
    size_t bytes = s->npages * TC_PAGE_SIZE;
    if (sc == 0) {
        if (s->nelems != 1 || s->elemsize != bytes || s->limit <= b || s->limit > b + bytes)
            SPAN_FAIL("large span: nelems %u elemsize %zu limit %#lx", (void *)s, (unsigned long)b,
                      s->nelems, s->elemsize, (unsigned long)s->limit);
    } else {
        if (s->elemsize != sizeclass_to_size[sc] || s->npages != sizeclass_to_npages[sc] ||
            s->divmagic != sizeclass_to_divmagic[sc])
            SPAN_FAIL("class %u: elemsize %zu npages %zu divmagic %u", (void *)s, (unsigned long)b,
                      sc, s->elemsize, s->npages, s->divmagic);
        size_t usable = bytes - (mspan_heapbits_inspan(s) ? bytes / TC_PTR_SIZE / 8 : 0);
        if (s->nelems != usable / s->elemsize || s->limit != b + s->nelems * s->elemsize)
            SPAN_FAIL("nelems %u limit %#lx for elemsize %zu", (void *)s, (unsigned long)b,
                      s->nelems, (unsigned long)s->limit, s->elemsize);
    }
    if (s->freeindex > s->nelems)
        SPAN_FAIL("freeindex %u > nelems %u", (void *)s, (unsigned long)b, s->freeindex, s->nelems);
    uint32_t fis = atomic_load_explicit(&s->freeindex_for_scan, memory_order_acquire);
    if (fis > s->freeindex)
        SPAN_FAIL("freeindex_for_scan %u > freeindex %u", (void *)s, (unsigned long)b, fis,
                  s->freeindex);
    uint32_t count = 0;
    for (uint32_t i = 0; i < s->nelems; i++)
        if (i < s->freeindex || mspan_bit(s->alloc_bits, i)) count++;
    if (count != s->alloc_count)
        SPAN_FAIL("alloc_count %u, but %u slots are allocated", (void *)s, (unsigned long)b,
                  s->alloc_count, count);
    /* An empty cache on a word boundary may be one not loaded yet. */
    if (!(s->alloc_cache == 0 && s->freeindex % 64 == 0)) {
        for (uint32_t j = 0; j < 64; j++) {
            bool cache_free = (s->alloc_cache >> j) & 1;
            uint32_t slot = s->freeindex + j;
            bool in_word = j < 64 - s->freeindex % 64 && slot < s->nelems;
            if (in_word ? cache_free == mspan_bit(s->alloc_bits, slot) : cache_free)
                SPAN_FAIL("alloc_cache bit %u disagrees with alloc bit %u", (void *)s,
                          (unsigned long)b, j, slot);
        }
    }
    uint32_t sg = atomic_load_explicit(&mheap_.sweepgen, memory_order_relaxed);
    uint32_t ssg = atomic_load_explicit(&s->sweepgen, memory_order_relaxed);
    if (ssg != sg && ssg != sg + 3 && ssg != sg + 1 && ssg != sg - 1 && ssg != sg - 2)
        SPAN_FAIL("sweepgen %u with heap sweepgen %u", (void *)s, (unsigned long)b, ssg, sg);
    if (s->needzero > 1) SPAN_FAIL("needzero %u", (void *)s, (unsigned long)b, s->needzero);
    for (size_t i = 0; i < s->npages; i++) {
        if (mheap_span_of(b + i * TC_PAGE_SIZE) != s)
            SPAN_FAIL("page %zu does not map to the span", (void *)s, (unsigned long)b, i);
    }
    heap_arena *ha = mheap_arena_of(b);
    size_t pi = (b >> TC_PAGE_SHIFT) % TC_PAGES_PER_ARENA;
    if (!(__atomic_load_n(&ha->page_inuse[pi / 8], __ATOMIC_RELAXED) >> (pi % 8) & 1))
        SPAN_FAIL("page_inuse bit clear", (void *)s, (unsigned long)b);
#undef SPAN_FAIL
}

uint64_t mheap_resident_bytes(void)
{
    if (!mheap_.initialised) return 0;
    pagealloc_counts pc = {0};
    tc_lock(&mheap_.lock);
    pagealloc_counts_read(mheap_.pages, &pc);
    tc_unlock(&mheap_.lock);
    /* Pages start scavenged (never touched) and become so again when
     * returned to the OS: the rest are resident, in use or free. */
    return (uint64_t)(pc.total_pages - pc.scavenged_pages) * TC_PAGE_SIZE;
}

void mheap_check(void)
{
    tc_lock(&mheap_.lock);
    size_t pages = 0, spans = 0;
    for (size_t k = 0; k < mheap_.n_arenas; k++) {
        uintptr_t ab = arena_base(mheap_.all_arenas[k]);
        heap_arena *ha = mheap_arena_of(ab);
        if (ha == NULL) tc_throw("mheap_check: arena %#lx has no metadata", (unsigned long)ab);
        for (size_t i = 0; i < TC_PAGES_PER_ARENA; i++) {
            mspan *s = atomic_load_explicit(&ha->spans[i], memory_order_relaxed);
            if (s == NULL) continue;
            pages++;
            if (s->startaddr == ab + i * TC_PAGE_SIZE) spans++;
        }
    }
    pagealloc_counts pc;
    pagealloc_counts_read(mheap_.pages, &pc);
    size_t cached = 0;
    for (mcache *c = mheap_.all_mcaches; c != NULL; c = c->next_all)
        cached += pagecache_pages(&c->pcache);
    if (pages + cached != pc.inuse_pages)
        tc_throw("mheap_check: %zu pages map to spans and %zu are in page caches, the page "
                 "allocator has %zu in use",
                 pages, cached, pc.inuse_pages);
    if (spans != atomic_load_explicit(&mheap_.spans_inuse, memory_order_relaxed))
        tc_throw("mheap_check: %zu spans found, %lu counted", spans,
                 (unsigned long)mheap_.spans_inuse);
    if (pc.total_pages * TC_PAGE_SIZE !=
        atomic_load_explicit(&mheap_.bytes_mapped, memory_order_relaxed))
        tc_throw("mheap_check: page allocator holds %zu pages, heap mapped %lu bytes",
                 pc.total_pages, (unsigned long)mheap_.bytes_mapped);
    pagealloc_check(mheap_.pages);
    tc_unlock(&mheap_.lock);
}

/* ---- start-up --------------------------------------------------------------------------- */

void mheap_init(void)
{
    if (mheap_.initialised) tc_throw("mheap_init: called twice");
    mheap_.pages = pagealloc_new(&stat_gcmeta);
    if (mheap_.pages == NULL) tc_throw("mheap_init: out of memory for the page allocator");
    index_init();
    hints_init();
    tc_fixalloc_init(&mheap_.spanalloc, sizeof(mspan), NULL, NULL, &stat_gcmeta);
    mheap_.spanalloc.zero = false; /* sweepgen must survive reuse */
    tc_fixalloc_init(&mheap_.cachealloc, sizeof(mcache), NULL, NULL, &stat_gcmeta);
    for (unsigned i = 0; i < TC_NUM_SPAN_CLASSES; i++)
        mcentral_init(&mheap_.central[i], (spanclass)i);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    mheap_.initialised = true;
}
