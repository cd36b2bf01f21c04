/*
 * types.h — what the runtime knows about a tc_type (owned by types.c).
 *
 * A type names an object's size and which of its words hold pointers. The
 * pointer mask has one bit per pointer-sized word, least significant bit
 * first: bit i of mask[i / 64] is word i. Only the first ptrdata bytes can
 * hold pointers; words past ptrdata are scalars. A type with ptrdata == 0
 * holds no pointers ("noscan") and is never scanned.
 *
 * Types are immutable after tc_type_new returns and are never freed (they
 * live in persistent memory), so any thread may read them without locks.
 */
#ifndef TC_TYPES_H
#define TC_TYPES_H

#include "runtime.h"
#include "spanclass.h"

struct tc_type {
    const char *name;     /* for error messages; copied into persistent memory */
    size_t size;          /* object size in bytes, > 0 */
    size_t ptrdata;       /* bytes from the start up to and including the last pointer word */
    size_t nptrs;         /* number of pointer words */
    unsigned flags;       /* TC_NOTINHEAP, ... (tricolor.h) */
    const uint64_t *mask; /* ptrdata / TC_PTR_SIZE bits */
    /* For tc_new's fast path, set once by tc_type_new: a type with pointers,
     * not TC_NOTINHEAP, whose one object keeps its pointer bits in the span
     * (at most TYPE_FAST_MAX bytes) has here the span class of one object
     * (its size class, SPAN_SCAN) and those bits (mask[0] cut to ptrdata);
     * every other type has fast_spanclass 0 (a class no small object uses)
     * and goes the general way. */
    spanclass fast_spanclass;
    uint64_t fast_bits;
};

/* The request an object that may hold pointers (typed or conservative) is
 * rounded to before its size-class lookup: 8 bytes for 1..8 (one word),
 * else a multiple of 16, so that objects of two words and more stay 16-byte
 * aligned. malloc.c and the type's fast-path class use the same rule. */
static inline size_t pointer_object_request(size_t size)
{
    return size <= 8 ? 8 : (size + 15) & ~(size_t)15;
}

/* The largest object that records its layout as in-span heap bits: 64 words
 * (mheap.h's HEAPBITS_INSPAN_MAX is defined as this). */
#define TYPE_FAST_MAX (64 * TC_PTR_SIZE)

/* Whether word i (i < ptrdata / TC_PTR_SIZE) of an object of type t is a pointer. */
static inline bool type_word_is_ptr(const tc_type *t, size_t i)
{
    return (t->mask[i / 64] >> (i % 64)) & 1;
}

#endif
