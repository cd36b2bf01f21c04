/*
 * threads.c — mutator threads as the runtime sees them.
 *
 * Owns: the runtime critical-section state of each thread. A thread inside a
 * critical section (holding a runtime lock, half-way through a cache refill)
 * must not be parked by a stop: it would hold the lock the stopper needs. The
 * stop machinery marks such a thread's stop as deferred; the thread parks
 * itself in critical_leave_slow when its outermost section ends.
 *
 * Invariants: tc_critical_depth >= 0; it is written only by its own thread.
 * tc_stop_deferred is written by the thread's own signal handler (which runs
 * on that thread) and by the thread itself, hence volatile, not atomic.
 */
#include "runtime.h"

__thread volatile int tc_critical_depth;
__thread volatile int tc_stop_deferred;

void critical_leave_slow(void)
{
    /* No stop machinery exists yet to defer to, so a deferred stop can only
     * be a corrupted flag. */
    tc_throw("critical_leave: deferred stop with no stop in progress (flag %d)",
             (int)tc_stop_deferred);
}
