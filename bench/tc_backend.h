/*
 * tc_backend.h — the pieces every tricolor backend of the benchmarks shares:
 * start-up, collection off, the GC count, thread attach/detach.
 *
 * A tricolor column is a bh_backend like any peer's, but its alloc cannot be
 * shared: tricolor allocates typed objects (tc_new of a tc_type describing
 * the pointer words), so each benchmark defines its own alloc that maps the
 * sizes it asks for onto the types of its data structures, and uses these
 * helpers for the rest.
 *
 * Roots: a benchmark's data must be reachable from the stack, registers or a
 * registered root; pointers held only in malloc'd memory keep nothing alive.
 * The benchmarks keep every structure in locals (and heap objects reachable
 * from them), so none registers a root.
 */
#ifndef TRICOLOR_BENCH_TC_BACKEND_H
#define TRICOLOR_BENCH_TC_BACKEND_H

#include "tricolor.h"

#include <stdbool.h>
#include <stddef.h>

/* tc_init(NULL): GOGC from TC_GOGC (default 100), TC_DEBUG from the
 * environment; the calling (main) thread is attached. */
static inline bool bh_tc_init(char *why, size_t whylen)
{
    (void)why, (void)whylen;
    tc_init(NULL);
    return true;
}

/* Collection off, as Boehm's GC_disable: allocation only. */
static inline void bh_tc_gc_disable(void) { tc_set_gc_percent(-1); }

static inline long bh_tc_gc_count(void)
{
    static tc_stats st; /* large (pause rings); read once, at the end */
    tc_read_stats(&st);
    return (long)st.num_gc;
}

/* Extra threads hold heap pointers, so they are attached. */
static inline void bh_tc_thread_init(void) { tc_thread_attach(); }
static inline void bh_tc_thread_fini(void) { tc_thread_detach(); }

#endif
