/*
 * barrier.h — the write barrier's per-thread state (barrier.c).
 */
#ifndef TC_BARRIER_H
#define TC_BARRIER_H

#include "gcwork.h"
#include "runtime.h"
#include "threads.h"

#define WBUF_ENTRIES 256

/* A block of recorded pointers: a thread's current buffer, or a full one
 * queued for the mark workers. */
typedef struct wbblock {
    struct wbblock *next;
    size_t n;
    uintptr_t p[WBUF_ENTRIES];
} wbblock;

/* A mutator's collector state (tc_thread.gcw): its write-barrier buffer,
 * the gcwork its flushes and assists shade into, and its assist balance. */
typedef struct mutator_gc {
    gcwork w;
    wbblock *wb;           /* the current buffer (NULL until the first record) */
    int64_t assist_credit; /* scan bytes owed (<0) or banked (>0) this cycle */
    uint64_t assist_cycle; /* the cycle the credit belongs to */
    uint64_t assist_ns;    /* CPU time spent assisting, this cycle */
} mutator_gc;

/* t's state, created on first use. */
mutator_gc *mutator_gc_of(tc_thread *t);
/* Shade m's buffered pointers and hand its grey objects to the global lists
 * (the world stopped, or m's thread at detach). */
void wbuf_flush(mutator_gc *m);
/* Forget m's buffered pointers (stop #1: records made before the snapshot
 * are not needed). */
void wbuf_drop(mutator_gc *m);

/* Full buffers queued by mutators for the markers (the mutator that fills a
 * buffer only queues it: shading is the markers' work). */
bool wbq_nonempty(void);
/* Shade one queued buffer into w; false when none is queued. */
bool wbq_shade_one(gcwork *w);
/* Forget every queued buffer (stop #1). */
void wbq_drop_all(void);
/* In a forked child (gc.c's fork handler): the queue's lock is free. */
void wbq_after_fork_child(void);
/* tc_root_unregister while marking: shade the root's contents (into the
 * calling thread's state, then the global lists). Under roots_lock. */
void barrier_shade_root(const struct tc_root *r);
/* At detach: flush and free the thread's state. */
void mutator_gc_exit(tc_thread *t);

#endif
