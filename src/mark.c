/*
 * mark.c — marking: shading objects grey, scanning them black, and the
 * parallel drain of the grey set.
 *
 * Vocabulary (Lua's and Go's): an object is white while its mark bit is
 * clear; greyobject sets the bit and queues the object (grey); scanobject
 * shades everything the object points to, after which the object is black.
 * Pointer-free objects skip grey: marking them makes them black at once.
 *
 * Sources of pointers and how they are trusted:
 *   - precise heap slots (scan spans: heap bits, type headers, large types)
 *     and precise roots: a word that points into the heap but not at an
 *     allocated object is a dangling or corrupted pointer. With
 *     invalidptr=1 (the default) that is fatal, naming the slot, the value
 *     and the span; with invalidptr=0 it is ignored.
 *   - conservative sources (stacks, saved registers, conservative roots and
 *     conservative objects): any word might be an integer, so words that do
 *     not point at an allocated object are ignored. Interior pointers keep
 *     their object alive. A stack or register word that points exactly at
 *     the end of a pointer-free object (one past it: the end pointer of a
 *     loop over a buffer, through which compiled code may still address the
 *     buffer) also keeps that object alive: the boundary rule of
 *     docs/gc.md. It is limited to stacks and to noscan neighbours because
 *     a word pointing at an object's start would otherwise keep its
 *     neighbour too, and a neighbour with pointers keeps everything its
 *     stale fields reach (GCBench held twice its live heap that way); a
 *     noscan neighbour holds nothing else.
 *
 * Invariants:
 *   - a mark bit, once set in a cycle, stays set until the sweeper makes the
 *     mark bits the alloc bits;
 *   - every object whose bit is set is either black (scanned, or noscan) or
 *     in exactly one work buffer (grey);
 *   - marking runs only while gc_phase != GC_OFF;
 *   - no span is freed or changes its bounds while marking runs (only the
 *     sweeper frees spans, and every span is swept before stop #1): a
 *     drain may remember the last span it looked up (span_cache).
 *
 * Concurrency: mark bits are set with an atomic test-and-set on their
 * 64-bit word, after a plain test (several markers may shade the same
 * object; exactly one wins and queues it). Objects allocated during the mark
 * are black without touching their bits (see mark_new_slot in mark.h): the
 * span records the range, and the sweeper folds it into the bits.
 * Markers read other threads' stacks and the heap while those threads are
 * stopped; the functions that do are excluded from AddressSanitizer (a stack
 * scan reads redzones by design) and ThreadSanitizer (the reads are ordered
 * by the stop, which TSan cannot see through a signal handler). The drain
 * loops are excluded too, because they inline scanobject; besides the heap
 * they touch only their own work buffers (the shared lists are reached
 * through gcwork.c, which stays instrumented).
 *
 * Checkmark mode (TC_DEBUG=gccheckmark=1): after a mark, gc.c re-marks the
 * heap with the world stopped on one thread, using a separate bitmap per
 * arena (one bit per word). greyobject then reports any object that the
 * re-mark reaches but the first mark left white: a missing barrier or a lost
 * root.
 */
#include "mark.h"

#include <string.h>

#include <inttypes.h>
#include <stdio.h>

#include "debug.h"
#include "gc.h"
#include "roots.h"
#include "stats.h"
#include "sys.h"
#include "types.h"

bool mark_checkmark_mode;
__thread bool mark_scanning_stack;

/* ---- mark bits ------------------------------------------------------------ */

static inline bool try_set_bit(uint8_t *bits, uintptr_t i)
{
    uint8_t m = (uint8_t)(1u << (i % 8));
    uint8_t *b = &bits[i / 8];
    if (__atomic_load_n(b, __ATOMIC_RELAXED) & m) return false;
    return !(__atomic_fetch_or(b, m, __ATOMIC_RELAXED) & m);
}

/* The same on a span's mark bits, which gcbits_alloc hands out in whole
 * 64-bit words: one word-sized test-and-set (a single `lock bts`) instead of
 * a compare-and-swap loop on the byte. Bit i of the word is bit i % 8 of
 * byte i / 8 (x86-64 is little-endian), so byte-wide readers agree. */
static inline bool try_set_mark(uint8_t *bits, uintptr_t i)
{
    uint64_t *word = (uint64_t *)bits + i / 64;
    uint64_t m = (uint64_t)1 << (i % 64);
    if (__atomic_load_n(word, __ATOMIC_RELAXED) & m) return false;
    return !(__atomic_fetch_or(word, m, __ATOMIC_RELAXED) & m);
}

/* Whether slot idx of s was allocated (black) during this mark, its mark
 * bit not yet set: mark_is_marked's second half. */
static inline bool allocated_black(const mspan *s, uintptr_t idx)
{
    /* Acquire: pairs with mark_black_record's release, so a current
     * generation comes with its black_from. */
    return __atomic_load_n(&s->black_gen, __ATOMIC_ACQUIRE) ==
               __atomic_load_n(&mark_black_gen, __ATOMIC_RELAXED) &&
           idx >= __atomic_load_n(&s->black_from, __ATOMIC_RELAXED) &&
           idx < __atomic_load_n(&s->black_to, __ATOMIC_RELAXED) && !mspan_bit(s->alloc_bits, idx);
}

bool mark_is_marked(const mspan *s, uintptr_t i)
{
    if ((__atomic_load_n(&s->gcmark_bits[i / 8], __ATOMIC_RELAXED) >> (i % 8)) & 1) return true;
    return allocated_black(s, i);
}

/* ---- allocate-black ---------------------------------------------------------- */

uint32_t mark_black_gen = 1;

void mark_black_record(mspan *s, uint32_t idx, uint32_t gen)
{
    __atomic_store_n(&s->black_from, idx, __ATOMIC_RELAXED);
    __atomic_store_n(&s->black_to, idx, __ATOMIC_RELAXED);
    __atomic_store_n(&s->black_gen, gen, __ATOMIC_RELEASE);
}

void mark_black_begin(void)
{
    __atomic_store_n(&mark_black_gen, mark_black_gen + 1, __ATOMIC_RELAXED);
}

void mark_black_fold(mspan *s)
{
    uint32_t gen = __atomic_load_n(&mark_black_gen, __ATOMIC_RELAXED);
    if (__atomic_load_n(&s->black_gen, __ATOMIC_ACQUIRE) != gen) return;
    uint32_t from = s->black_from, to = __atomic_load_n(&s->black_to, __ATOMIC_RELAXED);
    if (to > s->nelems || from > to)
        tc_throw("mark: span %p black range [%u, %u) of %u slots", (void *)s->startaddr, from, to,
                 s->nelems);
    uint64_t *mark = (uint64_t *)s->gcmark_bits;
    const uint64_t *alloc = (const uint64_t *)s->alloc_bits;
    for (uint32_t w = from / 64; from < to && w <= (to - 1) / 64; w++) {
        uint32_t lo = w * 64 > from ? w * 64 : from, hi = w * 64 + 64 < to ? w * 64 + 64 : to;
        uint64_t range = tc_low_mask(hi - lo) << (lo - w * 64);
        mark[w] |= range & ~alloc[w]; /* the sweeper owns the span: no one else writes */
    }
    __atomic_store_n(&s->black_gen, 0, __ATOMIC_RELAXED);
}

/* ---- error reports --------------------------------------------------------- */

/* Where a slot lives, for error messages: a heap object, a root, or neither
 * (a thread's stack or saved registers). */
static void describe_slot(uintptr_t slot, char *buf, size_t n)
{
    if (slot == 0) {
        snprintf(buf, n, "a stack or register");
        return;
    }
    mspan *s;
    uintptr_t base = mheap_find_object(slot, &s, NULL);
    if (base != 0) {
        snprintf(buf, n, "slot %p at offset %" PRIuPTR " of object %p (span class %u, %zu bytes)",
                 (void *)slot, slot - base, (void *)base, (unsigned)s->spanclass, s->elemsize);
        return;
    }
    const struct tc_root *r = roots_find(slot);
    if (r != NULL) {
        snprintf(buf, n, "slot %p of root %p+%zu (%s)", (void *)slot, (void *)r->base, r->size,
                 r->layout ? r->layout->name : "conservative");
        return;
    }
    snprintf(buf, n, "slot %p (stack or register)", (void *)slot);
}

static const char *span_state_name(const mspan *s)
{
    return atomic_load_explicit(&s->state, memory_order_acquire) == MSPAN_INUSE ? "in use" : "free";
}

TC_NOINLINE static void bad_pointer(uintptr_t v, uintptr_t slot)
{
    char where[256];
    describe_slot(slot, where, sizeof where);
    mspan *s = mheap_span_of(v);
    if (s == NULL)
        tc_throw("invalid pointer %p found in %s: it points into a free part of the heap",
                 (void *)v, where);
    tc_throw("invalid pointer %p found in %s: span %p [%p,%p) class %u is %s and %p is not an "
             "allocated object (TC_DEBUG=invalidptr=0 ignores this)",
             (void *)v, where, (void *)s, (void *)s->startaddr, (void *)s->limit,
             (unsigned)s->spanclass, span_state_name(s), (void *)v);
}

/* ---- checkmarks ------------------------------------------------------------ */

/* One bit per heap word of each arena, allocated on first use and cleared at
 * the start of every checkmark pass. Only touched with the world stopped. */
#define CHECKMARK_BYTES (TC_ARENA_SIZE / TC_PTR_SIZE / 8)

void checkmark_begin(void)
{
    for (size_t i = 0; i < mheap_.n_arenas; i++) {
        heap_arena *ha =
            atomic_load_explicit(&mheap_.arenas[mheap_.all_arenas[i]], memory_order_acquire);
        if (ha->checkmarks == NULL) {
            ha->checkmarks = sys_alloc(CHECKMARK_BYTES, &stat_gcmeta);
            if (ha->checkmarks == NULL) tc_throw("gccheckmark: out of memory for the bitmap");
        } else {
            memset(ha->checkmarks, 0, CHECKMARK_BYTES);
        }
    }
    mark_checkmark_mode = true;
}

void checkmark_end(void) { mark_checkmark_mode = false; }

TC_NOINLINE static void checkmark_grey(uintptr_t obj, mspan *s, uintptr_t idx, uintptr_t slot,
                                       gcwork *w)
{
    heap_arena *ha = mheap_arena_of(obj);
    uintptr_t word = (obj % TC_ARENA_SIZE) / TC_PTR_SIZE;
    /* A stack word that points at a white object is no evidence of a lost
     * object: conservative stack scanning sees dead slots too, and a slot
     * that was not part of the stack when marking began may hold a stale
     * address of garbage. (An object a thread really holds on its stack is
     * reached through the heap or a root as well when a barrier was missed,
     * and reported there.) So the re-mark trusts stacks only for objects the
     * mark found. */
    if (mark_scanning_stack && !mark_is_marked(s, idx)) return;
    if (!try_set_bit(ha->checkmarks, word)) return;
    if (!mark_is_marked(s, idx)) {
        char where[256];
        describe_slot(slot, where, sizeof where);
        tc_throw("gccheckmark: object %p (span class %u, %zu bytes) is reachable from %s but "
                 "the concurrent mark left it white (missing write barrier or unregistered root?)",
                 (void *)obj, (unsigned)s->spanclass, s->elemsize, where);
    }
    if (s->kind != SPAN_NOSCAN) gcw_put(w, obj);
}

/* ---- shading ---------------------------------------------------------------- */

/* Go's findObject for the marker's loops, inlined (mheap_find_object is the
 * same lookup out of line): the slot start of the allocated object holding
 * p, with its span and index, or 0. Marking runs only after tc_init, so the
 * arena index exists. A copy on purpose: making mheap_find_object the one
 * inline version (and shade_precise always_inline into the no_sanitize
 * scanner) left stale use-after-scope poison on the coordinator's stack in
 * GCC's ASan builds (false reports in gc_spawn_thread, 3 of 8 runs of
 * torture_stoptheworld), so it was reverted. */
static inline uintptr_t find_object(uintptr_t p, mspan **span_out, uintptr_t *index_out)
{
    uintptr_t ai = arena_index(p);
    if (tc_unlikely(ai >= ARENA_INDEX_LEN)) return 0;
    heap_arena *ha = atomic_load_explicit(&mheap_.arenas[ai], memory_order_acquire);
    if (ha == NULL) return 0;
    mspan *s = atomic_load_explicit(&ha->spans[(p >> TC_PAGE_SHIFT) % TC_PAGES_PER_ARENA],
                                    memory_order_acquire);
    if (s == NULL || atomic_load_explicit(&s->state, memory_order_acquire) != MSPAN_INUSE) return 0;
    uintptr_t start = s->startaddr;
    if (p - start >= s->limit - start) return 0; /* also p < start: the difference wraps */
    uintptr_t i = mspan_obj_index(s, p);
    if (mspan_is_free(s, i)) return 0;
    *span_out = s;
    *index_out = i;
    return start + i * s->elemsize;
}

/* Shade the object at slot start obj (index idx of span s), found through
 * the pointer stored at slot (0: a stack, register or other non-heap source). */
static inline void greyobject(uintptr_t obj, mspan *s, uintptr_t idx, uintptr_t slot, gcwork *w)
{
    if (tc_unlikely(mark_checkmark_mode)) {
        checkmark_grey(obj, s, idx, slot, w);
        return;
    }
    if (!try_set_mark(s->gcmark_bits, idx)) return;
    w->bytes_marked += s->elemsize;
    if (s->kind != SPAN_NOSCAN) gcw_put(w, obj);
}

/* A word from a precise slot. */
static inline void shade_precise(uintptr_t v, uintptr_t slot, gcwork *w)
{
    mspan *s;
    uintptr_t idx;
    uintptr_t obj = find_object(v, &s, &idx);
    if (obj != 0) {
        greyobject(obj, s, idx, slot, w);
        return;
    }
    if (tc_unlikely(tc_debug.invalidptr) && mheap_span_of(v) != NULL) bad_pointer(v, slot);
}

#define SHADE_BATCH 8 /* pointers shade_batch takes at a time */

/* The span the last precise pointer of a drain led to. Pointers scanned one
 * after another often lead into the same span (children allocated next to
 * their parent): then the arena, span-table and state lookups are skipped.
 * Valid for one drain call, which runs inside one mark phase: a span found
 * in use stays in use, at the same bounds, until the sweep after the mark. */
typedef struct span_cache {
    uintptr_t start, len; /* len 0: empty */
    mspan *s;
    /* Pointers that led out of the cached span, waiting for shade_batch:
     * n of them, with the slots they were read from. */
    unsigned n;
    uintptr_t v[SHADE_BATCH], slot[SHADE_BATCH];
} span_cache;

/* shade_precise with the drain's span cache. Out of line: inlined into the
 * drain loop it cost more than the call (register pressure: 187 against 178
 * instructions per object scanned on binary-trees). */
static TC_NOINLINE void shade_precise_cached(uintptr_t v, uintptr_t slot, gcwork *w, span_cache *sc)
{
    mspan *s = sc->s;
    if (tc_unlikely(v - sc->start >= sc->len)) {
        s = mheap_span_of_heap(v);
        if (s == NULL) {
            shade_precise(v, slot, w); /* not an object: the uncached path decides */
            return;
        }
        sc->start = s->startaddr;
        sc->len = s->limit - s->startaddr;
        sc->s = s;
    }
    uintptr_t i = mspan_obj_index(s, v);
    if (tc_unlikely(mspan_is_free(s, i))) {
        shade_precise(v, slot, w);
        return;
    }
    greyobject(sc->start + i * s->elemsize, s, i, slot, w);
}

/* Shading a pointer into a span other than the cached one costs three
 * dependent cache misses once the heap outgrows the caches: the span
 * table's entry, the span, the mark-bit word (the object itself is the
 * prefetch queue's). Taken one pointer at a time they queue up; so such
 * pointers wait in the drain's batch, and shade_batch takes SHADE_BATCH of
 * them through the three loads as three passes, each prefetching what the
 * next reads, so that the misses of a pass overlap. Measured on the 2-vCPU
 * build machine: the world-stopped, one-marker mark of the pause heap
 * (512 MiB of 32-byte list nodes) 10-20% shorter; bench_pause (1 GiB, two
 * mutators) p99.9 38-58 -> 23-31 us and half the assist CPU; binary-trees,
 * whose pointers mostly stay in the cached span, +13% marking instructions
 * for no measurable change in mark time.
 *
 * Until shade_batch runs, the batched pointers are the drain's own grey
 * work, as the prefetch queue's objects are: the drain shades them before it
 * concludes that no work is left and before it returns, so the mark cannot
 * end without them. */
static TC_NOINLINE void shade_batch(gcwork *w, span_cache *sc)
{
    unsigned n = sc->n;
    mspan *sp[SHADE_BATCH];
    uintptr_t idx[SHADE_BATCH];
    sc->n = 0;
    for (unsigned k = 0; k < n; k++) {
        mspan *s = mheap_span_of(sc->v[k]);
        sp[k] = s;
        if (s != NULL) {
            __builtin_prefetch(s, 0, 3);
            __builtin_prefetch((const char *)s + 64, 0, 3);
        }
    }
    for (unsigned k = 0; k < n; k++) {
        mspan *s = sp[k];
        if (!mspan_covers(s, sc->v[k])) {
            sp[k] = NULL;
            continue;
        }
        idx[k] = mspan_obj_index(s, sc->v[k]);
        __builtin_prefetch((const uint64_t *)s->gcmark_bits + idx[k] / 64, 1, 3);
    }
    for (unsigned k = 0; k < n; k++) {
        mspan *s = sp[k];
        if (s == NULL || tc_unlikely(mspan_is_free(s, idx[k]))) {
            shade_precise(sc->v[k], sc->slot[k], w); /* not an object: it decides */
            continue;
        }
        greyobject(s->startaddr + idx[k] * s->elemsize, s, idx[k], sc->slot[k], w);
    }
    if (n != 0 && sp[n - 1] != NULL) { /* the last span found becomes the cached one */
        mspan *s = sp[n - 1];
        sc->start = s->startaddr;
        sc->len = s->limit - s->startaddr;
        sc->s = s;
    }
}

/* A word from a precise heap slot, in a drain: shaded at once if it points
 * into the cached span, else batched (its span-table entry prefetched). */
static inline void shade_precise_batched(uintptr_t v, uintptr_t slot, gcwork *w, span_cache *sc)
{
    if (v - sc->start < sc->len) {
        shade_precise_cached(v, slot, w, sc);
        return;
    }
    mspan *_Atomic *entry = mheap_span_slot(v);
    if (entry != NULL) __builtin_prefetch((const void *)entry);
    unsigned n = sc->n;
    sc->v[n] = v;
    sc->slot[n] = slot;
    sc->n = n + 1;
    if (n + 1 == SHADE_BATCH) shade_batch(w, sc);
}

/* A word from a conservative source: anything that does not point at an
 * allocated object is an integer. */
static inline void shade_conservative(uintptr_t v, uintptr_t slot, gcwork *w, bool boundary)
{
    mspan *s;
    uintptr_t idx;
    uintptr_t obj = find_object(v, &s, &idx);
    /* Barrier-recorded pointers (shade) and stacks often name objects
     * allocated during this mark: black already, though their bits are set
     * only at termination. Skip them rather than scan what they reach. */
    if (obj != 0 && !allocated_black(s, idx)) greyobject(obj, s, idx, slot, w);
    /* The boundary rule (stacks and registers, noscan objects): v == end of
     * the object before it. Not in the checkmark pass: whether it applies
     * depends on when a word is scanned, so it would report false misses. */
    if (boundary && (obj == v || obj == 0) && v != 0 && !mark_checkmark_mode) {
        uintptr_t prev = find_object(v - 1, &s, &idx);
        if (prev != 0 && prev != obj && spanclass_kind(s->spanclass) == SPAN_NOSCAN)
            greyobject(prev, s, idx, slot, w);
    }
}

void shade(uintptr_t v, gcwork *w) { shade_conservative(v, 0, w, false); }

/* ---- scanning ----------------------------------------------------------------- */

/* Plain loads of memory other threads own while they are stopped. */
#define TC_SCAN_ATTR __attribute__((no_sanitize("address", "thread"))) TC_NOINLINE

TC_SCAN_ATTR void scan_conservative(uintptr_t lo, uintptr_t hi, gcwork *w)
{
    lo = tc_align_up(lo, TC_PTR_SIZE);
    bool stack = mark_scanning_stack; /* stacks get the boundary rule */
    for (uintptr_t a = lo; a + TC_PTR_SIZE <= hi; a += TC_PTR_SIZE) {
        uintptr_t v = *(const uintptr_t *)a;
        if (v >= 4096) shade_conservative(v, a, w, stack);
    }
    w->scan_work += hi > lo ? hi - lo : 0;
}

void scan_words_conservative(const uintptr_t *words, size_t n, gcwork *w)
{
    for (size_t i = 0; i < n; i++)
        if (words[i] >= 4096) shade_conservative(words[i], 0, w, true);
}

void scanblock_typed(uintptr_t b, size_t n, const tc_type *t, gcwork *w)
{
    size_t pw = t->ptrdata / TC_PTR_SIZE;
    for (uintptr_t e = b; e + t->size <= b + n; e += t->size) {
        for (size_t i = 0; i < pw; i++) {
            if (!type_word_is_ptr(t, i)) continue;
            uintptr_t slot = e + i * TC_PTR_SIZE;
            uintptr_t v = __atomic_load_n((uintptr_t *)slot, __ATOMIC_RELAXED);
            if (v != 0) shade_precise(v, slot, w);
        }
    }
    w->scan_work += n;
}

/* A scanned word that cannot lead anywhere new: nil-ish (below the first
 * page), or into [b, b + size), the object (or, for an oblet, its span)
 * being scanned (one unsigned compare: v - b wraps for v below b). */
static inline bool scan_skip(uintptr_t v, uintptr_t b, uintptr_t size)
{
    return v < 4096 || v - b < size;
}

/* Large objects are scanned in oblets of at most MARK_OBLET_BYTES (Go's
 * maxObletBytes, which is 128 KiB): the first visit, at the object's base,
 * queues the start of every other oblet as a work item of its own, then
 * scans the first. One grey item is then at most 16 KiB of scanning (2048
 * words, 20-150 us), which bounds an assist's chunk (4 KiB of work, so at
 * most one item over), a flush stop's drain (16 KiB) and how long one
 * marker holds work the others cannot share; a 16 MiB pointer table
 * scanned whole took over 100 ms. 16 KiB rather than Go's 128 because our
 * assist and stop budgets are that small. Oblet items are never marked
 * (their object is): only scanobject sees them. */
#define OBLET_BYTES MARK_OBLET_BYTES

static TC_SCAN_ATTR void scan_oblet(uintptr_t b, mspan *s, gcwork *w)
{
    uintptr_t base = s->startaddr, end = s->limit;
    if (b == base)
        for (uintptr_t o = base + OBLET_BYTES; o < end; o += OBLET_BYTES) gcw_put(w, o);
    uintptr_t hi = end - b > OBLET_BYTES ? b + OBLET_BYTES : end;
    bool conservative = s->kind == SPAN_CONSERVATIVE;
    heapbits_iter it;
    heapbits_iter_init_range(&it, s, base, b, hi);
    for (uintptr_t slot; (slot = heapbits_next(&it)) != 0;) {
        uintptr_t v = *(volatile const uintptr_t *)slot;
        if (scan_skip(v, base, end - base)) continue;
        if (conservative)
            shade_conservative(v, slot, w, false);
        else
            shade_precise(v, slot, w);
    }
    w->scan_work += hi - b;
}

/* Heap objects are scanned while their threads run: a thread may fill a
 * fresh object with plain stores (nothing to record: the old words are
 * zero) as a marker reads it. Both sides access whole aligned words; TSan
 * is told the mix is intended.
 *
 * The common case — a precise object of at most 512 bytes, whose pointer
 * bits sit in its span's bitmap — is handled here without the iterator: one
 * or two bitmap words, then a loop over the set bits.
 *
 * The drain loops below inline it (they are excluded from the sanitizers
 * too, so the attributes match): a call per grey object cost a frame of
 * six saved registers, 15 of its ~200 instructions on binary-trees. */
static inline __attribute__((always_inline, no_sanitize("address", "thread"))) void
scanobject_inline(uintptr_t b, gcwork *w, span_cache *sc)
{
    mspan *s = b - sc->start < sc->len ? sc->s : mheap_span_of(b);
    uintptr_t elemsize = s->elemsize, end = b + elemsize;
    if (tc_unlikely(mspan_is_large(s)) && s->limit - s->startaddr > OBLET_BYTES) {
        scan_oblet(b, s, w);
        return;
    }
    if (tc_likely(s->heapbits != NULL)) { /* mspan_heapbits_inspan */
        /* One aligned word load per slot (atomic on the machines we
         * support); a volatile plain load, not __atomic, so that TSan's
         * exclusion of this function covers it. v - b < elemsize: a pointer
         * into the object itself (the subtraction wraps below b). */
        if (__atomic_load_n(&s->heapbits_ones, __ATOMIC_RELAXED)) {
            /* Every word a pointer (cons cells, tree nodes): no bits. */
            for (uintptr_t slot = b; slot < end; slot += TC_PTR_SIZE) {
                uintptr_t v = *(volatile const uintptr_t *)slot;
                if (scan_skip(v, b, elemsize)) continue;
                shade_precise_batched(v, slot, w, sc);
            }
            w->scan_work += elemsize;
            return;
        }
        const uint64_t *bm = s->heapbits;
        size_t wi = (b - s->startaddr) / TC_PTR_SIZE, nwords = s->elem_words;
        size_t i = wi / 64, shift = wi % 64;
        uint64_t bits = __atomic_load_n(&bm[i], __ATOMIC_RELAXED) >> shift;
        if (shift + nwords > 64 && shift != 0)
            bits |= __atomic_load_n(&bm[i + 1], __ATOMIC_RELAXED) << (64 - shift);
        for (bits &= s->elem_wordmask; bits != 0; bits &= bits - 1) {
            uintptr_t slot = b + (uintptr_t)__builtin_ctzll(bits) * TC_PTR_SIZE;
            uintptr_t v = *(volatile const uintptr_t *)slot;
            if (scan_skip(v, b, elemsize)) continue;
            shade_precise_batched(v, slot, w, sc);
        }
        w->scan_work += elemsize;
        return;
    }
    bool conservative = s->kind == SPAN_CONSERVATIVE;
    heapbits_iter it;
    heapbits_iter_init(&it, s, b);
    for (uintptr_t slot; (slot = heapbits_next(&it)) != 0;) {
        uintptr_t v = *(volatile const uintptr_t *)slot;
        if (scan_skip(v, b, elemsize)) continue;
        if (conservative)
            shade_conservative(v, slot, w, false);
        else
            shade_precise(v, slot, w);
    }
    w->scan_work += elemsize;
}

TC_SCAN_ATTR void scanobject(uintptr_t b, gcwork *w)
{
    span_cache sc = {.n = 0};
    scanobject_inline(b, w, &sc);
    if (sc.n != 0) shade_batch(w, &sc);
}

/* ---- draining ------------------------------------------------------------------ */

/* Grey objects pass through a small FIFO between the work buffers and
 * scanobject (Boehm's and Go 1.x's mark-stack prefetching): an object is
 * prefetched when it enters the queue and scanned PREFETCH_DEPTH objects
 * later, by which time its first line has usually arrived. The queue is
 * the drain's own: it is empty whenever mark_drain returns, and
 * mark_drain_n gives what it holds back to w before it returns. */
#define PREFETCH_DEPTH 8

typedef struct prefetch_queue {
    uintptr_t obj[PREFETCH_DEPTH];
    unsigned head, n;
} prefetch_queue;

static inline uintptr_t next_grey(gcwork *w, prefetch_queue *q)
{
    while (q->n < PREFETCH_DEPTH) {
        uintptr_t obj = gcw_tryget_fast(w);
        if (obj == 0) {
            /* Go to the global lists only when the queue ran dry. */
            if (q->n != 0) break;
            obj = gcw_tryget(w);
            if (obj == 0) return 0;
        }
        __builtin_prefetch((const void *)obj, 0, 3);
        q->obj[(q->head + q->n) % PREFETCH_DEPTH] = obj;
        q->n++;
    }
    uintptr_t obj = q->obj[q->head];
    q->head = (q->head + 1) % PREFETCH_DEPTH;
    q->n--;
    return obj;
}

TC_SCAN_ATTR uint64_t mark_drain_n(gcwork *w, uint64_t scan_budget)
{
    prefetch_queue q = {.n = 0};
    uint64_t start = w->scan_work;
    unsigned n = 0;
    span_cache sc = {.n = 0};
    while (w->scan_work - start < scan_budget) {
        uintptr_t obj = next_grey(w, &q);
        if (obj == 0) {
            if (sc.n == 0) break;
            shade_batch(w, &sc); /* the last pointers may make more work */
            continue;
        }
        scanobject_inline(obj, w, &sc);
        /* Keep idle markers fed: offer work now and then. */
        if ((++n & 63) == 0) gcw_balance(w);
    }
    if (sc.n != 0) shade_batch(w, &sc);
    for (; q.n != 0; q.n--) gcw_put(w, q.obj[(q.head + q.n - 1) % PREFETCH_DEPTH]);
    return w->scan_work - start;
}

/* No budget: it returns when no work is left (the queue then is empty). */
void mark_drain(gcwork *w) { mark_drain_n(w, UINT64_MAX); }
