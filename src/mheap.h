/*
 * mheap.h — the page heap: arenas, the arena index, spans, span classes, the
 * gcBits arenas, and the small-object structures built on them (mcentral,
 * mcache) whose layout every heap file shares.
 *
 * Owners: mheap.c (arenas, index, span allocation and freeing, gcBits),
 * mcentral.c (central span lists), mcache.c (per-thread caches), heapbits.c
 * (pointer layout), malloc.c (the allocation API). docs/heap.md tells how
 * they fit together.
 */
#ifndef TC_MHEAP_H
#define TC_MHEAP_H

#include "pagealloc.h"
#include "runtime.h"
#include "sizeclasses.h"
#include "spanclass.h"
#include "types.h"

struct pagealloc;

/* ---- geometry ------------------------------------------------------------ */

#define TC_PAGES_PER_ARENA (TC_ARENA_SIZE / TC_PAGE_SIZE) /* 8192 */
/* The arena index is one level of 2^22 entries over the 48-bit address
 * space (Go's linux/amd64 layout: arenaL1Bits = 0, arenaL2Bits = 22). The
 * offset maps the whole signed 48-bit range onto [0, 2^48), as Go does, so
 * user-space addresses land in the upper half of the index. */
#define ARENA_INDEX_BITS  (TC_ADDR_BITS - TC_ARENA_SHIFT) /* 22 */
#define ARENA_INDEX_LEN   ((size_t)1 << ARENA_INDEX_BITS)
#define ARENA_BASE_OFFSET ((uintptr_t)0xffff800000000000ull)

static inline uintptr_t arena_index(uintptr_t p)
{
    return (p - ARENA_BASE_OFFSET) >> TC_ARENA_SHIFT;
}
static inline uintptr_t arena_base(uintptr_t idx)
{
    return (idx << TC_ARENA_SHIFT) + ARENA_BASE_OFFSET;
}

/* Objects up to this size with pointers keep their pointer bits in a bitmap
 * at the end of their span; larger small objects carry a type header (Go's
 * heapBitsInSpan / minSizeForMallocHeader: 64 words). */
#define HEAPBITS_INSPAN_MAX TYPE_FAST_MAX /* 64 words, 512 bytes (types.h) */
/* The type header of a small object > 512 bytes with pointers. 16 bytes, not
 * Go's 8, so that the object after it stays 16-byte aligned. */
#define MALLOC_HEADER_SIZE 16

/* ---- mspan ------------------------------------------------------------------
 * A run of pages: either npages pages cut into nelems objects of one size
 * class, or one large object. Allocated from mheap_.spanalloc (a fixalloc
 * with zero = false: see sweepgen), never in the heap.
 *
 * sweepgen, relative to the heap's mheap_.sweepgen (sg), which the collector
 * advances by 2 each cycle, with the world stopped:
 *   sg - 2   the span needs sweeping
 *   sg - 1   the span is being swept
 *   sg       swept, ready to use (on an mcentral swept list, or large)
 *   sg + 1   cached in an mcache since before this sweep began: needs
 *            sweeping when it is uncached
 *   sg + 3   swept, then cached; still cached
 * The field survives the span's free and reuse (fixalloc zero = false), so a
 * sweeper holding a stale pointer to a freed span cannot mistake it for one
 * that needs sweeping.
 *
 * Fields are written by the span's owner: the heap under its lock until the
 * span is published, then the owning mcache (freeindex, alloc_cache,
 * alloc_count) or the mcentral under its lock. Lock-free readers (object
 * lookup, later the collector) load state with acquire first; storing
 * state = MSPAN_INUSE with release is the publication point of the fields.
 */
enum { MSPAN_DEAD = 0, MSPAN_INUSE = 1 };

typedef struct mspan mspan;
struct mspan {
    mspan *next; /* links of the mcentral list the span is on */
    mspan *prev;
    struct mspan_list *list; /* the list the span is on, NULL if none */

    uintptr_t startaddr; /* first byte of the span */
    size_t npages;       /* pages in the span */

    /* Allocation cursor. Slots below freeindex are allocated; from
     * freeindex on, a slot is free iff its alloc bit is clear. alloc_cache
     * holds the complement of the alloc bits from freeindex to the end of
     * their 64-bit word, shifted so bit 0 is slot freeindex: a set bit is a
     * free slot (Go's allocCache, found with count-trailing-zeros). Bits of
     * slots at or past nelems are always clear, so the fast path trusts any
     * set bit. When the cache is 0 and freeindex is a multiple of 64 the
     * word at freeindex may simply not be loaded yet (the fast path took the
     * last slot of the previous word): mspan_next_free_index loads it. */
    uint32_t freeindex;
    uint32_t nelems; /* object slots in the span */
    uint64_t alloc_cache;
    /* freeindex as the collector and object lookup may trust it: stored with
     * release after each object's heap bits and zeroing are done (Go's
     * freeIndexForScan), so a concurrent reader never treats a slot whose
     * metadata is unwritten as allocated. */
    _Atomic uint32_t freeindex_for_scan;
    uint32_t alloc_count; /* slots below freeindex + those above with their alloc bit set */
    uint32_t alloc_count_before_cache; /* alloc_count when an mcache took it (statistics) */

    /* One bit per slot, from gcBits arenas. allocBits: allocated at the last
     * sweep; gcmarkBits: marked in the current cycle (the sweeper swaps them). */
    uint8_t *alloc_bits;
    uint8_t *gcmark_bits;

    _Atomic uint32_t sweepgen; /* see above */
    uint32_t divmagic;         /* (off * divmagic) >> 32 == off / elemsize */
    size_t elemsize;           /* slot size; for a large span, npages * page size */
    uintptr_t limit;           /* end of the last slot (large: end of the object) */
    spanclass spanclass;
    _Atomic uint8_t state; /* MSPAN_*: the publication point */
    /* 1 if the free slots may hold junk and must be cleared before use; 0 if
     * they are known zero (fresh from the OS, never allocated since, or
     * cleared). A span is cleared when an mcache takes it
     * (mspan_zero_free_slots), so the allocation fast path never tests it;
     * large spans are cleared at allocation. */
    uint8_t needzero;
    /* 1: every slot's heap bits are set (every word a pointer). Set at a
     * refill that finds the span empty (heapbits_fill_if_empty), cleared
     * at any other refill and by any write of other bits
     * (heapbits_write_small), so while it is 1 every object allocated in
     * the span since is all pointers. tc_new's fast path then writes no
     * bits for such a type (binary-trees' nodes, cons cells, tree links:
     * about 18 of the 80 instructions of each allocation), and the marker
     * reads no bitmap word for their objects. Relaxed atomics: the owner
     * writes it, markers read it; objects a marker scans were allocated
     * before the mark began (later ones are black), and the stop orders
     * their writes of it before the marker's reads. */
    uint8_t heapbits_ones;
    /* spanclass_kind(spanclass), kept because the marker tests it for every
     * object and % 3 costs five instructions. */
    uint8_t kind;
    /* A large object's type, stored with release once the object is zeroed;
     * NULL means "nothing to scan yet" (Go's largeType). Scan spans only. */
    const tc_type *_Atomic large_type;
    /* Allocate-black, recorded lazily (mark.h, mark.c): the slots in
     * [black_from, black_to) whose alloc bit is clear were allocated while
     * mark generation black_gen ran (0: none); the sweeper folds them into
     * the mark bits. Written by the span's owner (the allocating cache, then
     * the sweeper); read by markers with acquire on black_gen. */
    uint32_t black_gen, black_from, black_to;
    /* Spans with an in-span bitmap (mspan_heapbits_inspan), for the
     * allocation path: the bitmap (heapbits_span_bitmap), the words of one
     * slot and their mask. Set by init_span; read by the allocation path
     * and scanobject's fast path. */
    uint64_t *heapbits;
    uint32_t elem_words;
    uint64_t elem_wordmask;
};

/* Intrusive doubly-linked list of spans. */
typedef struct mspan_list {
    mspan *first, *last;
    size_t n;
} mspan_list;

void mspan_list_push(mspan_list *l, mspan *s); /* at the end */
void mspan_list_push_front(mspan_list *l, mspan *s);
void mspan_list_remove(mspan_list *l, mspan *s);

static inline uintptr_t mspan_base(const mspan *s) { return s->startaddr; }
static inline bool mspan_is_large(const mspan *s) { return spanclass_sizeclass(s->spanclass) == 0; }
/* Whether objects of this span keep their pointer bits at the span's end.
 * Equivalently (init_span sets it so, mspan_check verifies it),
 * s->heapbits != NULL: what the marker's hot path tests. */
static inline bool mspan_heapbits_inspan(const mspan *s)
{
    return spanclass_kind(s->spanclass) == SPAN_SCAN && !mspan_is_large(s) &&
           s->elemsize <= HEAPBITS_INSPAN_MAX;
}
/* Whether objects of this span start with a MALLOC_HEADER_SIZE type header. */
static inline bool mspan_has_header(const mspan *s)
{
    return spanclass_kind(s->spanclass) == SPAN_SCAN && !mspan_is_large(s) &&
           s->elemsize > HEAPBITS_INSPAN_MAX;
}
static inline bool mspan_bit(const uint8_t *bits, uintptr_t i)
{
    return (bits[i / 8] >> (i % 8)) & 1;
}

/* Slot index of address p inside s (p within [start, limit)). */
static inline uintptr_t mspan_obj_index(const mspan *s, uintptr_t p)
{
    return (uintptr_t)(((uint64_t)(p - s->startaddr) * s->divmagic) >> 32);
}

/* Whether slot i is free, as a lock-free reader sees it (Go's isFree). */
static inline bool mspan_is_free(const mspan *s, uintptr_t i)
{
    if (i < atomic_load_explicit(&s->freeindex_for_scan, memory_order_acquire)) return false;
    return !mspan_bit(s->alloc_bits, i);
}

/* Index of the next free slot at or after freeindex, advancing freeindex and
 * alloc_cache; nelems when the span is full. Owner only. */
uint32_t mspan_next_free_index(mspan *s);
/* Reload alloc_cache for the 64 slots starting at whichbit (a multiple of 64). */
void mspan_refill_alloc_cache(mspan *s, uint32_t whichbit);
/* If s has needzero set, clear its free slots from freeindex on and clear
 * needzero: an mcache hands out only zeroed slots. Owner only. */
void mspan_zero_free_slots(mspan *s);
/* Validity checker: throws at the first broken invariant of s. The caller
 * owns s or holds the lock of the list it is on. */
void mspan_check(const mspan *s);

/* ---- arenas ----------------------------------------------------------------
 * Metadata of one 64 MiB arena, in sys memory. The index entry for an arena
 * goes from NULL to its heap_arena once and never changes again. */
typedef struct heap_arena {
    /* page -> span: every page of an in-use span maps to it; pages of free
     * runs map to NULL. Written under the heap lock, read lock-free. */
    mspan *_Atomic spans[TC_PAGES_PER_ARENA];
    /* One bit per page, set for the first page of each in-use span (the
     * reclaimer will scan it against the mark bits). Heap lock. */
    uint8_t page_inuse[TC_PAGES_PER_ARENA / 8];
    /* Bytes from the arena start below which pages may have been used:
     * everything at or above it is still zero from the OS. Only grows.
     * Written under the heap lock. */
    _Atomic uintptr_t zeroed_base;
    /* gccheckmark's bitmap, one bit per word (mark.c); allocated on first use,
     * touched only with the world stopped. */
    uint8_t *checkmarks;
} heap_arena;

/* ---- gcBits arenas -----------------------------------------------------------
 * Alloc and mark bits are bump-allocated from 64 KiB chunks of sys memory
 * (stat_gcmeta). Chunks belong to an epoch: new bits come from "next"; the
 * collector's gcbits_next_epoch (after each sweep) moves next -> current ->
 * previous -> free, and free chunks are cleared and reused. Bits are
 * claimed with an atomic add; the gcbits lock (leaf below the heap lock) is
 * taken only to add a chunk and to rotate the epochs. */
uint8_t *gcbits_alloc(uint32_t nelems); /* zeroed, (nelems+63)/64 words */
void gcbits_next_epoch(void);
uint64_t gcbits_bytes(void); /* sys bytes held by gcBits chunks */

/* ---- the heap ------------------------------------------------------------- */

typedef struct mcentral mcentral;
struct mcentral {
    tc_mutex lock;
    spanclass spanclass;
    /* partial: spans with a free slot; full: none. Each pair is indexed by
     * sweepgen parity: [sg/2 % 2] swept, the other unswept (Go's layout). */
    mspan_list partial[2];
    mspan_list full[2];
    _Atomic uint64_t nspans; /* spans this mcentral ever got from the heap (relaxed) */
    /* Retention of emptied spans (sweep.c): under lock. */
    uint32_t nrefills;      /* spans caches took since the budget was last set */
    uint32_t retain_budget; /* empty spans the sweep of cycle retain_sg may still keep */
    uint32_t retain_sg;
} __attribute__((aligned(TC_CACHELINE)));

typedef struct mcache mcache;

/* Spans below this many pages come from the thread's page cache (Go: a
 * quarter of the cache); mspan structs a cache keeps at hand. */
#define MHEAP_PCACHE_MAX_PAGES (PAGECACHE_PAGES / 4)
#define MHEAP_SPANSTASH        16

typedef struct mheap {
    tc_mutex lock;
    struct pagealloc *pages; /* heap lock */
    /* The heap's sweep generation; +2 per GC cycle with the world stopped.
     * Read by everyone (relaxed is enough: it changes only in a stop). */
    _Atomic uint32_t sweepgen;

    /* Arena index: ARENA_INDEX_LEN entries, read without a lock. */
    heap_arena *_Atomic *arenas;
    uint8_t *arenas_touched; /* one bit per OS page of the index that is charged */
    uint32_t *all_arenas;    /* indices of every arena, in order of reservation */
    size_t n_arenas, cap_arenas;

    /* Reserved address space not yet given to the page allocator. */
    uintptr_t cur_arena_base, cur_arena_end;
    uintptr_t last_grow_base; /* base of the range the last heap_grow added (heap lock) */
    /* Addresses to try for the next reservation (Go's arena hints). */
    uintptr_t hints[128];
    unsigned n_hints, next_hint;

    tc_fixalloc spanalloc;  /* mspan structs; heap lock; zero = false */
    tc_fixalloc cachealloc; /* mcache structs; heap lock */
    mcache *all_mcaches;    /* every live mcache (statistics); heap lock */

    /* Statistics, relaxed atomics. */
    _Atomic uint64_t spans_inuse;                  /* heap lock writes */
    _Atomic uint64_t bytes_mapped;                 /* arena bytes Prepared or Ready */
    _Atomic uint64_t nmalloc[TC_NUM_SIZE_CLASSES]; /* slots handed out; [0]: large objects */
    _Atomic uint64_t large_bytes;                  /* bytes of large objects' spans */
    _Atomic uint64_t tiny_allocs;                  /* tiny objects packed into an existing block */
    _Atomic uint64_t meta_bytes;                   /* arena metadata and index pages (sys) */

    bool initialised;
    mcentral central[TC_NUM_SPAN_CLASSES];
} mheap;

extern mheap mheap_;

void mheap_init(void);

/* A span of npages pages for span class spc, initialised and published
 * (state InUse), its sweepgen = sg. NULL when the OS has no more memory.
 * For a small class, npages must be the class's page count; for a large
 * one, large_size is the object's size (the span's limit). Takes the heap
 * lock (and, inside it, the gcbits lock). */
mspan *mheap_alloc_span(size_t npages, spanclass spc, size_t large_size);
/* Return an in-use span's pages to the page allocator (they coalesce) and
 * the span to spanalloc. The span must be on no list. The sweeper calls it;
 * until then tests do. Takes the heap lock. */
void mheap_free_span(mspan *s);
/* Give c's page cache and stashed mspan structs back to the heap (takes the
 * heap lock). Caller: c's owner thread, or the collector with it stopped.
 * mcache_release_all calls it, so a detaching thread and every collection
 * return their pages. */
void mheap_flush_page_cache(mcache *c);
/* Heap bytes the process holds resident: pages handed out at least once
 * and not returned to the OS since, in use or free (Go's HeapSys -
 * HeapReleased). Takes the heap lock. The pacer lets a heap grow into them
 * for free. */
uint64_t mheap_resident_bytes(void);

/* The span-table entry for p's page, or NULL if p is outside every arena
 * (the marker prefetches it before it needs the span). */
static inline mspan *_Atomic *mheap_span_slot(uintptr_t p)
{
    uintptr_t ai = arena_index(p);
    heap_arena *_Atomic *index = mheap_.arenas; /* NULL before tc_init */
    if (tc_unlikely(ai >= ARENA_INDEX_LEN || index == NULL)) return NULL;
    heap_arena *ha = atomic_load_explicit(&index[ai], memory_order_acquire);
    return ha == NULL ? NULL : &ha->spans[(p >> TC_PAGE_SHIFT) % TC_PAGES_PER_ARENA];
}
/* The span containing p, or NULL if p is outside every arena or on a free
 * page. Lock-free; the span may be stale or not in use: check state. */
static inline mspan *mheap_span_of(uintptr_t p)
{
    mspan *_Atomic *slot = mheap_span_slot(p);
    return slot == NULL ? NULL : atomic_load_explicit(slot, memory_order_acquire);
}
/* Whether s (possibly NULL) is in use and its objects cover p. */
static inline bool mspan_covers(const mspan *s, uintptr_t p)
{
    return s != NULL && atomic_load_explicit(&s->state, memory_order_acquire) == MSPAN_INUSE &&
           p - s->startaddr < s->limit - s->startaddr; /* p below start wraps */
}
/* The in-use span whose objects cover p (p in [start, limit)), else NULL. */
static inline mspan *mheap_span_of_heap(uintptr_t p)
{
    mspan *s = mheap_span_of(p);
    return mspan_covers(s, p) ? s : NULL;
}
/* Go's findObject: the slot start of the allocated object containing p and
 * its span, or 0 when p is not inside an allocated object's slot. */
uintptr_t mheap_find_object(uintptr_t p, mspan **span_out, uintptr_t *index_out);

/* The arena metadata for p, or NULL. */
static inline heap_arena *mheap_arena_of(uintptr_t p)
{
    uintptr_t ai = arena_index(p);
    if (ai >= ARENA_INDEX_LEN || mheap_.arenas == NULL) return NULL;
    return atomic_load_explicit(&mheap_.arenas[ai], memory_order_acquire);
}

/* Heap-wide validity check: every span reachable from the arena index is
 * consistent and the page allocator agrees (pages held by threads' page
 * caches count as in use there). Takes the heap lock; no other thread may be
 * allocating spans meanwhile (the page-cache path makes spans without the
 * lock). */
void mheap_check(void);

/* Chunks of fresh heap the prefault thread has populated ahead of need
 * (mheap.c, "fresh memory faulted in ahead of need"), and in *last (unless
 * NULL) the base of the latest. */
uint64_t mheap_prefaulted_chunks(uintptr_t *last);
/* Tests: how long the prefault thread sleeps holding the heap lock after a
 * grow (0: not at all). */
extern _Atomic unsigned mheap_prefault_test_hold_us;
/* Wait until no prefault is pending (tests that count resident bytes). */
void mheap_prefault_wait_idle(void);
/* on: wait for the prefault thread's step in progress (a grow, a huge
 * page's populate) to end and start no other until off. The collector
 * brackets each stop with it (mheap.c, "Stops"). No runtime lock held. */
void mheap_prefault_hold(bool on);
/* Tests: whether the prefault thread is inside a step now. */
bool mheap_prefault_test_busy(void);

/* ---- mcentral (mcentral.c) --------------------------------------------------- */
void mcentral_init(mcentral *c, spanclass spc);
/* A span with at least one free slot, swept, its sweepgen = sg + 3 and its
 * alloc_cache loaded; NULL when the OS has no more memory. */
mspan *mcentral_cache_span(mcentral *c);
/* Give back a span that an mcache held. */
void mcentral_uncache_span(mcentral *c, mspan *s);
/* mcentral_uncache_span(c, old) (unless old is NULL), then
 * mcentral_cache_span(c), with one trip through c's lock. */
mspan *mcentral_refill_span(mcentral *c, mspan *old);
/* Whether the sweep of cycle sg keeps an emptied span of c's class instead
 * of freeing its pages: at most as many as c's caches took during the last
 * cycle (sweep.c, "Emptied spans"). */
bool mcentral_retain_empty(mcentral *c, uint32_t sg);
/* Record a freshly allocated large span (full, swept) so the sweeper finds it. */
void mcentral_add_large(mcentral *c, mspan *s);
/* Take a span off whatever list of c it is on (the sweeper's freeing path). */
void mcentral_remove(mcentral *c, mspan *s);
/* Validity checker over every list; takes c's lock. */
void mcentral_check(mcentral *c);

/* ---- mcache (mcache.c) -------------------------------------------------------- */
struct mcache {
    /* The span each class allocates from; &mcache_empty_span when none, so
     * the fast path never tests for NULL. */
    mspan *alloc[TC_NUM_SPAN_CLASSES];
    /* The tiny allocator's current 16-byte block (a heap pointer held in
     * unmanaged memory: the collector greys it at the start of a cycle) and
     * the offset of its first free byte. */
    uintptr_t tiny;
    uintptr_t tiny_offset;
    uint64_t tiny_allocs; /* tiny objects packed into a block since the last flush */
    /* Bytes allocated black (marked at allocation) during this mark; the
     * collector adds them to the marked bytes with the world stopped. */
    uint64_t black_bytes;
    mcache *next_all; /* mheap_.all_mcaches link; heap lock */
    /* Go's per-P page cache and mspan cache: spans of fewer than
     * MHEAP_PCACHE_MAX_PAGES pages take their pages from pcache and their
     * struct from spanstash without the heap lock; both are refilled under
     * it and given back by mheap_flush_page_cache. Owner thread only (or
     * the collector with the owner stopped). */
    pagecache pcache;
    uint32_t nspanstash;
    mspan *spanstash[MHEAP_SPANSTASH];
};

extern mspan mcache_empty_span;
/* The calling thread's cache; NULL until its first allocation. Initial-exec
 * TLS so that the fast path is one load even in the shared library. */
extern __thread mcache *mcache_tls TC_TLS_IE;
/* mcache_tls again, for the allocation fast path only: NULL when the fast
 * path must not be taken (no cache yet, or TC_DEBUG=gcstress, which counts
 * every allocation on the general path), so that one load and one test
 * decide. Set and cleared with mcache_tls. */
extern __thread mcache *mcache_fast_tls TC_TLS_IE;

/* The calling thread's mcache, created on first use (fatal before tc_init). */
mcache *mcache_current(void);
/* Release and free the calling thread's cache (tc_thread_detach calls it;
 * the thread's next allocation attaches it again and makes a new cache). */
void mcache_thread_exit(void);
/* Replace the cache's span for class spc by one with a free slot. Returns
 * the new span, NULL when the OS has no more memory. */
mspan *mcache_refill(mcache *c, spanclass spc);
/* Return every cached span to its mcentral, drop the tiny block, flush the
 * cache's statistics. The cache stays usable (it refills on demand). */
void mcache_release_all(mcache *c);
/* Counts of allocations that live only in c's cached spans so far, added into
 * per-class nmalloc and tiny (statistics of the calling thread). */
void mcache_pending_counts(const mcache *c, uint64_t *nmalloc, uint64_t *tiny);

/* ---- heap bits (heapbits.c) ---------------------------------------------------- */

/* Clear a new scan span's in-span bitmap (mcentral_grow, outside the heap lock). */
void heapbits_init_span(mspan *s);
/* At a refill: if s holds no object, set the heap bits of all its slots and
 * s->heapbits_ones (see mspan); else clear heapbits_ones. */
void heapbits_fill_if_empty(mspan *s);
/* The in-span pointer bitmap: one bit per word of the span, at its end. */
static inline uint64_t *heapbits_span_bitmap(const mspan *s)
{
    size_t bytes = s->npages * TC_PAGE_SIZE;
    return (uint64_t *)(s->startaddr + bytes - bytes / TC_PTR_SIZE / 8);
}

/* Write the bits of the object in slot x of an in-span-bitmap span: n
 * elements of t (n * t->size <= elemsize <= 512), zero bits for the slack.
 * Only the span's owner writes; concurrent readers load the words, so they
 * are loaded and stored (never read-modify-written) as relaxed atomics. */
/* Record bits (bit i: word i of the object is a pointer) for the small
 * object in slot idx of an in-span-bitmap span. heapbits_set_small computes
 * them for n elements of t; tc_new's fast path has them ready. */
static inline void heapbits_write_small(mspan *s, uintptr_t idx, uint64_t bits)
{
    uint64_t *bm = s->heapbits, objmask = s->elem_wordmask;
    if (bits != objmask) __atomic_store_n(&s->heapbits_ones, 0, __ATOMIC_RELAXED);
    size_t w = idx * s->elem_words, i = w / 64, shift = w % 64;
    uint64_t v = __atomic_load_n(&bm[i], __ATOMIC_RELAXED);
    __atomic_store_n(&bm[i], (v & ~(objmask << shift)) | (bits << shift), __ATOMIC_RELAXED);
    if (tc_unlikely(shift + s->elem_words > 64)) {
        uint64_t hi = __atomic_load_n(&bm[i + 1], __ATOMIC_RELAXED);
        hi = (hi & ~(objmask >> (64 - shift))) | (bits >> (64 - shift));
        __atomic_store_n(&bm[i + 1], hi, __ATOMIC_RELAXED);
    }
}

static inline void heapbits_set_small(mspan *s, uintptr_t x, const tc_type *t, size_t n)
{
    size_t pw = t->ptrdata / TC_PTR_SIZE; /* <= 64 here */
    uint64_t em = t->mask[0];
    em &= tc_low_mask(pw);
    uint64_t bits = em;
    size_t ew = t->size / TC_PTR_SIZE;
    for (size_t i = 1; i < n; i++) bits |= em << (i * ew);
    heapbits_write_small(s, mspan_obj_index(s, x), bits);
}

/* Record the layout of an object of n elements of t at slot base x (before
 * the pointer is published). Returns the user address (x, or x + header). */
uintptr_t heapbits_set_type(mspan *s, uintptr_t x, const tc_type *t, size_t n);

/* The type recorded for the allocated object at slot x of s: the header's
 * type (scan objects above 512 bytes) or large_type (large scan objects).
 * NULL where only the pointer bits are recorded (scan objects of at most 512
 * bytes) and for noscan and conservative objects, which have no type. */
const tc_type *heapbits_object_type(mspan *s, uintptr_t x);

/* Pointer slots of one object, as the collector walks them. */
typedef struct heapbits_iter {
    int mode;
    uintptr_t addr;      /* bitmap and conservative modes: address of bit 0 of bits */
    uintptr_t end;       /* end of the words that may hold pointers */
    uint64_t bits;       /* pending pointer bits */
    const tc_type *type; /* typed mode: the type tiled over [elem_base, end) */
    uintptr_t elem_base; /* typed mode: the current element */
    size_t chunk;        /* typed mode: which 64-word chunk of the type's mask */
} heapbits_iter;

/* Start iterating over the pointer slots of the allocated object whose slot
 * starts at x in span s. */
void heapbits_iter_init(heapbits_iter *it, mspan *s, uintptr_t x);
/* The next word address that holds a pointer (precise) or may (conservative),
 * or 0 at the end. */
uintptr_t heapbits_next(heapbits_iter *it);
/* The same, for the pointer slots of the object at x that lie in [lo, hi):
 * a part of a large object (an oblet, mark.c). */
void heapbits_iter_init_range(heapbits_iter *it, mspan *s, uintptr_t x, uintptr_t lo, uintptr_t hi);

/* ---- malloc.c -------------------------------------------------------------- */
void *malloc_large(size_t size, unsigned kind, const tc_type *t, size_t n);
/* Fill the heap section of tc_stats (called by tc_read_stats). */
void mheap_read_stats(tc_stats *out);

#endif
