/*
 * sweep.h — sweeping (sweep.c).
 */
#ifndef TC_SWEEP_H
#define TC_SWEEP_H

#include "mheap.h"

/* Lazy sweeping for a cache refill: sweep up to budget unswept spans of c
 * and return the first that has a free slot (swept, on no list), or NULL. */
mspan *sweep_for_cache(mcentral *c, int budget);

/* Make sure s is swept in this cycle: sweep it now if nobody has, wait if
 * somebody is. For lookups that run concurrently with sweepers. */
void sweep_ensure_swept(mspan *s);

/* Sweep one unswept span of any class; returns its pages, 0 when none is left. */
size_t sweep_one(void);

/* Sweep spans until npages pages were swept or none is left (before a large
 * allocation grows the heap). */
void sweep_pages(size_t npages);

/* Sweep everything left and wait for sweepers in progress. */
void sweep_finish(void);
bool sweep_done(void);

/* Around the advance of sweepgen (world stopped): keep every sweeper out. */
void sweep_close_gate(void);
void sweep_open_gate(void);

/* In a forked child: the background sweeper thread is gone; the gate,
 * closed by gc.c's fork prepare handler, opens. */
void sweep_after_fork_child(void);

/* Wake (starting it the first time) the background sweeper. */
void sweep_start_background(void);
/* The background sweeper's scheduling policy: SCHED_IDLE, SCHED_OTHER (at
 * nice 19: SCHED_IDLE was refused), -1 (neither took) or -2 (not started);
 * its thread id in *tid unless tid is NULL. */
int sweep_background_policy(int *tid);

/* Statistics. */
extern _Atomic uint64_t sweep_nfree[TC_NUM_SIZE_CLASSES];
extern _Atomic uint64_t sweep_freed_bytes;
extern _Atomic uint64_t sweep_pages_swept;

#endif
