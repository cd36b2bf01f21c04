/*
 * mark.h — shading and scanning (mark.c).
 */
#ifndef TC_MARK_H
#define TC_MARK_H

#include "gcwork.h"
#include "mheap.h"
#include "runtime.h"

/* Set while gc.c runs a checkmark pass (world stopped). */
extern bool mark_checkmark_mode;
/* Set while a stack or its registers are scanned: the words get the
 * boundary rule, and the checkmark pass trusts them only for marked objects. */
extern __thread bool mark_scanning_stack;

/* Whether slot i of s is marked in the current cycle. */
bool mark_is_marked(const mspan *s, uintptr_t i);

/* Shade whatever object v points into (conservatively: non-pointers ignored). */
void shade(uintptr_t v, gcwork *w);

/* Scan [lo, hi) conservatively (stacks, conservative roots). */
void scan_conservative(uintptr_t lo, uintptr_t hi, gcwork *w);
/* Scan an array of saved register values conservatively. */
void scan_words_conservative(const uintptr_t *words, size_t n, gcwork *w);
/* Scan n bytes at b as an array of t, precisely (typed roots). */
void scanblock_typed(uintptr_t b, size_t n, const tc_type *t, gcwork *w);
/* Scan the object whose slot starts at b: shade everything it points to. */
void scanobject(uintptr_t b, gcwork *w);

/* Scan grey objects until this marker finds no work, locally or globally. */
void mark_drain(gcwork *w);

/* Scan grey objects until about scan_budget bytes were scanned or no work is
 * left; returns the bytes scanned (mark assists, paced workers). */
uint64_t mark_drain_n(gcwork *w, uint64_t scan_budget);

/* Allocate black: mark slot idx of s, just allocated by the thread owning
 * c while marking runs (new objects hold no pointers yet: no scan). Inline:
 * during a long mark every allocation pays it. */
static inline void mark_new_slot(mspan *s, uintptr_t idx, mcache *c)
{
    __atomic_fetch_or(&s->gcmark_bits[idx / 8], (uint8_t)(1u << (idx % 8)), __ATOMIC_RELAXED);
    c->black_bytes += s->elemsize;
}

/* Checkmark pass bracketing (world stopped). */
void checkmark_begin(void);
void checkmark_end(void);

#endif
