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
 *   - marking runs only while gc_phase != GC_OFF.
 *
 * Concurrency: mark bits are set with an atomic OR on their byte (several
 * markers may shade the same object; exactly one wins and queues it).
 * Markers read other threads' stacks and the heap while those threads are
 * stopped; the functions that do are excluded from AddressSanitizer (a stack
 * scan reads redzones by design) and ThreadSanitizer (the reads are ordered
 * by the stop, which TSan cannot see through a signal handler).
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

bool mark_is_marked(const mspan *s, uintptr_t i)
{
    return (__atomic_load_n(&s->gcmark_bits[i / 8], __ATOMIC_RELAXED) >> (i % 8)) & 1;
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
    if (spanclass_kind(s->spanclass) != SPAN_NOSCAN) gcw_put(w, obj);
}

/* ---- shading ---------------------------------------------------------------- */

/* Shade the object at slot start obj (index idx of span s), found through
 * the pointer stored at slot (0: a stack, register or other non-heap source). */
static inline void greyobject(uintptr_t obj, mspan *s, uintptr_t idx, uintptr_t slot, gcwork *w)
{
    if (tc_unlikely(mark_checkmark_mode)) {
        checkmark_grey(obj, s, idx, slot, w);
        return;
    }
    if (!try_set_bit(s->gcmark_bits, idx)) return;
    w->bytes_marked += s->elemsize;
    if (spanclass_kind(s->spanclass) != SPAN_NOSCAN) {
        /* It will be scanned soon (the buffers are LIFO): start the miss now. */
        __builtin_prefetch((const void *)obj, 0, 3);
        gcw_put(w, obj);
    }
}

/* A word from a precise slot. */
static inline void shade_precise(uintptr_t v, uintptr_t slot, gcwork *w)
{
    mspan *s;
    uintptr_t idx;
    uintptr_t obj = mheap_find_object(v, &s, &idx);
    if (obj != 0) {
        greyobject(obj, s, idx, slot, w);
        return;
    }
    if (tc_unlikely(tc_debug.invalidptr) && mheap_span_of(v) != NULL) bad_pointer(v, slot);
}

/* A word from a conservative source: anything that does not point at an
 * allocated object is an integer. */
static inline void shade_conservative(uintptr_t v, uintptr_t slot, gcwork *w, bool boundary)
{
    mspan *s;
    uintptr_t idx;
    uintptr_t obj = mheap_find_object(v, &s, &idx);
    if (obj != 0) greyobject(obj, s, idx, slot, w);
    /* The boundary rule (stacks and registers, noscan objects): v == end of
     * the object before it. Not in the checkmark pass: whether it applies
     * depends on when a word is scanned, so it would report false misses. */
    if (boundary && (obj == v || obj == 0) && v != 0 && !mark_checkmark_mode) {
        uintptr_t prev = mheap_find_object(v - 1, &s, &idx);
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

/* Heap objects are scanned while their threads run: a thread may fill a
 * fresh object with plain stores (nothing to record: the old words are
 * zero) as a marker reads it. Both sides access whole aligned words; TSan
 * is told the mix is intended. */
TC_SCAN_ATTR void scanobject(uintptr_t b, gcwork *w)
{
    mspan *s = mheap_span_of(b);
    bool conservative = spanclass_kind(s->spanclass) == SPAN_CONSERVATIVE;
    uintptr_t end = b + s->elemsize;
    heapbits_iter it;
    heapbits_iter_init(&it, s, b);
    for (uintptr_t slot; (slot = heapbits_next(&it)) != 0;) {
        /* One aligned word load (atomic on the machines we support); a
         * volatile plain load, not __atomic, so that TSan's exclusion of
         * this function covers it. */
        uintptr_t v = *(volatile const uintptr_t *)slot;
        if (v < 4096 || (v >= b && v < end)) continue; /* nil-ish, or into itself */
        if (conservative)
            shade_conservative(v, slot, w, false);
        else
            shade_precise(v, slot, w);
    }
    w->scan_work += s->elemsize;
}

/* ---- draining ------------------------------------------------------------------ */

void mark_drain(gcwork *w)
{
    unsigned n = 0;
    for (;;) {
        uintptr_t obj = gcw_tryget_fast(w);
        if (obj == 0) obj = gcw_tryget(w);
        if (obj == 0) return;
        scanobject(obj, w);
        /* Keep idle markers fed: offer work now and then. */
        if ((++n & 63) == 0) gcw_balance(w);
    }
}

uint64_t mark_drain_n(gcwork *w, uint64_t scan_budget)
{
    uint64_t start = w->scan_work;
    unsigned n = 0;
    while (w->scan_work - start < scan_budget) {
        uintptr_t obj = gcw_tryget_fast(w);
        if (obj == 0) obj = gcw_tryget(w);
        if (obj == 0) break;
        scanobject(obj, w);
        if ((++n & 63) == 0) gcw_balance(w);
    }
    return w->scan_work - start;
}
