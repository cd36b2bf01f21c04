/*
 * barrier.h — the write barrier's per-thread state (barrier.c).
 */
#ifndef TC_BARRIER_H
#define TC_BARRIER_H

#include "gcwork.h"
#include "runtime.h"
#include "threads.h"

#define WBUF_ENTRIES 256

/* A mutator's collector state (tc_thread.gcw): its write-barrier buffer,
 * the gcwork its flushes and assists shade into, and its assist balance. */
typedef struct mutator_gc {
    gcwork w;
    size_t nwb;
    uintptr_t wb[WBUF_ENTRIES];
    int64_t assist_credit; /* scan bytes owed (<0) or banked (>0) this cycle */
    uint64_t assist_cycle; /* the cycle the credit belongs to */
    uint64_t assist_ns;    /* CPU time spent assisting, this cycle */
} mutator_gc;

/* t's state, created on first use. */
mutator_gc *mutator_gc_of(tc_thread *t);
/* Shade m's buffered pointers and hand its grey objects to the global lists. */
void wbuf_flush(mutator_gc *m);
/* tc_root_unregister while marking: shade the root's contents (into the
 * calling thread's state, then the global lists). Under roots_lock. */
void barrier_shade_root(const struct tc_root *r);
/* At detach: flush and free the thread's state. */
void mutator_gc_exit(tc_thread *t);

#endif
