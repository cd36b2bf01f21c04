/*
 * gc.h — the collection cycle (gc.c).
 */
#ifndef TC_GC_H
#define TC_GC_H

#include "runtime.h"

enum { GC_OFF = 0, GC_MARK = 1, GC_MARKTERM = 2 };
/* The phase; written only with the world stopped. */
extern _Atomic int gc_phase;

typedef enum gc_reason {
    GC_TRIGGER_HEAP,   /* heap_live reached the trigger */
    GC_TRIGGER_FORCED, /* tc_gc */
    GC_TRIGGER_STRESS, /* TC_DEBUG=gcstress */
} gc_reason;

/* Bytes of the heap in use as the pacer sees it: marked by the last cycle
 * plus everything allocated since, counting a cached span's free slots as
 * allocated (Go's heapLive). Relaxed atomic. */
extern _Atomic uint64_t gc_heap_live;

/* Run a collection (the caller must not be in a critical section). With
 * GC_TRIGGER_HEAP, returns at once if another thread's cycle already
 * brought heap_live under the trigger. */
void gc_collect(gc_reason why);

/* Marked bytes of threads that detached during a cycle (barrier.c and
 * mcache.c add them; mark termination takes them). Relaxed atomic. */
extern _Atomic uint64_t gc_exited_marked;

/* A mark assist: the calling thread allocated bytes while marking runs and
 * pays for them with scan work (outside any critical section). */
void gc_assist(uint64_t bytes);

/* Wake concurrent mark workers blocked for lack of work (cheap when none
 * is): called after handing grey objects to the global lists. */
void gc_markers_wake(void);

/* The allocation slow path's check: collect if heap_live passed the trigger. */
void gc_maybe_trigger(void);

/* TC_DEBUG=gcstress=N: called on every allocation while it is set. */
void gc_stress_tick(void);

/* Start an internal thread (mark worker, sweeper, prefault thread):
 * detached, never attached, never stopped, with every signal blocked (the
 * stop signal above all), named NAME (at most 15 characters: "tc-sweep").
 * Returns pthread_create's result. */
int gc_spawn_thread(void *(*fn)(void *), void *arg, const char *name);

/* The collector's part of tc_read_stats. */
void gc_read_stats(tc_stats *out);

/* Called by tc_init: the collector's clock starts. */
void gc_init(void);
/* Called by tc_init after every other subsystem's init: fork waits for the
 * cycle in progress and copies a heap between cycles (gc.c, "fork"). */
void gc_install_fork_handlers(void);

/* Tests only: called on the collector's thread right after stop #1, before
 * any concurrent marking (lets a test mutate the heap at a known point). */
extern void (*volatile gc_test_after_snapshot)(void);

/* The slow paths that make one mutator operation slow, timed for
 * gctrace=2's "slow paths" line (tail-latency diagnosis): how many ran
 * since the last cycle's line, the longest, and how many took 50 us or more.
 * Timed only while gc_slow_timed() (two clock reads per slow path). */
typedef enum gc_slow_kind {
    GC_SLOW_ASSIST, /* a mark assist that scanned */
    GC_SLOW_YIELD,  /* a mark assist that found no work and yielded the CPU */
    GC_SLOW_REFILL, /* a cache refill: lazy sweeping, the page heap, zeroing */
    GC_SLOW_LARGE,  /* a large allocation: sweeping, the page heap, zeroing */
    GC_SLOW_WBUF,   /* a full write-barrier buffer handed to the markers */
    GC_SLOW_KINDS
} gc_slow_kind;
/* Set once, by tc_init (gctrace >= 2), before any thread allocates; only
 * read after that, so a plain bool. */
extern bool gc_slow_timing;
static inline bool gc_slow_timed(void) { return gc_slow_timing; }
void gc_slow_note(gc_slow_kind k, uint64_t t0_ns);

/* Completed cycles. */
uint64_t gc_cycles(void);

#endif
