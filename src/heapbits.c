/*
 * heapbits.c — where each heap object's pointer layout is recorded, and the
 * iterator the collector walks it with.
 *
 * Owns the layout metadata of scan spans, in Go 1.22's three forms, chosen
 * by the span (so the collector decides once per span, never per object):
 *
 *   1. Small objects of at most 512 bytes (64 words): one bit per word of the
 *      whole span, in a bitmap at the span's end (npages * 8192 / 64 bytes:
 *      128 bytes per page, 1.6% of the span; mheap's init_span leaves that
 *      room by taking it out of nelems). Allocation writes the object's
 *      bits: the type's mask, repeated for each array element, zero bits
 *      for the slot's slack. A 512-byte object's bits span at most two
 *      bitmap words. One exception: a span that is empty when a cache
 *      takes it gets all its bits set at once (heapbits_fill_if_empty), and
 *      tc_new's fast path then writes nothing for a type whose every word
 *      is a pointer (its bits are already right).
 *   2. Small objects above 512 bytes: a 16-byte header at the slot's start
 *      holding the type and the bytes of data to scan (n * type size); the
 *      caller gets slot + 16. The collector tiles the type's mask over the
 *      data. Cost: 16 bytes per object of 528 bytes or more (at most 3%).
 *   3. Large objects (own span): the type in span->large_type, stored with
 *      release after the object is zeroed; the data ends at span->limit.
 *
 * Noscan spans have no layout at all. Conservative spans (SPAN_CONSERVATIVE)
 * have none either: every aligned word of the object is a candidate pointer.
 *
 * Invariants: the bits (or header, or large_type) of an allocated slot
 * describe the object; a slot's metadata is written before the slot becomes
 * visible as allocated (freeindex_for_scan, stored with release by
 * malloc.c). Bits of free slots may be stale: nobody reads them.
 *
 * Concurrency: only the span's owner (the mcache holding it) writes its
 * bitmap; readers (the collector) may read it concurrently, so bitmap words
 * are loaded and stored as relaxed atomics (never read-modify-write: there
 * is one writer).
 */
#include "mheap.h"

#include <string.h>

void heapbits_init_span(mspan *s)
{
    /* Cleared even when the span is fresh: the first allocation's
     * read-modify-write of a bitmap word would otherwise map the kernel's
     * zero page on the read and fault again on the write. One write fault
     * here instead of two later, and stale bits never show in a checker. */
    size_t bytes = s->npages * TC_PAGE_SIZE / TC_PTR_SIZE / 8;
    memset(heapbits_span_bitmap(s), 0, bytes);
}

void heapbits_fill_if_empty(mspan *s)
{
    __atomic_store_n(&s->heapbits_ones, 0, __ATOMIC_RELAXED);
    if (s->alloc_count != 0 || !mspan_heapbits_inspan(s)) return;
    /* Empty and owned by the caller's cache: no object to read bits of. */
    size_t nbits = (size_t)s->nelems * s->elem_words;
    uint64_t *bm = s->heapbits;
    memset(bm, 0xff, nbits / 64 * sizeof *bm);
    if (nbits % 64) bm[nbits / 64] |= tc_low_mask(nbits % 64);
    __atomic_store_n(&s->heapbits_ones, 1, __ATOMIC_RELAXED);
}

uintptr_t heapbits_set_type(mspan *s, uintptr_t x, const tc_type *t, size_t n)
{
    TC_ASSERT(spanclass_kind(s->spanclass) == SPAN_SCAN);
    if (mspan_is_large(s)) {
        atomic_store_explicit(&s->large_type, t, memory_order_release);
        return x;
    }
    if (s->elemsize > HEAPBITS_INSPAN_MAX) {
        uintptr_t *h = (uintptr_t *)x;
        h[0] = (uintptr_t)t;
        h[1] = (uintptr_t)(n * t->size);
        return x + MALLOC_HEADER_SIZE;
    }
    heapbits_set_small(s, x, t, n);
    return x;
}

const tc_type *heapbits_object_type(mspan *s, uintptr_t x)
{
    if (spanclass_kind(s->spanclass) != SPAN_SCAN) return NULL;
    if (mspan_is_large(s)) return atomic_load_explicit(&s->large_type, memory_order_acquire);
    if (s->elemsize > HEAPBITS_INSPAN_MAX) return (const tc_type *)((const uintptr_t *)x)[0];
    return NULL;
}

/* ---- the iterator -------------------------------------------------------------- */

enum { IT_NONE, IT_SPANBITS, IT_CONSERVATIVE, IT_TYPED };

void heapbits_iter_init(heapbits_iter *it, mspan *s, uintptr_t x)
{
    *it = (heapbits_iter){.mode = IT_NONE};
    unsigned kind = spanclass_kind(s->spanclass);
    if (kind == SPAN_NOSCAN) return;
    uintptr_t end = mspan_is_large(s) ? s->limit : x + s->elemsize;
    if (kind == SPAN_CONSERVATIVE) {
        /* Every word: feed the bit loop 64 words at a time. */
        it->mode = IT_CONSERVATIVE;
        it->addr = x;
        it->end = end;
        size_t nw = (end - x) / TC_PTR_SIZE;
        it->bits = tc_low_mask(nw);
        return;
    }
    if (mspan_heapbits_inspan(s)) {
        uint64_t *bm = heapbits_span_bitmap(s);
        size_t w = (x - s->startaddr) / TC_PTR_SIZE, nwords = s->elemsize / TC_PTR_SIZE;
        size_t i = w / 64, shift = w % 64;
        uint64_t bits = __atomic_load_n(&bm[i], __ATOMIC_RELAXED) >> shift;
        if (shift + nwords > 64 && shift != 0)
            bits |= __atomic_load_n(&bm[i + 1], __ATOMIC_RELAXED) << (64 - shift);
        bits &= tc_low_mask(nwords);
        it->mode = IT_SPANBITS;
        it->addr = x;
        it->end = x + s->elemsize;
        it->bits = bits;
        return;
    }
    const tc_type *t;
    uintptr_t data;
    if (mspan_is_large(s)) {
        t = atomic_load_explicit(&s->large_type, memory_order_acquire);
        data = x;
        end = s->limit;
    } else {
        const uintptr_t *h = (const uintptr_t *)x;
        t = (const tc_type *)h[0];
        data = x + MALLOC_HEADER_SIZE;
        end = data + h[1];
    }
    if (t == NULL || t->ptrdata == 0) return;
    it->mode = IT_TYPED;
    it->type = t;
    it->elem_base = data;
    it->end = end;
    it->chunk = 0;
    size_t pw = t->ptrdata / TC_PTR_SIZE;
    it->bits = t->mask[0] & tc_low_mask(pw);
}

void heapbits_iter_init_range(heapbits_iter *it, mspan *s, uintptr_t x, uintptr_t lo, uintptr_t hi)
{
    heapbits_iter_init(it, s, x);
    lo = tc_align_up(lo, TC_PTR_SIZE);
    switch (it->mode) {
    case IT_CONSERVATIVE: {
        if (hi < it->end) it->end = hi;
        it->addr = lo;
        if (lo >= it->end) {
            it->mode = IT_NONE;
            return;
        }
        size_t nw = (it->end - lo) / TC_PTR_SIZE;
        it->bits = tc_low_mask(nw);
        return;
    }
    case IT_TYPED: {
        if (hi < it->end) it->end = hi;
        if (lo <= it->elem_base) return;
        if (lo >= it->end) {
            it->mode = IT_NONE;
            return;
        }
        /* The element holding lo, then lo's word within it. */
        const tc_type *t = it->type;
        size_t pw = t->ptrdata / TC_PTR_SIZE;
        uintptr_t off = lo - it->elem_base;
        it->elem_base += off / t->size * t->size;
        size_t word = (lo - it->elem_base) / TC_PTR_SIZE;
        if (word >= pw) { /* in the element's scalar tail: start at the next one */
            it->elem_base += t->size;
            word = 0;
        }
        it->chunk = word / 64;
        uint64_t m = t->mask[it->chunk];
        size_t left = pw - it->chunk * 64;
        m &= tc_low_mask(left);
        it->bits = m & (~(uint64_t)0 << (word % 64));
        return;
    }
    default:
        /* In-span bitmaps are small objects, never split. */
        TC_ASSERT(it->mode == IT_NONE);
        return;
    }
}

uintptr_t heapbits_next(heapbits_iter *it)
{
    switch (it->mode) {
    case IT_SPANBITS:
        if (it->bits != 0) {
            unsigned b = (unsigned)__builtin_ctzll(it->bits);
            it->bits &= it->bits - 1;
            return it->addr + b * TC_PTR_SIZE;
        }
        return 0;
    case IT_CONSERVATIVE:
        for (;;) {
            if (it->bits != 0) {
                unsigned b = (unsigned)__builtin_ctzll(it->bits);
                it->bits &= it->bits - 1;
                return it->addr + b * TC_PTR_SIZE;
            }
            /* the next 64 words */
            it->addr += 64 * TC_PTR_SIZE;
            if (it->addr >= it->end) return 0;
            size_t nw = (it->end - it->addr) / TC_PTR_SIZE;
            it->bits = tc_low_mask(nw);
        }
    case IT_TYPED: {
        const tc_type *t = it->type;
        for (;;) {
            if (it->bits != 0) {
                unsigned b = (unsigned)__builtin_ctzll(it->bits);
                it->bits &= it->bits - 1;
                uintptr_t a = it->elem_base + (it->chunk * 64 + b) * TC_PTR_SIZE;
                if (a >= it->end) return 0;
                return a;
            }
            size_t pw = t->ptrdata / TC_PTR_SIZE;
            it->chunk++;
            if (it->chunk * 64 >= pw) {
                it->chunk = 0;
                it->elem_base += t->size;
                if (it->elem_base >= it->end) return 0;
            }
            uint64_t m = t->mask[it->chunk];
            size_t left = pw - it->chunk * 64;
            it->bits = m & tc_low_mask(left);
        }
    }
    default:
        return 0;
    }
}
