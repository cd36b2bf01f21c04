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
/* Scan the object whose slot starts at b: shade everything it points to. A
 * large object is scanned one MARK_OBLET_BYTES oblet per work item: b may
 * also be the start of an oblet that scanning its base queued. */
#define MARK_OBLET_BYTES ((uintptr_t)16 << 10)
void scanobject(uintptr_t b, gcwork *w);

/* Scan grey objects until this marker finds no work, locally or globally. */
void mark_drain(gcwork *w);

/* Scan grey objects until about scan_budget bytes were scanned or no work is
 * left; returns the bytes scanned (mark assists, paced workers). */
uint64_t mark_drain_n(gcwork *w, uint64_t scan_budget);

/* Allocate black, lazily. While marking runs, every allocation would pay a
 * locked read-modify-write on its mark bit; instead the span remembers the
 * range of slots allocated during this mark ([black_from, black_to): the
 * allocator only moves forward until the next sweep, so every slot in it
 * that was free at the last sweep is new), and the sweeper folds the range
 * into the mark bits (mark_black_fold) before it reads them. Until then
 * mark_is_marked, and the conservative and barrier shading (stacks,
 * registers, recorded old values), count the range as black; only a
 * precise field of an old object written since the snapshot can lead a
 * marker to a new object it then scans: wasted work, never a wrong answer.
 * Nothing of it happens inside a stop: setting the bits at stop #2 cost
 * about 0.1 us per span allocated into during the mark (6-10 ms after a
 * 7-second mark of a 1 GiB heap). The generation changes only at stop #1,
 * after every span was swept (and so folded). */
extern uint32_t mark_black_gen; /* the current generation; changed with the world stopped */
/* The first black allocation in s in this generation: record it. */
void mark_black_record(mspan *s, uint32_t idx, uint32_t gen);
/* Start a generation (stop #1, every span swept). */
void mark_black_begin(void);
/* Set the mark bits of s's black range of this generation, if any, and
 * forget the range. By the sweeper, which owns s, before it reads the bits;
 * marking is over. */
void mark_black_fold(mspan *s);

/* Whether s's black range is open in this generation, and extending it to
 * slot idx, just allocated by the thread owning c: the allocation fast
 * path's half of allocate-black, which makes no call (a span whose range
 * is not open goes to the general path, which records it). */
static inline bool mark_black_open(const mspan *s)
{
    return __atomic_load_n(&s->black_gen, __ATOMIC_RELAXED) ==
           __atomic_load_n(&mark_black_gen, __ATOMIC_RELAXED);
}
static inline void mark_black_extend(mspan *s, uintptr_t idx, mcache *c)
{
    __atomic_store_n(&s->black_to, (uint32_t)idx + 1, __ATOMIC_RELAXED);
    c->black_bytes += s->elemsize;
}

/* Allocate black: slot idx of s, just allocated by the thread owning c
 * while marking runs (new objects hold no pointers yet: no scan). Inline:
 * during a long mark every allocation pays it. */
static inline void mark_new_slot(mspan *s, uintptr_t idx, mcache *c)
{
    if (tc_unlikely(!mark_black_open(s)))
        mark_black_record(s, (uint32_t)idx, __atomic_load_n(&mark_black_gen, __ATOMIC_RELAXED));
    mark_black_extend(s, idx, c);
}

/* Checkmark pass bracketing (world stopped). */
void checkmark_begin(void);
void checkmark_end(void);

#endif
